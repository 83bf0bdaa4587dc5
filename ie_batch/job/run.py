"""`run_job`: list shards, skip the committed ones, run the plan, commit each shard as it
completes, and write the job's summary.

The driver sees only the write stage's summaries; a shard whose rows are all written is
committed at once (`job.commit`), so a crash loses only uncommitted shards, which the next run
redoes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Any

from rich.console import Console

from ie_batch.config import JobConfig
from ie_batch.engines.factory import EngineFactory, build_vllm_engine
from ie_batch.io.job_record import write_job_record
from ie_batch.io.layout import OutputLayout
from ie_batch.io.manifest import Manifest
from ie_batch.io.shards import Shard, count_rows, list_shards
from ie_batch.job.commit import commit_shard
from ie_batch.job.plan import build_plan
from ie_batch.job.table import print_table
from ie_batch.job.tally import Tally
from ie_batch.job.write_stage import ShardSummary

console = Console(stderr=True)

#: Seconds between two progress lines.
PROGRESS_EVERY_S = 5


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

    def committed(self, shard: str, tally: Tally) -> None:
        self.shards[shard] = tally
        self.total += tally


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
    layout = OutputLayout.open(config.output, config.storage)
    manifest = Manifest(layout)
    fingerprint = config.fingerprint()
    write_job_record(layout, config, fingerprint)
    report = JobReport(output=config.output)
    pending: list[Shard] = []
    for shard in shards:
        if not force and manifest.is_committed(shard, fingerprint):
            report.skipped.append(shard.name)
        else:
            pending.append(shard)
    pending, limits = _with_row_counts(in_fs, pending, config.input.limit)
    for shard in pending:
        layout.clear(shard.name)
    console.print(
        f"ie_batch: {len(shards)} shard(s), {len(report.skipped)} already committed, "
        f"{len(pending)} to process ({sum(limits.values())} rows)"
    )
    by_name = {shard.name: shard for shard in pending}
    for name in [n for n, rows in limits.items() if rows == 0]:
        commit_shard(layout, by_name[name], fingerprint, Tally())
        report.committed(name, Tally())
    if any(limits.values()):
        if not ray.is_initialized():
            ray.init(address=config.ray_address, log_to_driver=True)
        dataset = build_plan(
            config, in_fs, [s for s in pending if limits[s.name]], limits, engine_factory
        )
        _drain(dataset, limits, by_name, layout, fingerprint, report, started)
    report.seconds = time.perf_counter() - started
    layout.write_json(layout.summary_path, report.summary())
    if print_report:
        print_table(report.shards, report.total)
    return report


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
    layout: OutputLayout,
    fingerprint: str,
    report: JobReport,
    started: float,
) -> None:
    """Consume the summaries as the plan streams; commit each shard once all its rows are in."""
    tallies: dict[str, Tally] = {}
    done_rows = 0
    tokens = 0
    last_print = 0.0
    for row in dataset.iter_rows():
        summary = ShardSummary.from_row(row)
        name = summary.shard
        tally = tallies.setdefault(name, Tally())
        tally += summary.tally
        done_rows += summary.tally.rows
        tokens += summary.tally.prompt_tokens + summary.tally.completion_tokens
        if tally.rows == expected[name]:
            commit_shard(layout, shards[name], fingerprint, tally)
            report.committed(name, tally)
        elif tally.rows > expected[name]:
            raise RuntimeError(
                f"shard {name}: {tally.rows} result rows for {expected[name]} input rows"
            )
        now = time.perf_counter()
        if now - last_print > PROGRESS_EVERY_S:
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
