"""Fewer, larger files per shard: the staged parts (one per write batch, often a few rows each)
are merged at publish into parts of about a target size, as a lake's readers want them.

A shard's staged parts are named by the rows they hold (`part-<first>-<last>`), so consecutive
parts are grouped in row order until a group's staged bytes reach the target, and each group is
written as one part named by its first and last rows. Merging streams one staged part at a time
into a Parquet writer, so memory stays at one part whatever the shard's size. Parts whose column
types cannot be unified are published as they are.
"""

from __future__ import annotations

import posixpath
from collections.abc import Sequence

import pyarrow as pa
import pyarrow.parquet as pq
from fsspec import AbstractFileSystem

from ie_batch.io.writing import part_name


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


def unified_schema(fs: AbstractFileSystem, paths: Sequence[str]) -> pa.Schema | None:
    """One schema every part can be cast to (a column null in one batch takes the type it has in
    the others), or None when two parts disagree on a column's type."""
    schemas = []
    for path in paths:
        with fs.open(path, "rb") as handle:
            schemas.append(pq.read_schema(handle))
    try:
        return pa.unify_schemas(schemas, promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None


def merge_parquet(
    fs: AbstractFileSystem, sources: Sequence[str], destination: str, schema: pa.Schema
) -> None:
    """Write `sources` (in order) as one Parquet file, one source in memory at a time."""
    fs.makedirs(posixpath.dirname(destination), exist_ok=True)
    with fs.open(destination, "wb") as out, pq.ParquetWriter(out, schema) as writer:
        for path in sources:
            with fs.open(path, "rb") as handle:
                table = pq.read_table(handle)
            writer.write_table(_conform(table, schema))


def merge_lines(fs: AbstractFileSystem, sources: Sequence[str], destination: str) -> None:
    """Concatenate JSON Lines files (error sidecars) into one."""
    fs.makedirs(posixpath.dirname(destination), exist_ok=True)
    with fs.open(destination, "wb") as out:
        for path in sources:
            with fs.open(path, "rb") as handle:
                while chunk := handle.read(1 << 20):
                    out.write(chunk)


def _conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    columns = [
        table.column(field.name).cast(field.type)
        if field.name in table.column_names
        else pa.nulls(table.num_rows, field.type)
        for field in schema
    ]
    return pa.Table.from_arrays(columns, schema=schema)
