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
from ie_batch.io.lease import DEFAULT_TTL_S, OutputLease
from ie_batch.io.manifest import Manifest
from ie_batch.io.shards import Shard, ShardListing, count_rows, is_safe_name, list_shards
from ie_batch.io.storage import redact
from ie_batch.job.commit import IncompleteShard, commit_shard
from ie_batch.job.plan import build_plan
from ie_batch.job.table import print_table
from ie_batch.job.tally import Tally
from ie_batch.job.write_stage import ShardSummary

console = Console(stderr=True)

#: Seconds between two progress lines.
PROGRESS_EVERY_S = 5
#: Files not read as shards that the job names at its start.
SHOWN_IGNORED = 5


@dataclass
class JobReport:
    output: str
    shards: dict[str, Tally] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    #: shard -> why it was not committed (its rows are not in the results; a rerun redoes it)
    failed: dict[str, str] = field(default_factory=dict)
    ignored: list[tuple[str, str]] = field(default_factory=list)
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
            "shards_failed": dict(sorted(self.failed.items())),
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

    @property
    def ok(self) -> bool:
        """Every shard the job set out to process was committed."""
        return not self.failed

    def exit_code(self, max_error_rate: float) -> int:
        """For schedulers: 1 when a shard failed or more than `max_error_rate` of the rows
        processed have errors, else 0."""
        too_many = self.total.rows and self.total.error_rows / self.total.rows > max_error_rate
        return 1 if self.failed or too_many else 0


def run_job(
    config: JobConfig,
    engine_factory: EngineFactory = build_vllm_engine,
    print_report: bool = True,
    force: bool = False,
    lease_ttl_s: float = DEFAULT_TTL_S,
) -> JobReport:
    """Run the whole job; returns what it did. Shards committed under the same configuration
    and unchanged since are skipped, unless `force`. The job holds the output's lease from
    before it writes anything until it ends (`LeaseHeld` when another job holds it)."""
    started = time.perf_counter()
    listing = list_shards(config.input.paths, config.storage, exclude=[config.output])
    layout = OutputLayout.open(config.output, config.storage)
    lease = OutputLease(layout, ttl_s=lease_ttl_s)
    lease.acquire(redact(config.output))
    try:
        report = JobReport(output=config.output, ignored=listing.ignored)
        _run(
            config,
            listing,
            ShardCommitter(layout, config.fingerprint(), report, lease),
            engine_factory,
            force,
            started,
        )
    finally:
        lease.release()
    report.seconds = time.perf_counter() - started
    layout.write_json(layout.summary_path, report.summary())
    if print_report:
        print_table(report.shards, report.total)
    return report


def _run(
    config: JobConfig,
    listing: ShardListing,
    committer: ShardCommitter,
    engine_factory: EngineFactory,
    force: bool,
    started: float,
) -> None:
    import ray

    layout, report = committer.layout, committer.report
    manifest = Manifest(layout)
    write_job_record(layout, config, committer.fingerprint)
    _print_ignored(listing.ignored)
    _retire_renamed(layout, manifest, listing.shards)
    pending: list[Shard] = []
    for shard in listing.shards:
        if not force and manifest.is_committed(shard, committer.fingerprint):
            report.skipped.append(shard.name)
        else:
            pending.append(shard)
    for shard in pending:
        layout.clear(shard.name)
    pending, limits, unreadable = _with_row_counts(listing.fs, pending, config.input.limit)
    for shard, reason in unreadable:
        committer.fail(shard, reason)
    console.print(
        f"ie_batch: {len(listing.shards)} shard(s), {len(report.skipped)} already committed, "
        f"{len(pending)} to process ({sum(limits.values())} rows)"
    )
    by_name = {shard.name: shard for shard in pending}
    for name in [n for n, rows in limits.items() if rows == 0]:
        committer.commit(by_name[name], Tally(), 0)
    if any(limits.values()):
        if not ray.is_initialized():
            ray.init(address=config.ray_address, log_to_driver=True)
        dataset = build_plan(
            config, listing.fs, [s for s in pending if limits[s.name]], limits, engine_factory
        )
        _drain(dataset, limits, by_name, committer, started)


def _with_row_counts(
    fs: Any, shards: list[Shard], limit: int | None
) -> tuple[list[Shard], dict[str, int], list[tuple[Shard, str]]]:
    """Row counts per shard (the completeness check needs them), cut to `limit` in total;
    and the shards that cannot be counted (a corrupt or truncated file), with why."""
    counted: list[Shard] = []
    limits: dict[str, int] = {}
    unreadable: list[tuple[Shard, str]] = []
    left = limit
    for shard in shards:
        if left is not None and left <= 0:
            break
        try:
            rows = count_rows(fs, shard)
        except Exception as exc:  # noqa: BLE001 - a bad file costs its shard, not the job
            unreadable.append((shard, f"{shard.path}: cannot be read: {type(exc).__name__}: {exc}"))
            continue
        take = rows if left is None else min(rows, left)
        if left is not None:
            left -= take
        counted.append(replace(shard, rows=rows))
        limits[shard.name] = take
    return counted, limits, unreadable


class ShardCommitter:
    """Commits shards for one run, or records why one failed; nothing once the lease is lost."""

    def __init__(
        self,
        layout: OutputLayout,
        fingerprint: str,
        report: JobReport,
        lease: OutputLease | None = None,
    ) -> None:
        self.layout = layout
        self.fingerprint = fingerprint
        self.report = report
        self.lease = lease

    def decided(self, shard: str) -> bool:
        return shard in self.report.shards or shard in self.report.failed

    def commit(self, shard: Shard, tally: Tally, expected_rows: int) -> None:
        if self.lease is not None:
            self.lease.check()
        try:
            commit_shard(self.layout, shard, self.fingerprint, tally, expected_rows)
        except IncompleteShard as exc:
            self.fail(shard, self.layout.failure(shard.name) or str(exc))
        else:
            self.report.committed(shard.name, tally)

    def fail(self, shard: Shard, reason: str) -> None:
        """The shard stays uncommitted (a rerun redoes it); why is recorded for `status`."""
        self.layout.record_failure(shard.name, shard.path, reason)
        self.report.failed[shard.name] = reason
        console.print(f"ie_batch: shard {shard.name} failed: {reason}")


def _drain(
    dataset: Any,
    expected: dict[str, int],
    shards: dict[str, Shard],
    committer: ShardCommitter,
    started: float,
) -> None:
    """Consume the summaries as the plan streams; commit each shard once all its rows are in.

    Figures are kept per part: a write task Ray ran twice writes the same part twice and sends
    its summary twice, which must count once."""
    parts: dict[str, dict[str, Tally]] = {}
    done_rows = 0
    tokens = 0
    last_print = 0.0
    for row in dataset.iter_rows():
        summary = ShardSummary.from_row(row)
        name = summary.shard
        if committer.decided(name):
            continue  # a late repeat of a part of a shard already decided
        shard_parts = parts.setdefault(name, {})
        if summary.part not in shard_parts:
            done_rows += summary.tally.rows
            tokens += summary.tally.prompt_tokens + summary.tally.completion_tokens
        shard_parts[summary.part] = summary.tally
        if sum(tally.rows for tally in shard_parts.values()) >= expected[name]:
            tally = Tally()
            for part in shard_parts.values():
                tally += part
            committer.commit(shards[name], tally, expected[name])
        now = time.perf_counter()
        if now - last_print > PROGRESS_EVERY_S:
            elapsed = now - started
            console.print(
                f"ie_batch: {done_rows}/{sum(expected.values())} rows, "
                f"{done_rows / elapsed:.2f} rows/s, {tokens / elapsed:.0f} tokens/s, "
                f"{len(committer.report.shards)} shard(s) committed"
            )
            last_print = now
    for name, rows in expected.items():
        if rows and not committer.decided(name):
            written = sum(tally.rows for tally in parts.get(name, {}).values())
            reason = committer.layout.failure(name) or (
                f"shard {name}: {rows - written} of its {rows} rows were not written by the end "
                "of the job"
            )
            committer.fail(shards[name], reason)


def _print_ignored(ignored: list[tuple[str, str]]) -> None:
    if not ignored:
        return
    shown = "; ".join(f"{path} ({why})" for path, why in ignored[:SHOWN_IGNORED])
    more = f"; and {len(ignored) - SHOWN_IGNORED} more" if len(ignored) > SHOWN_IGNORED else ""
    console.print(f"ie_batch: {len(ignored)} file(s) not read as shards: {shown}{more}")


def _retire_renamed(layout: OutputLayout, manifest: Manifest, shards: list[Shard]) -> None:
    """Results an earlier version (or listing) wrote for one of these input files under another
    shard name are cleared, so no input row is ever counted under two names; the file is then
    processed under its name now."""
    names = {shard.path: shard.name for shard in shards}
    for marker, entry in manifest.marker_files():
        current = names.get(entry.get("path"))
        if current is None or entry.get("name") == current:
            continue
        old = entry.get("name", "")
        console.print(f"ie_batch: {entry['path']} was shard {old!r}, now {current!r}: redone")
        if is_safe_name(old):
            layout.clear(old)
        else:  # an old name that is no path segment: its marker is all that can safely go
            layout.drop_marker_file(marker)
