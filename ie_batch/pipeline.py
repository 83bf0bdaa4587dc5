"""The main job as a Ray Data plan: read shards -> extract in an actor pool -> write -> commit.

    read (one streaming task per shard, rows numbered)
      -> map_batches(ExtractionStage, actor pool; async, several batches in flight per actor)
      -> map_batches(write_results)     Parquet parts + error sidecars, one summary row per shard
      -> driver: sums the summaries; a shard whose rows are all written is committed
         (metrics/<shard>.json, badcases, then its manifest marker, last)

No shuffle: results stream to storage as batches finish, and a crash loses only uncommitted
shards, which the next run redoes.
"""

from __future__ import annotations

import pickle
import posixpath
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from rich.console import Console

from ie_batch.config import JobConfig
from ie_batch.io.manifest import Manifest
from ie_batch.io.shards import Shard, count_rows, list_shards
from ie_batch.io.storage import open_filesystem
from ie_batch.io.writing import publish, read_json, write_json, write_jsonl
from ie_batch.report import Tally, print_table
from ie_batch.stage import EngineFactory, ExtractionStage, build_vllm_engine
from ie_batch.writer_stage import write_results

console = Console(stderr=True)


@dataclass
class JobReport:
    output: str
    shards: dict[str, Tally] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    total: Tally = field(default_factory=Tally)
    seconds: float = 0.0

    def summary(self) -> dict[str, Any]:
        return {
            **self.total.to_dict(),
            "engine_seconds": round(self.total.seconds, 3),
            "output": self.output,
            "seconds": round(self.seconds, 3),
            "shards_processed": sorted(self.shards),
            "shards_skipped": self.skipped,
            "rows_per_second": round(self.total.rows / self.seconds, 3) if self.seconds else None,
            "tokens_per_second": round(
                (self.total.prompt_tokens + self.total.completion_tokens) / self.seconds, 1
            )
            if self.seconds
            else None,
            "per_shard": {name: tally.to_dict() for name, tally in sorted(self.shards.items())},
        }


def run_job(
    config: JobConfig,
    engine_factory: EngineFactory = build_vllm_engine,
    print_report: bool = True,
    force: bool = False,
) -> JobReport:
    """Run the whole job; returns what it did. Shards committed under the same configuration
    and unchanged since are skipped, unless `force`."""
    import ray

    started = time.perf_counter()
    in_fs, shards = list_shards(config.input.paths, config.storage)
    out_fs, out_root = open_filesystem(config.output, config.storage)
    manifest = Manifest(out_fs, out_root)
    fingerprint = config.fingerprint()
    write_job_record(out_fs, out_root, config, fingerprint)
    report = JobReport(output=config.output)
    pending: list[Shard] = []
    for shard in shards:
        if not force and manifest.is_committed(shard, fingerprint):
            report.skipped.append(shard.name)
        else:
            pending.append(shard)
    pending, limits = _with_row_counts(in_fs, pending, config.input.limit)
    for shard in pending:
        manifest.clear(shard.name)
    console.print(
        f"ie_batch: {len(shards)} shard(s), {len(report.skipped)} already committed, "
        f"{len(pending)} to process ({sum(limits.values())} rows)"
    )
    expected = {shard.name: limits[shard.name] for shard in pending}
    by_name = {shard.name: shard for shard in pending}
    for name in [n for n, rows in expected.items() if rows == 0]:
        _commit(manifest, out_fs, out_root, by_name[name], fingerprint, Tally(), report)
    if any(expected.values()):
        if not ray.is_initialized():
            ray.init(address=config.ray_address, log_to_driver=True)
        dataset = build_plan(
            config,
            in_fs,
            [s for s in pending if expected[s.name]],
            limits,
            engine_factory,
        )
        _drain(dataset, expected, by_name, manifest, out_fs, out_root, fingerprint, report, started)
    report.seconds = time.perf_counter() - started
    _write_job_files(out_fs, out_root, report)
    if print_report:
        print_table(report.shards, report.total)
    return report


def build_plan(
    config: JobConfig,
    in_fs: Any,
    shards: list[Shard],
    limits: dict[str, int],
    engine_factory: EngineFactory,
) -> Any:
    """The Ray Data plan for `shards`; lazily built, run by iterating over it."""
    import ray

    from ie_batch.io.ray_datasource import ShardDatasource

    dataset = ray.data.read_datasource(
        ShardDatasource(
            in_fs, shards, batch_rows=max(config.pool.batch_size, 256), row_limits=limits
        )
    )
    dataset = add_extraction(dataset, config, engine_factory)
    return dataset.map_batches(
        write_results,
        fn_kwargs={"output": config.output, "storage": config.storage},
        batch_format="pyarrow",
        batch_size=None,
        num_cpus=0.25,
    )


def add_extraction(dataset: Any, config: JobConfig, engine_factory: EngineFactory) -> Any:
    """`dataset` mapped through the extraction actor pool that `config.pool` describes."""
    import ray

    pool = config.pool
    return dataset.map_batches(
        ExtractionStage,
        fn_constructor_kwargs={"config": config, "engine_factory": engine_factory},
        batch_size=pool.batch_size,
        batch_format="pyarrow",
        compute=ray.data.ActorPoolStrategy(
            min_size=pool.min_actors,
            max_size=max(pool.min_actors, pool.max_actors),
            max_tasks_in_flight_per_actor=pool.batches_in_flight,
        ),
        num_gpus=pool.num_gpus or None,
        num_cpus=pool.num_cpus,
    )


def _with_row_counts(
    fs: Any, shards: list[Shard], limit: int | None
) -> tuple[list[Shard], dict[str, int]]:
    """Row counts per shard (the completeness check needs them), cut to `limit` in total."""
    counted: list[Shard] = []
    limits: dict[str, int] = {}
    left = limit
    for shard in shards:
        if left is not None and left <= 0:
            break
        rows = count_rows(fs, shard)
        take = rows if left is None else min(rows, left)
        if left is not None:
            left -= take
        counted.append(replace(shard, rows=rows))
        limits[shard.name] = take
    return counted, limits


def _drain(
    dataset: Any,
    expected: dict[str, int],
    shards: dict[str, Shard],
    manifest: Manifest,
    out_fs: Any,
    out_root: str,
    fingerprint: str,
    report: JobReport,
    started: float,
) -> None:
    """Consume the summaries as the plan streams; commit each shard once all its rows are in."""
    tallies: dict[str, Tally] = {}
    done_rows = 0
    tokens = 0
    last_print = 0.0
    for summary in dataset.iter_rows():
        name = summary["shard"]
        tally = tallies.setdefault(name, Tally())
        evaluation = pickle.loads(summary["evaluation"]) if summary["evaluation"] else None
        tally.add(
            Tally(
                rows=summary["rows"],
                error_rows=summary["error_rows"],
                prompt_tokens=summary["prompt_tokens"],
                completion_tokens=summary["completion_tokens"],
                seconds=summary["seconds"],
                **({"evaluation": evaluation} if evaluation else {}),
            )
        )
        done_rows += summary["rows"]
        tokens += summary["prompt_tokens"] + summary["completion_tokens"]
        if tally.rows == expected[name]:
            _commit(manifest, out_fs, out_root, shards[name], fingerprint, tally, report)
        elif tally.rows > expected[name]:
            raise RuntimeError(
                f"shard {name}: {tally.rows} result rows for {expected[name]} input rows"
            )
        now = time.perf_counter()
        if now - last_print > 5:
            elapsed = now - started
            console.print(
                f"ie_batch: {done_rows}/{sum(expected.values())} rows, "
                f"{done_rows / elapsed:.2f} rows/s, {tokens / elapsed:.0f} tokens/s, "
                f"{len(report.shards)} shard(s) committed"
            )
            last_print = now
    missing = {
        n: expected[n] - tallies.get(n, Tally()).rows
        for n in expected
        if n not in report.shards and expected[n]
    }
    if missing:
        raise RuntimeError(f"shards not complete at the end of the job (rows missing): {missing}")


def _commit(
    manifest: Manifest,
    fs: Any,
    root: str,
    shard: Shard,
    fingerprint: str,
    tally: Tally,
    report: JobReport,
) -> None:
    publish(fs, root, shard.name)
    metrics = {"shard": shard.name, "path": shard.path, **tally.to_dict()}
    write_json(fs, posixpath.join(root, "metrics", f"{shard.name}.json"), metrics)
    if tally.evaluation.bad_cases:
        write_jsonl(
            fs, posixpath.join(root, "badcases", f"{shard.name}.jsonl"), tally.evaluation.bad_cases
        )
    manifest.commit(shard, fingerprint, {"result_rows": tally.rows, "error_rows": tally.error_rows})
    report.shards[shard.name] = tally
    report.total.add(tally)


JOB_RECORD = "_job.json"


def write_job_record(fs: Any, root: str, config: JobConfig, fingerprint: str) -> None:
    """What `ie-batch status` and `retry-errors` need to know about the job that wrote here.
    Storage options are left out: they may hold secrets."""
    record = {
        "fingerprint": fingerprint,
        "config": config.model_dump(mode="json", by_alias=True, exclude={"storage": {"options"}}),
        "started_at": datetime.now(UTC).isoformat(),
    }
    write_json(fs, posixpath.join(root, JOB_RECORD), record)


def read_job_config(fs: Any, root: str) -> JobConfig:
    record = read_json(fs, posixpath.join(root, JOB_RECORD))
    if record is None:
        raise FileNotFoundError(f"{posixpath.join(root, JOB_RECORD)}: no ie_batch job wrote here")
    return JobConfig.model_validate(record["config"])


def _write_job_files(fs: Any, root: str, report: JobReport) -> None:
    write_json(fs, posixpath.join(root, "summary.json"), report.summary())
