"""THE shard commit, used by `run` and by `retry-errors` alike, in two halves.

`prepare_shard` reads the shard: it checks that the parts the shard will hold (its staged parts,
over any of the same name in `data/`) hold rows 0..N-1, each exactly once (counts in summaries
can be repeated by a retried write task, or stale; files are what readers get), and for a shard
published for the first time it merges the staged parts into parts of the target size, staged
beside them, checking the row numbers of the data it merges as it streams. It carries the
shard's bytes, so the job runs it as a Ray task (`job.task_pool`), and its answer is small.

`publish_shard` only lists and moves: the staged (or merged) parts and error sidecars into
`data/` and `errors/`, then the metrics and bad cases, and the marker last, so a crash at any
point leaves the shard uncommitted, never half committed.
"""

from __future__ import annotations

import posixpath
from collections import Counter
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ie_batch.io.layout import OutputLayout
from ie_batch.io.manifest import Manifest
from ie_batch.io.shards import Shard
from ie_batch.job.columns import ROW_COLUMN
from ie_batch.job.tally import Tally

#: Row numbers a refusal lists at most.
SHOWN_ROWS = 5
#: Shard preparations (reads, checks, merges) in flight at once as Ray tasks: enough to keep
#: commits up with a plan that completes shards steadily, few enough that 100,000 shards
#: completing at once wait in the driver as names instead of flooding the cluster with tasks.
PREPARATIONS_IN_FLIGHT = 8
#: CPUs a preparation task reserves: it is mostly storage I/O and runs beside the engine
#: actors, as a write task does.
PREPARATION_CPUS = 0.25


class IncompleteShard(Exception):
    """The parts of a shard do not hold each of its rows exactly once; nothing was committed."""


@dataclass(frozen=True)
class PreparedShard:
    """What the reading half of a commit tells the publishing half, small whatever the shard's
    size: whether to publish the merged parts, or why the shard must not be committed."""

    shard: str
    merged: bool = False
    refusal: str | None = None


class RowCheck:
    """Whether a shard's parts hold its rows 0..N-1 exactly once each, learnt from their row
    numbers as the parts stream past, in any order (the rows of a lost batch, asked again, land
    in a part whose range spans other parts'). One byte per row of the shard, in whichever
    process reads the parts; repeated and out-of-range rows, the rare case, are kept as a set."""

    def __init__(self, rows: int) -> None:
        self.rows = rows
        self._seen = np.zeros(rows, dtype=bool)
        self._twice: set[int] = set()
        self._beyond: Counter[int] = Counter()

    def add(self, numbers: pa.Array | pa.ChunkedArray) -> None:
        if isinstance(numbers, pa.ChunkedArray):
            numbers = numbers.combine_chunks()
        values = np.asarray(numbers.to_numpy(zero_copy_only=False), dtype=np.int64)
        inside = (values >= 0) & (values < self.rows)
        if not inside.all():
            self._beyond.update(values[~inside].tolist())
            values = values[inside]
        unique, counts = np.unique(values, return_counts=True)
        self._twice.update(unique[(counts > 1) | self._seen[unique]].tolist())
        self._seen[unique] = True

    def add_table(self, table: pa.Table) -> None:
        self.add(table.column(ROW_COLUMN))

    def problems(self) -> list[str]:
        """What is wrong, each kind with its count and first rows; empty when nothing is."""
        twice = sorted(self._twice | {row for row, times in self._beyond.items() if times > 1})
        missing = np.flatnonzero(~self._seen)
        problems = []
        for label, count, rows in (
            ("twice", len(twice), twice[:SHOWN_ROWS]),
            ("missing", len(missing), missing[:SHOWN_ROWS].tolist()),
            (f"beyond the shard's {self.rows} rows", len(self._beyond), sorted(self._beyond)),
        ):
            if count:
                shown = ", ".join(map(str, rows[:SHOWN_ROWS]))
                more = " ..." if count > SHOWN_ROWS else ""
                problems.append(f"{count} row(s) {label}: {shown}{more}")
        return problems


def commit_shard(
    layout: OutputLayout,
    shard: Shard,
    fingerprint: str,
    tally: Tally,
    expected_rows: int,
    part_bytes: int | None = None,
) -> None:
    """Both halves here, one after the other (`retry-errors`, and the job's commits until it
    has joined Ray). Raises `IncompleteShard` when the parts do not hold the shard's rows."""
    prepared = prepare_shard(layout, shard.name, expected_rows, part_bytes)
    publish_shard(layout, shard, fingerprint, tally, prepared)


def prepare_shard(
    layout: OutputLayout, shard: str, expected_rows: int, part_bytes: int | None = None
) -> PreparedShard:
    """Check the shard's parts and, with `part_bytes`, merge the staged parts of a shard
    published for the first time into parts of about that size (left staged: `publish_shard`
    moves them). Each staged part of a merged shard is read twice, its footer and then its
    data, whose row numbers are checked as they pass; a shard not merged (`retry-errors`
    replacing some parts, which keep their names; a single part; column types that cannot be
    unified) has the row numbers of its parts read. Writes only in the shard's staging."""
    layout.fs.invalidate_cache()  # the parts were written by other processes since
    check = RowCheck(expected_rows)
    merged = None
    if part_bytes and not layout.data_parts(shard):
        merged = layout.stage_merged(shard, expected_rows, part_bytes, check.add_table)
    if merged is None:
        for path in shard_parts(layout, shard):
            with layout.fs.open(path, "rb") as handle:
                check.add(pq.read_table(handle, columns=[ROW_COLUMN]).column(0))
    problems = check.problems()
    if problems:
        layout.drop_merged(shard)
        return PreparedShard(
            shard, refusal=f"shard {shard}: not committed, its parts hold {'; '.join(problems)}"
        )
    return PreparedShard(shard, merged=merged is not None)


def publish_shard(
    layout: OutputLayout, shard: Shard, fingerprint: str, tally: Tally, prepared: PreparedShard
) -> None:
    """Publish a prepared shard: its parts and sidecars moved into place, its metrics and bad
    cases written, its marker last. Raises `IncompleteShard` (nothing touched) for a shard
    its preparation refused."""
    if prepared.refusal is not None:
        raise IncompleteShard(prepared.refusal)
    layout.publish(shard.name, merged=prepared.merged)
    layout.write_json(
        layout.metrics_path(shard.name),
        {"shard": shard.name, "path": shard.path, **tally.to_dict()},
    )
    if tally.evaluation.bad_cases:
        layout.write_jsonl(layout.badcases_path(shard.name), tally.evaluation.bad_cases)
    Manifest(layout).commit(
        shard, fingerprint, {"result_rows": tally.rows, "error_rows": tally.error_rows}
    )


def shard_parts(layout: OutputLayout, shard: str) -> list[str]:
    """The parts the shard will hold once published: its staged parts, and those of `data/`
    no staged part of the same name replaces."""
    parts = {posixpath.basename(path): path for path in layout.data_parts(shard)}
    staged = layout.fs.glob(posixpath.join(layout.staged_data_dir(shard), "*.parquet"))
    parts.update({posixpath.basename(path): path for path in staged})
    return sorted(parts.values())


def covered_rows(layout: OutputLayout, shard: str) -> Counter[int]:
    """How many times each row number stands in the shard's parts (for a shard whose rows
    are not all written: which to ask again)."""
    seen: Counter[int] = Counter()
    for path in shard_parts(layout, shard):
        with layout.fs.open(path, "rb") as handle:
            seen.update(pq.read_table(handle, columns=[ROW_COLUMN]).column(0).to_pylist())
    return seen
