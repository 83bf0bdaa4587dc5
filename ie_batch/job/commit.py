"""THE shard commit, used by `run` and by `retry-errors` alike.

A shard is committed once all its rows are staged. The commit first reads the row numbers of the
parts the shard will hold (its staged parts, over any of the same name in `data/`) and refuses
unless they are 0..N-1, each exactly once: counts in summaries can be repeated (a retried write
task) or stale, files are what readers get. Then the staged parts and error sidecars move into
`data/` and `errors/`, the metrics and bad cases are written, and the marker goes last, so a
crash at any point leaves the shard uncommitted, never half committed.
"""

from __future__ import annotations

import posixpath
from collections import Counter

import pyarrow.parquet as pq

from ie_batch.io.layout import OutputLayout
from ie_batch.io.manifest import Manifest
from ie_batch.io.shards import Shard
from ie_batch.job.columns import ROW_COLUMN
from ie_batch.job.tally import Tally

#: Row numbers a refusal lists at most.
SHOWN_ROWS = 5


class IncompleteShard(Exception):
    """The parts of a shard do not hold each of its rows exactly once; nothing was committed."""


def commit_shard(
    layout: OutputLayout,
    shard: Shard,
    fingerprint: str,
    tally: Tally,
    expected_rows: int,
    part_bytes: int | None = None,
) -> None:
    verify_parts(layout, shard.name, expected_rows)
    layout.publish(shard.name, part_bytes)
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
    """How many times each row number stands in the shard's parts."""
    seen: Counter[int] = Counter()
    for path in shard_parts(layout, shard):
        with layout.fs.open(path, "rb") as handle:
            seen.update(pq.read_table(handle, columns=[ROW_COLUMN]).column(0).to_pylist())
    return seen


def verify_parts(layout: OutputLayout, shard: str, expected_rows: int) -> None:
    """Raise `IncompleteShard` unless the shard's parts, once published, hold rows
    0..expected_rows-1 exactly once each."""
    seen = covered_rows(layout, shard)
    problems = []
    twice = sorted(row for row, times in seen.items() if times > 1)
    missing = sorted(set(range(expected_rows)) - set(seen))
    beyond = sorted(row for row in seen if not 0 <= row < expected_rows)
    for label, rows in (
        ("twice", twice),
        ("missing", missing),
        (f"beyond the shard's {expected_rows} rows", beyond),
    ):
        if rows:
            shown = ", ".join(map(str, rows[:SHOWN_ROWS])) + (
                " ..." if len(rows) > SHOWN_ROWS else ""
            )
            problems.append(f"{len(rows)} row(s) {label}: {shown}")
    if problems:
        raise IncompleteShard(f"shard {shard}: not committed, its parts hold {'; '.join(problems)}")
