"""Fewer, larger files per shard: the staged parts (one per write batch, often a few rows each)
are merged into parts of about a target size, as a lake's readers want them.

A shard's staged parts are named by the rows they hold (`part-<first>-<last>`), so consecutive
parts are grouped in row order until a group's staged bytes reach the target, and each group is
written as one part named by its first and last rows. Each staged part is read twice at most:
its footer (schema and row count, before anything is written, since a Parquet writer needs the
one schema every part can be cast to up front), then its data, handed to the caller (which
checks its row numbers) and to a writer that gathers the small batches into row groups of a
bounded size. Memory stays at one row group plus one staged part whatever the shard's size.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import BinaryIO

import pyarrow as pa
import pyarrow.parquet as pq
from fsspec import AbstractFileSystem

from ie_batch.io.writing import part_name

#: Arrow bytes a merged part's row group gathers in memory before it is written: a part merged
#: from thousands of write batches would otherwise carry thousands of tiny row groups, which
#: every reader pays for in footer size and per-group reads.
ROW_GROUP_BYTES = 32 * 1024 * 1024


def part_rows(path: str) -> tuple[int, int]:
    """The (first, last) row numbers a part's name says it holds."""
    stem = posixpath.basename(path).split(".", 1)[0]
    _, first, last = stem.split("-")
    return int(first), int(last)


def group_parts(sizes: Sequence[tuple[str, int]], target_bytes: int) -> list[list[str]]:
    """Consecutive parts (in row order) grouped until each group's bytes reach `target_bytes`."""
    groups: list[list[str]] = []
    current: list[str] = []
    current_bytes = 0
    for path, size in sorted(sizes, key=lambda item: part_rows(item[0])):
        if current and current_bytes + size > target_bytes:
            groups.append(current)
            current, current_bytes = [], 0
        current.append(path)
        current_bytes += size
    if current:
        groups.append(current)
    return groups


def group_name(group: Sequence[str]) -> str:
    return part_name(part_rows(group[0])[0], part_rows(group[-1])[1])


@dataclass(frozen=True)
class Footers:
    """What the footers of a shard's staged parts say, read once each: the schema every part
    can be cast to (None when two parts disagree on a column's type) and the rows they hold."""

    schema: pa.Schema | None
    rows: int


def read_footers(fs: AbstractFileSystem, paths: Sequence[str]) -> Footers:
    """The parts' unified schema (a column null in one batch takes the type it has in the
    others) and their summed row count, one footer in memory at a time."""
    schema: pa.Schema | None = None
    rows = 0
    unifiable = True
    for path in paths:
        with fs.open(path, "rb") as handle:
            footer = pq.ParquetFile(handle)
            rows += footer.metadata.num_rows
            part_schema = footer.schema_arrow
        if not unifiable:
            continue
        try:
            schema = (
                part_schema
                if schema is None
                else pa.unify_schemas([schema, part_schema], promote_options="permissive")
            )
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            unifiable, schema = False, None
    return Footers(schema if unifiable else None, rows)


class RowGroupWriter:
    """A Parquet writer over an open file that gathers the small tables it is given into row
    groups of about `row_group_bytes` (Arrow bytes in memory), each table cast to `schema`."""

    def __init__(
        self, handle: BinaryIO, schema: pa.Schema, row_group_bytes: int = ROW_GROUP_BYTES
    ) -> None:
        self.schema = schema
        self.row_group_bytes = row_group_bytes
        self._writer = pq.ParquetWriter(handle, schema)
        self._pending: list[pa.Table] = []
        self._pending_bytes = 0

    def write(self, table: pa.Table) -> None:
        self._pending.append(conform(table, self.schema))
        self._pending_bytes += table.nbytes
        if self._pending_bytes >= self.row_group_bytes:
            self._flush()

    def close(self) -> None:
        self._flush()
        self._writer.close()

    def _flush(self) -> None:
        if self._pending:
            self._writer.write_table(pa.concat_tables(self._pending))
        self._pending, self._pending_bytes = [], 0

    def __enter__(self) -> RowGroupWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def merge_parquet(
    fs: AbstractFileSystem,
    sources: Sequence[str],
    destination: str,
    schema: pa.Schema,
    observe: Callable[[pa.Table], None],
    row_group_bytes: int = ROW_GROUP_BYTES,
) -> int:
    """Write `sources` (in order) as one Parquet file, one source in memory at a time, each
    source's table handed to `observe` as it is read (the one read of its data); returns the
    rows written."""
    fs.makedirs(posixpath.dirname(destination), exist_ok=True)
    rows = 0
    with (
        fs.open(destination, "wb") as out,
        RowGroupWriter(out, schema, row_group_bytes) as writer,
    ):
        for path in sources:
            with fs.open(path, "rb") as handle:
                table = pq.read_table(handle)
            observe(table)
            writer.write(table)
            rows += table.num_rows
    return rows


def merge_lines(fs: AbstractFileSystem, sources: Sequence[str], destination: str) -> None:
    """Concatenate JSON Lines files (error sidecars) into one."""
    fs.makedirs(posixpath.dirname(destination), exist_ok=True)
    with fs.open(destination, "wb") as out:
        for path in sources:
            with fs.open(path, "rb") as handle:
                while chunk := handle.read(1 << 20):
                    out.write(chunk)


def conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """`table` with `schema`'s columns in its order and types (nulls for a column it lacks)."""
    columns = [
        table.column(field.name).cast(field.type)
        if field.name in table.column_names
        else pa.nulls(table.num_rows, field.type)
        for field in schema
    ]
    return pa.Table.from_arrays(columns, schema=schema)
