"""Reading one shard in batches, each row tagged with its shard and row number.

The row number makes ids stable ('<shard>:<row>') and lets the writer and the manifest check that
every input row came out. A JSONL line that is not a JSON object does not stop the shard: it
becomes a row whose `_read_error` says which file and line (`location`) and what was wrong, and that row is
written to the results with its error, like any other row that could not be processed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
from fsspec import AbstractFileSystem

from ie_batch.io.shards import Shard, open_text
from ie_batch.job.columns import READ_ERROR_COLUMN, READ_ERROR_TYPE, ROW_COLUMN, SHARD_COLUMN


def iter_shard_batches(
    fs: AbstractFileSystem, shard: Shard, batch_rows: int = 1024, limit: int | None = None
) -> Iterator[pa.Table]:
    """Tables of at most `batch_rows` rows, in file order, with the bookkeeping columns added."""
    batches = (
        _parquet_batches(fs, shard, batch_rows)
        if shard.format == "parquet"
        else (_jsonl_batches(fs, shard, batch_rows))
    )
    first_row = 0
    for table in batches:
        if limit is not None and first_row + table.num_rows > limit:
            table = table.slice(0, max(0, limit - first_row))
        if table.num_rows == 0:
            return
        yield _tag(table, shard, first_row)
        first_row += table.num_rows
        if limit is not None and first_row >= limit:
            return


def _tag(table: pa.Table, shard: Shard, first_row: int) -> pa.Table:
    count = table.num_rows
    if SHARD_COLUMN in table.column_names or ROW_COLUMN in table.column_names:
        table = table.drop_columns(
            [c for c in (SHARD_COLUMN, ROW_COLUMN) if c in table.column_names]
        )
    table = table.append_column(SHARD_COLUMN, pa.array([shard.name] * count, pa.string()))
    table = table.append_column(
        ROW_COLUMN, pa.array(range(first_row, first_row + count), pa.int64())
    )
    if READ_ERROR_COLUMN not in table.column_names:
        table = table.append_column(READ_ERROR_COLUMN, pa.nulls(count, READ_ERROR_TYPE))
    return table


def _parquet_batches(fs: AbstractFileSystem, shard: Shard, batch_rows: int) -> Iterator[pa.Table]:
    import pyarrow.parquet as pq

    with fs.open(shard.path, "rb") as handle:
        for batch in pq.ParquetFile(handle).iter_batches(batch_size=batch_rows):
            yield pa.Table.from_batches([batch])


def _jsonl_batches(fs: AbstractFileSystem, shard: Shard, batch_rows: int) -> Iterator[pa.Table]:
    rows: list[dict[str, Any]] = []
    with open_text(fs, shard) as handle:
        for line_number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            rows.append(_parse_line(line, shard, line_number))
            if len(rows) >= batch_rows:
                yield _table(rows, shard)
                rows = []
    if rows:
        yield _table(rows, shard)


def _parse_line(line: str, shard: Shard, line_number: int) -> dict[str, Any]:
    where = f"{shard.path}:{line_number}"
    try:
        value = json.loads(line)
    except json.JSONDecodeError as exc:
        reason = f"not valid JSON ({exc.msg} at column {exc.colno})"
        return {READ_ERROR_COLUMN: {"location": where, "reason": reason}}
    if not isinstance(value, dict):
        reason = f"expected a JSON object, got {type(value).__name__}"
        return {READ_ERROR_COLUMN: {"location": where, "reason": reason}}
    return value


def _table(rows: list[dict[str, Any]], shard: Shard) -> pa.Table:
    """Columns are the union of all rows' keys (a key missing from the first row is not lost);
    a column whose type changes from row to row (a number here, a string there) is kept as JSON
    text rather than failing the batch."""
    columns: dict[str, None] = {}
    for row in rows:
        columns.update(dict.fromkeys(row))
    arrays = {}
    for key in columns:
        values = [row.get(key) for row in rows]
        if key == READ_ERROR_COLUMN:
            arrays[key] = pa.array(values, READ_ERROR_TYPE)
            continue
        try:
            arrays[key] = pa.array(values)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            arrays[key] = pa.array(
                [None if v is None else json.dumps(v, ensure_ascii=False) for v in values],
                pa.string(),
            )
    return pa.table(arrays)
