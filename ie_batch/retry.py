"""`ie-batch retry-errors`: reprocess the rows whose extraction failed, in place.

Only rows with extraction errors are retried (an unreadable input line would fail again). Each
retried row replaces its old version in the same part file (rewritten whole, under the same
deterministic name), so a shard keeps exactly one row per input row whatever happens; then the
shard's error sidecar, metrics and commit marker are rewritten from its parts.
"""

from __future__ import annotations

import posixpath
import time
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from ie_batch.config import StorageConfig
from ie_batch.io.manifest import Manifest
from ie_batch.io.reading import ROW_COLUMN, SHARD_COLUMN
from ie_batch.io.storage import open_filesystem
from ie_batch.io.writing import (
    data_dir,
    errors_dir,
    read_json,
    write_error_part,
    write_json,
    write_jsonl,
)
from ie_batch.pipeline import add_extraction, read_job_config
from ie_batch.report import Tally
from ie_batch.results import DocumentResult
from ie_batch.stage import (
    EVALUATION_COLUMN,
    SECONDS_COLUMN,
    EngineFactory,
    Scorer,
    asked_schemas,
    build_vllm_engine,
    input_row,
    load_job_schemas,
    schema_routes,
)


@dataclass
class RetryReport:
    retried: int = 0
    fixed: int = 0
    shards: list[str] = field(default_factory=list)


def retryable(errors: list[str] | None) -> bool:
    """A row worth asking again: it has an error that another attempt may not repeat (an
    unreadable input line would)."""
    return bool(errors) and not any(reason.startswith("read: ") for reason in errors)


def retry_errors(
    output: str,
    engine_factory: EngineFactory = build_vllm_engine,
    storage: StorageConfig | None = None,
) -> RetryReport:
    fs, root = open_filesystem(output, storage)
    config = read_job_config(fs, root)
    manifest = Manifest(fs, root)
    report = RetryReport()
    parts: dict[str, tuple[str, pa.Table]] = {}  # part path -> (shard, table)
    for entry in manifest.entries():
        if not entry.get("error_rows"):
            continue
        for path in sorted(fs.glob(posixpath.join(data_dir(root, entry["name"]), "*.parquet"))):
            with fs.open(path, "rb") as handle:
                table = pq.read_table(handle)
            if any(retryable(errors) for errors in table.column("errors").to_pylist()):
                parts[path] = (entry["name"], table)
    rows = [
        input_row(row, config.input.id_column)
        for _, table in parts.values()
        for row in table.to_pylist()
        if retryable(row["errors"])
    ]
    if not rows:
        return report
    started = time.perf_counter()
    fresh = _extract(rows, config, engine_factory)
    seconds = time.perf_counter() - started
    report.retried = len(rows)
    report.fixed = sum(1 for row in fresh.values() if not row["errors"])
    for path, (shard, table) in parts.items():
        merged = [fresh.get((shard, row[ROW_COLUMN]), row) for row in table.to_pylist()]
        rewritten = pa.Table.from_pylist(
            [{name: row.get(name) for name in table.column_names} for row in merged],
            schema=table.schema,
        )
        _replace(fs, path, rewritten)
    schemas = load_job_schemas(config)
    for shard in sorted({shard for shard, _ in parts.values()}):
        asked = asked_schemas(schema_routes(config, schemas), shard)
        scorer = Scorer(schemas, config.input.id_column)
        _recommit(fs, root, manifest, shard, scorer, asked, seconds)
        report.shards.append(shard)
    return report


def _extract(
    rows: list[dict[str, Any]], config: Any, engine_factory: EngineFactory
) -> dict[tuple[str, int], dict[str, Any]]:
    import ray

    if not ray.is_initialized():
        ray.init(address=config.ray_address)
    dataset = add_extraction(
        ray.data.from_arrow(pa.Table.from_pylist(rows)), config, engine_factory
    )
    fresh: dict[tuple[str, int], dict[str, Any]] = {}
    for batch in dataset.iter_batches(batch_format="pyarrow", batch_size=None):
        for row in batch.drop_columns([EVALUATION_COLUMN, SECONDS_COLUMN]).to_pylist():
            fresh[row[SHARD_COLUMN], row[ROW_COLUMN]] = row
    return fresh


def _replace(fs: Any, path: str, table: pa.Table) -> None:
    """Write next to the part, then move over it: a reader sees the old part or the new one."""
    temporary = f"{path}.retry-tmp"
    with fs.open(temporary, "wb") as handle:
        pq.write_table(table, handle)
    fs.mv(temporary, path)


def _recommit(
    fs: Any,
    root: str,
    manifest: Manifest,
    shard: str,
    scorer: Scorer,
    asked: frozenset[str],
    seconds: float,
) -> None:
    """Errors sidecar, metrics and marker of a shard, recomputed from its parts."""
    entry = manifest.entry(shard) or {}
    tally = Tally()
    if fs.exists(errors_dir(root, shard)):
        fs.rm(errors_dir(root, shard), recursive=True)
    for path in sorted(fs.glob(posixpath.join(data_dir(root, shard), "*.parquet"))):
        with fs.open(path, "rb") as handle:
            table = pq.read_table(handle)
        write_error_part(fs, errors_dir(root, shard), table)
        for row in table.to_pylist():
            tally.rows += 1
            tally.error_rows += bool(row["errors"])
            tally.prompt_tokens += row["prompt_tokens"] or 0
            tally.completion_tokens += row["completion_tokens"] or 0
            gold_row = input_row(row, scorer.id_column)
            result = DocumentResult.from_row(row)
            evaluation, _ = scorer.score(gold_row, row.get("text"), result, asked)
            if evaluation is not None:
                tally.evaluation += evaluation
    metrics_path = posixpath.join(root, "metrics", f"{shard}.json")
    previous = read_json(fs, metrics_path) or {}
    tally.seconds = seconds + float(previous.get("seconds") or 0.0)
    metrics = {"shard": shard, "path": entry.get("path"), **tally.to_dict()}
    write_json(fs, metrics_path, metrics)
    if tally.evaluation.bad_cases:
        write_jsonl(
            fs, posixpath.join(root, "badcases", f"{shard}.jsonl"), tally.evaluation.bad_cases
        )
    staging = posixpath.join(root, "_staging", shard)
    if fs.exists(staging):
        fs.rm(staging, recursive=True)
    entry.update({"result_rows": tally.rows, "error_rows": tally.error_rows})
    write_json(fs, manifest.marker_path(shard), entry)
