"""`ie-batch retry-errors`: reprocess the rows whose extraction failed, in place.

Which rows are retried is read from the error sidecars' `stage` field: a row with an error of
the read stage (an unreadable input line, no text) would fail again and is left alone. Each part
that holds a retried row is staged again whole, under its own name, with every sidecar of the
shard; then the shard is committed as a run commits it (`job.commit`), its figures recomputed
from its parts. A shard keeps exactly one row per input row whatever happens.
"""

from __future__ import annotations

import posixpath
import time
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from ie_batch.config import JobConfig, StorageConfig
from ie_batch.engines.factory import EngineFactory, build_engine
from ie_batch.io.job_record import read_job_config
from ie_batch.io.layout import OutputLayout
from ie_batch.io.lease import OutputLease
from ie_batch.io.manifest import Manifest, shard_of
from ie_batch.io.storage import redact
from ie_batch.io.writing import read_jsonl, read_parquet
from ie_batch.job.columns import ERRORS_COLUMN, ROW_COLUMN, SHARD_COLUMN, input_row
from ie_batch.job.commit import commit_shard
from ie_batch.job.errors import Stage
from ie_batch.job.plan import add_extraction
from ie_batch.job.scoring import Scorer
from ie_batch.job.tally import Tally
from ie_batch.job.write_stage import row_sidecar_lines, score_rows, scored_tally


@dataclass
class RetryReport:
    retried: int = 0
    fixed: int = 0
    shards: list[str] = field(default_factory=list)


def retryable(stages: Collection[str]) -> bool:
    """A row worth asking again: an extraction error, and none from reading its input (that
    would fail again), and not only a bad gold column (asking the model again cannot mend it:
    such a row would be retried forever)."""
    return Stage.EXTRACT in stages and Stage.READ not in stages


@dataclass
class _ShardRetry:
    """One shard's parts, its sidecar lines by row, and the rows to retry."""

    entry: dict[str, Any]
    parts: dict[str, pa.Table]
    lines: dict[int, list[dict[str, Any]]]
    rows: set[int]


def retry_errors(
    output: str,
    engine_factory: EngineFactory = build_engine,
    storage: StorageConfig | None = None,
) -> RetryReport:
    layout = OutputLayout.open(output, storage)
    config = read_job_config(layout)
    with OutputLease(layout) as lease:
        lease.acquire(redact(output))
        return _retry(layout, config, engine_factory, lease)


def _retry(
    layout: OutputLayout, config: JobConfig, engine_factory: EngineFactory, lease: OutputLease
) -> RetryReport:
    report = RetryReport()
    shards: dict[str, _ShardRetry] = {}
    for entry in Manifest(layout).entries():
        if entry.get("error_rows"):
            plan = _plan(layout, entry)
            if plan.rows:
                shards[entry["name"]] = plan
    rows = [
        input_row(row, config.input.id_column)
        for plan in shards.values()
        for table in plan.parts.values()
        for row in table.to_pylist()
        if row[ROW_COLUMN] in plan.rows
    ]
    if not rows:
        return report
    started = time.perf_counter()
    fresh = _extract(rows, config, engine_factory)
    seconds = time.perf_counter() - started
    report.retried = len(rows)
    report.fixed = sum(1 for row in fresh.values() if not row["errors"])
    scorer = Scorer.for_config(config)
    for name, plan in sorted(shards.items()):
        lease.check()
        _restage(layout, name, plan, fresh, scorer, seconds)
        report.shards.append(name)
    return report


def _plan(layout: OutputLayout, entry: dict[str, Any]) -> _ShardRetry:
    name = entry["name"]
    lines: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for path in layout.error_parts(name):
        for line in read_jsonl(layout.fs, path):
            lines[line["row"]].append(line)
    rows = {row for row, found in lines.items() if retryable({line["stage"] for line in found})}
    parts = (
        {path: read_parquet(layout.fs, path) for path in layout.data_parts(name)} if rows else {}
    )
    return _ShardRetry(entry, parts, dict(lines), rows)


def _extract(
    rows: list[dict[str, Any]], config: JobConfig, engine_factory: EngineFactory
) -> dict[tuple[str, int], dict[str, Any]]:
    """The retried rows, extracted and scored again, by (shard, row); with their typed errors."""
    import ray

    if not ray.is_initialized():
        ray.init(address=config.ray_address)
    dataset = add_extraction(
        ray.data.from_arrow(_blocks(rows, config.pool.batch_size)),
        config,
        engine_factory,
        whole_blocks=True,
    )
    scorer = Scorer.for_config(config)
    fresh: dict[tuple[str, int], dict[str, Any]] = {}
    for batch in dataset.iter_batches(batch_format="pyarrow", batch_size=None):
        scored, _ = score_rows(batch, scorer)
        for row in scored.to_pylist():
            fresh[row[SHARD_COLUMN], row[ROW_COLUMN]] = row
    return fresh


def _blocks(rows: list[dict[str, Any]], size: int) -> list[pa.Table]:
    """The rows as blocks of `size` rows, one shard's rows to a block: each shard's table has
    every column any of its rows has (not only the first row's), and shards whose columns
    have different types never share a block."""
    by_shard: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_shard[row[SHARD_COLUMN]].append(row)
    blocks = []
    for shard_rows in by_shard.values():
        names = list(dict.fromkeys(name for row in shard_rows for name in row))
        table = pa.Table.from_pylist(
            [{name: row.get(name) for name in names} for row in shard_rows]
        )
        blocks += [table.slice(start, size) for start in range(0, table.num_rows, size)]
    return blocks


def _restage(
    layout: OutputLayout,
    shard: str,
    plan: _ShardRetry,
    fresh: dict[tuple[str, int], dict[str, Any]],
    scorer: Scorer,
    seconds: float,
) -> None:
    """Stage the shard's changed parts and all its sidecars, recompute its figures, commit."""
    tally = Tally()
    for path, table in plan.parts.items():
        part = posixpath.basename(path).removesuffix(".parquet")
        merged = [fresh.get((shard, row[ROW_COLUMN]), row) for row in table.to_pylist()]
        lines: list[dict[str, Any]] = []
        for row in merged:
            if ERRORS_COLUMN in row:  # retried: its errors as the extraction gave them
                lines.extend(row_sidecar_lines(row))
            else:
                lines.extend(plan.lines.get(row[ROW_COLUMN], ()))
        if any(row[ROW_COLUMN] in plan.rows for row in merged):
            table = pa.Table.from_pylist(
                [{name: row.get(name) for name in table.column_names} for row in merged],
                schema=table.schema,
            )
            layout.stage_part(shard, part, table)
        layout.stage_error_part(shard, part, lines)
        tally += scored_tally(table, scorer)
    previous = layout.read_json(layout.metrics_path(shard)) or {}
    tally.seconds = seconds + float(previous.get("seconds") or 0.0)
    commit_shard(
        layout, shard_of(plan.entry), plan.entry["fingerprint"], tally, plan.entry["result_rows"]
    )
