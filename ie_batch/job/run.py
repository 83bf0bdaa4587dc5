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
from ie_batch.engines.factory import EngineFactory, build_engine
from ie_batch.fingerprint import Fingerprint, fingerprint_of
from ie_batch.io.job_record import write_job_record
from ie_batch.io.layout import OutputLayout
from ie_batch.io.lease import DEFAULT_TTL_S, OutputLease
from ie_batch.io.manifest import Manifest
from ie_batch.io.reading import iter_shard_batches
from ie_batch.io.shards import (
    Shard,
    ShardListing,
    count_rows,
    count_shards,
    is_safe_name,
    list_shards,
    unreadable_reason,
)
from ie_batch.io.writing import read_parquet
from ie_batch.job.actors import end_registered, start_registry
from ie_batch.job.checks import check_job
from ie_batch.job.commit import (
    PREPARATION_CPUS,
    PREPARATIONS_IN_FLIGHT,
    IncompleteShard,
    PreparedShard,
    covered_rows,
    prepare_shard,
    publish_shard,
    shard_parts,
)
from ie_batch.job.errors import RowError, Stage
from ie_batch.job.extract_stage import result_table
from ie_batch.job.plan import build_plan
from ie_batch.job.progress import JobProgress, ShardCount, Snapshot
from ie_batch.job.scoring import Scorer
from ie_batch.job.table import print_table
from ie_batch.job.tally import Tally
from ie_batch.job.task_pool import InlinePool, RayTaskPool, TaskPool
from ie_batch.job.write_stage import ShardSummary, scored_tally, write_results

console = Console(stderr=True)

#: Files not read as shards that the job names at its start.
SHOWN_IGNORED = 5
#: Times a row whose batch keeps being lost is asked alone before it is a poison row.
SINGLE_ROW_ATTEMPTS = 2


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
    engine_factory: EngineFactory = build_engine,
    print_report: bool = True,
    force: bool = False,
    lease_ttl_s: float = DEFAULT_TTL_S,
) -> JobReport:
    """Run the whole job; returns what it did. Shards committed under the same configuration
    and unchanged since are skipped, unless `force`. The job holds the output's lease from
    before it writes anything until it ends (`LeaseHeld` when another job holds it)."""
    started = time.perf_counter()
    check_job(config)
    listing = list_shards(config.input.paths, config.storage, exclude=[config.output])
    layout = OutputLayout.open(config.output, config.storage)
    lease = OutputLease(layout, ttl_s=lease_ttl_s)
    lease.acquire(config.output)
    try:
        report = JobReport(output=config.output, ignored=listing.ignored)
        _run(
            config,
            listing,
            ShardCommitter(
                layout,
                fingerprint_of(config),
                report,
                lease,
                scorer=Scorer.for_config(config),
                part_bytes=config.write.part_mib * 1024 * 1024,
            ),
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
        if report.total.evaluation.unknown_gold_labels:
            unknown = report.total.evaluation.unknown_gold_labels
            console.print(f"ie_batch: warning: job: {describe_unknown_gold(unknown)}")
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
    write_job_record(layout, config, committer.fingerprint.value)
    _print_ignored(listing.ignored)
    _retire_renamed(layout, manifest, listing.shards)
    pending: list[Shard] = []
    for shard in listing.shards:
        entry = None if force else manifest.entry(shard.name)
        if entry is not None and manifest.is_current(entry, shard, committer.fingerprint):
            manifest.adopt(shard, entry, committer.fingerprint)
            report.skipped.append(shard.name)
        else:
            pending.append(shard)
    for shard in pending:
        layout.clear(shard.name)
    if config.input.limit is None:
        # no pass over the input here: each read task tells the commit its shard's row count
        limits: dict[str, int | None] = dict.fromkeys((s.name for s in pending), None)
        rows_note = "rows counted as they are read"
    else:  # a trial run: the limit is split over the shards in order, so count them first
        pending, counted, unreadable = count_shards(listing.fs, pending, config.input.limit)
        for shard, reason in unreadable:
            committer.fail(shard, reason)
        limits = dict(counted)
        rows_note = f"{sum(counted.values())} rows"
    console.print(
        f"ie_batch: {len(listing.shards)} shard(s), {len(report.skipped)} already committed, "
        f"{len(pending)} to process ({rows_note})"
    )
    committer.expect(pending, limits, listing.fs)
    for shard in pending:
        if limits[shard.name] == 0:
            committer.commit(shard, Tally())
    todo = [s for s in pending if limits[s.name] != 0]
    if todo:
        if not ray.is_initialized():
            ray.init(address=config.ray_address, log_to_driver=True)
        committer.prepare_on_ray()
        passes = _Passes(listing.fs, limits, committer, engine_factory, started)
        try:
            passes.run(config, todo)
            _isolate_lost_rows(config, todo, committer, passes)
            committer.settle()  # before the progress line's last figures
        finally:
            passes.close()
    committer.finish()


class _Passes:
    """Runs plans one after the other with one registry of actors, ending each plan's actors
    once it is drained (`job.actors`)."""

    def __init__(
        self,
        fs: Any,
        limits: dict[str, int | None],
        committer: ShardCommitter,
        engine_factory: EngineFactory,
        started: float,
    ) -> None:
        self.fs = fs
        self.limits = limits
        self.committer = committer
        self.engine_factory = engine_factory
        self.started = started
        self.progress = JobProgress(console, started=started)
        if self.progress.terminal:  # one live line: Ray Data's own bars would tear it apart
            import ray.data

            ray.data.DataContext.get_current().enable_progress_bars = False
        self.registry, self._registry = start_registry()

    def run(
        self,
        config: JobConfig,
        shards: list[Shard],
        only_rows: dict[str, frozenset[int]] | None = None,
    ) -> None:
        plan = build_plan(
            config, self.fs, shards, self.limits, self.engine_factory, only_rows, self.registry
        )
        try:
            _drain(plan, self.committer, self.started, self.progress)
        finally:
            del plan
            end_registered(self._registry)

    def close(self) -> None:
        import ray

        try:
            self.progress.close(self.committer.progress())
        finally:  # the actors end whatever the progress line does
            end_registered(self._registry)
            ray.kill(self._registry)


def _isolate_lost_rows(
    config: JobConfig, shards: list[Shard], committer: ShardCommitter, passes: _Passes
) -> None:
    """Ask again the rows whose block was lost (its actor died: a killed process, a native
    crash, an out-of-memory kill), one batch to a block, in batches of half the size each time,
    then one row at a time; a row lost every time it was asked alone is a poison row and
    becomes an error row, so the job ends and every other row of its batches is kept."""
    for size in retry_batch_sizes(config.pool.batch_size, config.pool.block_rows):
        lost = committer.lost_rows()
        if not lost:
            return
        console.print(
            f"ie_batch: {sum(map(len, lost.values()))} row(s) of {len(lost)} shard(s) were "
            f"lost with their batch; asking them again, {size} per batch"
        )
        # one batch to a block and one in flight per actor: a batch lost with its actor
        # takes no other down
        pool = config.pool.model_copy(
            update={"batch_size": size, "block_rows": size, "batches_in_flight": 1}
        )
        retry = config.model_copy(update={"pool": pool})
        passes.run(retry, [shard for shard in shards if shard.name in lost], lost)
    lost = committer.lost_rows()
    if lost:
        committer.poison(config, passes.fs, [s for s in shards if s.name in lost], lost)


def retry_batch_sizes(batch_size: int, block_rows: int | None = None) -> list[int]:
    """Half the batch size each time down to 1, then one row at a time once more; first the
    batch size itself when a block held several batches, since the healthy batches of a block
    lost with its actor come through when each is asked alone."""
    sizes = [batch_size] if block_rows is not None and block_rows > batch_size > 1 else []
    size = batch_size // 2
    while size > 1:
        sizes.append(size)
        size //= 2
    return [*sizes, *[1] * SINGLE_ROW_ATTEMPTS]


def _warn_unknown_gold(shard: str, tally: Tally) -> None:
    unknown = tally.evaluation.unknown_gold_labels
    if unknown:
        console.print(f"ie_batch: warning: shard {shard}: {describe_unknown_gold(unknown)}")


def describe_unknown_gold(unknown: dict[str, dict[str, int]]) -> str:
    """One line naming the gold labels no schema of their task has, most frequent first."""
    parts = []
    for task, labels in sorted(unknown.items()):
        ranked = sorted(labels.items(), key=lambda item: (-item[1], item[0]))
        parts.append(f"{task}: " + ", ".join(f"{label!r} x{n}" for label, n in ranked))
    return (
        "gold labels that are not in the schema (scored as misses; the model is only offered "
        "the schema's labels): " + "; ".join(parts)
    )


class ShardCommitter:
    """Keeps each shard's figures as summaries arrive, commits a shard once its rows are all
    written, records why one failed; commits nothing once the output's lease is lost.

    Figures are kept per part: a write task Ray ran twice writes the same part twice and sends
    its summary twice, which must count once.

    A commit's reading half (checking and merging the shard's parts, `job.commit`) runs in
    `preparations`: here until `prepare_on_ray`, then as Ray tasks, a few at a time, whose
    outcomes are published as summaries arrive and, at the end of a pass, by `settle`. The
    driver itself only lists, moves and writes the small files."""

    def __init__(
        self,
        layout: OutputLayout,
        fingerprint: Fingerprint,
        report: JobReport,
        lease: OutputLease | None = None,
        scorer: Scorer | None = None,
        part_bytes: int | None = None,
        preparations: TaskPool | None = None,
    ) -> None:
        self.part_bytes = part_bytes
        self.preparations = preparations or InlinePool(prepare_shard)
        #: shards whose preparation is under way, with what their commit will record
        self.committing: dict[str, tuple[Shard, Tally]] = {}
        self.layout = layout
        self.fingerprint = fingerprint
        self.report = report
        self.lease = lease
        self.scorer = scorer
        self.shards: dict[str, Shard] = {}
        #: rows per shard; None until a summary of the shard's last block brings the count
        self.expected: dict[str, int | None] = {}
        self.parts: dict[str, dict[str, Tally]] = {}
        self.tokens_done = 0
        self.input_fs: Any = None

    def expect(
        self, shards: list[Shard], rows: dict[str, int | None], input_fs: Any = None
    ) -> None:
        """The shards to commit, with their row counts where known (else learnt from their
        read tasks, or counted here for a shard whose last block never came)."""
        self.input_fs = input_fs
        for shard in shards:
            self.shards[shard.name] = shard
            self.expected[shard.name] = rows[shard.name]

    def count_unknown(self) -> None:
        """Count, from the file, each open shard whose last block never reached a write task
        (lost with an actor, or the shard holds no row): the rare path, one shard at a time.
        A shard that cannot be read fails here (its read task recorded why)."""
        for name, rows in self.expected.items():
            if rows is not None or self.decided(name):
                continue
            shard = self.shards[name]
            if self.layout.failure(name):
                continue  # its read task failed: `finish` fails the shard with the reason
            try:
                self.expected[name] = count_rows(self.input_fs, shard)
            except Exception as exc:  # noqa: BLE001 - a bad file costs its shard, not the job
                self.fail(shard, unreadable_reason(shard, exc))
            else:
                if self.expected[name] == 0:
                    self.commit(shard, Tally())

    def prepare_on_ray(self) -> None:
        """Prepare shards as Ray tasks from now on (the job has joined Ray)."""
        self.settle()
        self.preparations = RayTaskPool(prepare_shard, PREPARATIONS_IN_FLIGHT, PREPARATION_CPUS)

    def decided(self, shard: str) -> bool:
        """Committed, failed, or being committed (its preparation decides which)."""
        return (
            shard in self.report.shards or shard in self.report.failed or shard in self.committing
        )

    def progress(self) -> Snapshot:
        """The figures the progress line shows (`job.progress`): rows written of planned."""
        counts = []
        for name, rows in self.expected.items():
            committed = self.report.shards.get(name)
            written = sum(tally.rows for tally in self.parts.get(name, {}).values())
            counts.append(
                ShardCount(
                    self.shards[name],
                    rows,
                    written=committed.rows if committed is not None else written,
                    committed=committed is not None,
                    failed=name in self.report.failed,
                )
            )
        return Snapshot.of(counts, self.tokens_done)

    def add(self, summary: ShardSummary) -> None:
        self._publish_prepared()
        name = summary.shard
        if self.decided(name):
            return  # a late repeat of a part of a shard already decided
        parts = self.parts.setdefault(name, {})
        if summary.part not in parts:
            self.tokens_done += summary.tally.prompt_tokens + summary.tally.completion_tokens
        parts[summary.part] = summary.tally
        if summary.shard_rows is not None:
            self.expected[name] = summary.shard_rows
        expected = self.expected[name]
        if expected is not None and sum(tally.rows for tally in parts.values()) >= expected:
            self.commit(self.shards[name], self._tally(name))

    def _tally(self, shard: str) -> Tally:
        total = Tally()
        for part in self.parts.get(shard, {}).values():
            total += part
        return total

    def commit(self, shard: Shard, tally: Tally) -> None:
        """Commit the shard once its preparation is done (at once with an `InlinePool`)."""
        if self.lease is not None:
            self.lease.check()
        expected = self.expected[shard.name] or 0
        if shard.rows is None:  # counted by its read task: the marker records the count
            shard = replace(shard, rows=expected)
        self.committing[shard.name] = (shard, tally)
        self.preparations.submit(shard.name, self.layout, shard.name, expected, self.part_bytes)
        self._publish_prepared()

    def settle(self) -> None:
        """Wait for every preparation under way and publish (or fail) its shard."""
        while self.preparations.busy:
            self._publish_prepared(block=True)

    def _publish_prepared(self, block: bool = False) -> None:
        for name, outcome in self.preparations.ready(block):
            shard, tally = self.committing.pop(name)
            self._publish(shard, tally, outcome)

    def _publish(self, shard: Shard, tally: Tally, prepared: PreparedShard | Exception) -> None:
        if isinstance(prepared, Exception):  # a part unreadable, storage failing: the shard
            self.fail(shard, _publishing_failed(shard, prepared))
            return
        if self.lease is not None:
            self.lease.check()
        try:
            publish_shard(self.layout, shard, self.fingerprint.value, tally, prepared)
        except IncompleteShard as exc:
            self.fail(shard, self.layout.failure(shard.name) or str(exc))
        except OSError as exc:  # storage failed past its retries: the shard, not the job
            self.fail(shard, _publishing_failed(shard, exc))
        else:
            self.report.committed(shard.name, tally)
            _warn_unknown_gold(shard.name, tally)

    def fail(self, shard: Shard, reason: str) -> None:
        """The shard stays uncommitted (a rerun redoes it); why is recorded for `status`."""
        self.layout.record_failure(shard.name, shard.path, reason)
        self.report.failed[shard.name] = reason
        console.print(f"ie_batch: shard {shard.name} failed: {reason}")

    def lost_rows(self) -> dict[str, frozenset[int]]:
        """Rows of shards not decided yet that no written part holds (their batch was lost);
        a shard whose file could not be read is left out: reading it again fails again."""
        self.count_unknown()
        lost = {}
        for name, rows in self.expected.items():
            if rows and not self.decided(name) and not self.layout.failure(name):
                missing = frozenset(range(rows)) - set(covered_rows(self.layout, name))
                if missing:
                    lost[name] = missing
        return lost

    def poison(
        self, config: JobConfig, fs: Any, shards: list[Shard], lost: dict[str, frozenset[int]]
    ) -> None:
        """Write the rows no attempt could extract as error rows, so their shards complete."""
        reason = (
            f"the batch holding this row was lost every time it was asked, "
            f"{SINGLE_ROW_ATTEMPTS} times alone: its extraction actor died (a native crash or "
            "an out-of-memory kill in the engine or tokenizer) or a stage failed; see the "
            "driver's log"
        )
        for shard in shards:
            console.print(
                f"ie_batch: shard {shard.name}: rows {sorted(lost[shard.name])}: {reason}"
            )
            batches = iter_shard_batches(
                fs,
                shard,
                config.pool.batch_size,
                self.expected[shard.name],
                config.input.text_column,
                lost[shard.name],
            )
            for batch in batches:
                rows = batch.to_pylist()
                errors = [[RowError(Stage.EXTRACT, reason)] for _ in rows]
                table = result_table(
                    batch, rows, [None] * len(rows), errors, 0.0, config.input.id_column
                )
                for summary in write_results(table, config).to_pylist():
                    self.add(ShardSummary.from_row(summary))

    def finish(self) -> None:
        """Decide every shard still open: committed when its parts hold all its rows (some
        parts' summaries may be missing: their figures are read from the parts), else
        failed, with the reason recorded."""
        self.count_unknown()
        for name, rows in self.expected.items():
            if self.decided(name):
                continue
            if rows is None:  # unreadable: its read task recorded why
                reason = self.layout.failure(name) or f"shard {name}: its rows were never read"
                self.fail(self.shards[name], reason)
                continue
            written = covered_rows(self.layout, name)
            if self.scorer is not None and set(written) >= set(range(rows)):
                tally = Tally()
                for path in shard_parts(self.layout, name):
                    if path in self.parts.get(name, {}):
                        tally += self.parts[name][path]
                    else:
                        tally += scored_tally(read_parquet(self.layout.fs, path), self.scorer)
                self.commit(self.shards[name], tally)
                continue
            reason = self.layout.failure(name) or (
                f"shard {name}: {rows - len(set(written) & set(range(rows)))} of its {rows} rows "
                "were not written by the end of the job"
            )
            self.fail(self.shards[name], reason)
        self.settle()


def _publishing_failed(shard: Shard, exc: BaseException) -> str:
    return f"shard {shard.name}: publishing failed: {type(exc).__name__}: {exc}"


def _drain(
    dataset: Any, committer: ShardCommitter, started: float, progress: JobProgress | None = None
) -> None:
    """Consume the summaries as the plan streams; each shard is committed once complete, and
    the progress line follows (a reporter of its own, closed at the end, unless given one)."""
    reporter = progress or JobProgress(console, started=started)
    try:
        for row in dataset.iter_rows():
            committer.add(ShardSummary.from_row(row))
            if reporter.due():
                reporter.show(committer.progress())
    finally:
        if progress is None:
            reporter.close(committer.progress())


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
