"""The row format between the job's stages: bookkeeping column names, ids and pass-through.

A row read from a shard carries `_shard` and `_row` (its shard and 0-based row number),
`_read_error` (why it could not be read, or null) and `_shard_rows` (on the rows of the shard's
last block, the shard's row count, so the driver learns it without reading the file itself; null
on every other row). The extraction stage adds the result columns, `_errors` (the row's errors
as typed records) and `_seconds` (its share of the batch's wall time); the write stage drops
`_shard_rows`, `_errors` and `_seconds` before a part is written.
"""

from __future__ import annotations

import hashlib
from typing import Any

import pyarrow as pa

from ie_batch.io.result_schema import RESULT_COLUMNS
from ie_batch.metrics.gold import GOLD_COLUMNS

SHARD_COLUMN = "_shard"
ROW_COLUMN = "_row"
READ_ERROR_COLUMN = "_read_error"
ERRORS_COLUMN = "_errors"
SECONDS_COLUMN = "_seconds"
SHARD_ROWS_COLUMN = "_shard_rows"
#: Columns that exist only between stages, never in a written part.
STAGE_COLUMNS = (ERRORS_COLUMN, SECONDS_COLUMN, SHARD_ROWS_COLUMN)
#: Columns the reader adds; input columns of these names are kept as `input_<name>`.
BOOKKEEPING_COLUMNS = (SHARD_COLUMN, ROW_COLUMN, READ_ERROR_COLUMN, *STAGE_COLUMNS)

#: Why a row could not be read: where (file and line, or shard and row) and what was wrong.
READ_ERROR_TYPE = pa.struct([("location", pa.string()), ("reason", pa.string())])

GOLD_NAMES = frozenset(name for names in GOLD_COLUMNS.values() for name in names)


def kept_name(name: str, taken: list[str] | tuple[str, ...]) -> str:
    """The name an input column keeps when its own belongs to the job: `input_<name>` (with
    more `input_` until it is free among `taken` and the job's own columns)."""
    reserved = {*BOOKKEEPING_COLUMNS, *RESULT_COLUMNS}
    kept = f"input_{name}"
    while kept in taken or kept in reserved:
        kept = f"input_{kept}"
    return kept


def row_id(row: dict[str, Any], id_column: str) -> str:
    """The row's own id, else '<shard>:<row>' (stable across reruns), else a hash of its text."""
    value = row.get(id_column)
    if value is not None and value != "":
        return str(value)
    if row.get(SHARD_COLUMN) is not None and row.get(ROW_COLUMN) is not None:
        return f"{row[SHARD_COLUMN]}:{row[ROW_COLUMN]}"
    digest = hashlib.sha256(repr(sorted(row.items())).encode("utf-8")).hexdigest()
    return digest[:16]


def passthrough(batch: pa.Table, id_column: str) -> pa.Table:
    """The input columns that go to the output: gold renamed `gold_<name>`, the id column moved
    to `id`, and columns named like the job's own kept as `input_<name>` (never dropped, never
    taken for the job's)."""
    given = batch.column_names
    names: list[str | None] = []
    for name in given:
        if name == READ_ERROR_COLUMN or name == id_column:
            names.append(None)  # the reader's; the id becomes the `id` result column
        elif name in GOLD_NAMES:
            names.append(f"gold_{name}")
        elif name in RESULT_COLUMNS or name.startswith("gold_") and name[5:] in GOLD_NAMES:
            names.append(kept_name(name, given))
        else:
            names.append(name)
    keep = [i for i, name in enumerate(names) if name is not None]
    table = batch.select(keep)
    return table.rename_columns([names[i] for i in keep])


def input_row(result_row: dict[str, Any], id_column: str) -> dict[str, Any]:
    """The input row a result row was made from: result columns dropped, gold renamed back."""
    row: dict[str, Any] = {}
    for name, value in result_row.items():
        if name == "id":
            row[id_column] = value
        elif name in RESULT_COLUMNS or name in STAGE_COLUMNS:
            continue
        elif name.startswith("gold_") and name[5:] in GOLD_NAMES:
            row[name[5:]] = value
        else:
            row[name] = value
    return row
