"""Reading one shard in batches, each row tagged with its shard and row number.

The row number makes ids stable ('<shard>:<row>') and lets the commit check that every input row
came out. A value that cannot be read costs its row only: a JSONL line that is not valid UTF-8,
not JSON or not an object, and a value Arrow cannot hold as its column's type (a 23-digit integer,
a lone surrogate, a number among strings, a non-string text) becomes a row whose `_read_error`
says where (`path:line`) and what was wrong, with the column; the other rows keep their values.
A JSONL column's type is the one its first values take in the shard, so it cannot drift from
batch to batch. Input columns named like the job's bookkeeping columns are kept as `input_<name>`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from fsspec import AbstractFileSystem

from ie_batch.io.shards import Shard, iter_lines
from ie_batch.job.columns import (
    BOOKKEEPING_COLUMNS,
    GOLD_NAMES,
    READ_ERROR_COLUMN,
    READ_ERROR_TYPE,
    ROW_COLUMN,
    SHARD_COLUMN,
    SHARD_ROWS_COLUMN,
    kept_name,
)

_INT64 = (-(2**63), 2**63)


def iter_shard_batches(
    fs: AbstractFileSystem,
    shard: Shard,
    batch_rows: int = 1024,
    limit: int | None = None,
    text_column: str = "text",
    only_rows: frozenset[int] | None = None,
) -> Iterator[pa.Table]:
    """Tables of at most `batch_rows` rows, in file order, with the bookkeeping columns added;
    with `only_rows`, just those rows (by row number), still `batch_rows` to a table."""
    tagged = _tagged_batches(fs, shard, batch_rows, limit, text_column)
    if only_rows is None:
        yield from tagged
        return
    wanted = pa.array(sorted(only_rows), pa.int64())
    pending: list[pa.Table] = []
    count = 0
    for table in tagged:
        table = table.filter(pc.is_in(table.column(ROW_COLUMN), value_set=wanted))
        if table.num_rows:
            pending.append(table)
            count += table.num_rows
        while count >= batch_rows:
            merged = pa.concat_tables(pending)
            yield merged.slice(0, batch_rows)
            pending, count = [merged.slice(batch_rows)], count - batch_rows
    if count:
        yield pa.concat_tables(pending)


def _tagged_batches(
    fs: AbstractFileSystem, shard: Shard, batch_rows: int, limit: int | None, text_column: str
) -> Iterator[pa.Table]:
    batches = (
        _parquet_batches(fs, shard, batch_rows)
        if shard.format == "parquet"
        else _jsonl_batches(fs, shard, batch_rows, _ColumnTypes(text_column))
    )
    first_row = 0
    held: pa.Table | None = None  # one block held back, so the last one can carry the count
    for table in batches:
        if limit is not None and first_row + table.num_rows > limit:
            table = table.slice(0, max(0, limit - first_row))
        if table.num_rows == 0:
            break
        if held is not None:
            yield _with_shard_rows(held, None)
        held = _tag(table, shard, first_row)
        first_row += table.num_rows
        if limit is not None and first_row >= limit:
            break
    if held is not None:
        yield _with_shard_rows(held, first_row)


def _with_shard_rows(table: pa.Table, rows: int | None) -> pa.Table:
    return table.append_column(SHARD_ROWS_COLUMN, pa.array([rows] * table.num_rows, pa.int64()))


def _tag(table: pa.Table, shard: Shard, first_row: int) -> pa.Table:
    count = table.num_rows
    table = table.append_column(SHARD_COLUMN, pa.array([shard.name] * count, pa.string()))
    table = table.append_column(
        ROW_COLUMN, pa.array(range(first_row, first_row + count), pa.int64())
    )
    if READ_ERROR_COLUMN not in table.column_names:
        table = table.append_column(READ_ERROR_COLUMN, pa.nulls(count, READ_ERROR_TYPE))
    return table


def _input_names(names: list[str]) -> list[str]:
    """Input column names, those of the job's bookkeeping columns kept under a prefix."""
    return [kept_name(name, names) if name in BOOKKEEPING_COLUMNS else name for name in names]


def _parquet_batches(fs: AbstractFileSystem, shard: Shard, batch_rows: int) -> Iterator[pa.Table]:
    import pyarrow.parquet as pq

    with fs.open(shard.path, "rb") as handle:
        for batch in pq.ParquetFile(handle).iter_batches(batch_size=batch_rows):
            table = pa.Table.from_batches([batch])
            yield table.rename_columns(_input_names(table.column_names))


@dataclass
class _Line:
    """One JSONL line: its values, and what could not be read of it."""

    number: int
    values: dict[str, Any]
    problems: list[str] = field(default_factory=list)


def _jsonl_batches(
    fs: AbstractFileSystem, shard: Shard, batch_rows: int, types: _ColumnTypes
) -> Iterator[pa.Table]:
    lines: list[_Line] = []
    for number, raw in iter_lines(fs, shard):
        lines.append(_parse_line(raw, number))
        if len(lines) >= batch_rows:
            yield _table(lines, shard, types)
            lines = []
    if lines:
        yield _table(lines, shard, types)


def _parse_line(raw: bytes, number: int) -> _Line:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        problem = f"not valid UTF-8 (byte 0x{raw[exc.start]:02x} at column {exc.start + 1})"
        return _Line(number, {}, [problem])
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        return _Line(number, {}, [f"not valid JSON ({exc.msg} at column {exc.colno})"])
    if not isinstance(value, dict):
        return _Line(number, {}, [f"expected a JSON object, got {type(value).__name__}"])
    return _Line(number, value)


class _ColumnTypes:
    """The Arrow type of each column of one JSONL shard, fixed by the first values that set it;
    the text column is a string column whatever its values."""

    def __init__(self, text_column: str) -> None:
        self.types: dict[str, pa.DataType] = {text_column: pa.string()}
        self.as_json: set[str] = set()  # columns Parquet cannot hold as they are (empty structs)

    def array(self, column: str, values: list[Any]) -> tuple[pa.Array, dict[int, str]]:
        """`values` as the column's array, and why each value that cannot be held could not
        (those become nulls)."""
        if column in GOLD_NAMES:
            return _gold_array(values), {}
        kind = self.types.get(column) or self._settle(column, values)
        if kind is None:  # no value Arrow can hold yet: nulls, and why for any other value
            problems = {i: _problem(column, v, None) for i, v in enumerate(values) if v is not None}
            return pa.nulls(len(values)), problems
        if column in self.as_json:
            values = [None if v is None else json.dumps(v, ensure_ascii=False) for v in values]
        return _cast(column, values, kind)

    def _settle(self, column: str, values: list[Any]) -> pa.DataType | None:
        try:
            kind = pa.array(values).type
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError, UnicodeEncodeError):
            kind = next((k for k in map(_value_type, values) if k is not None), pa.null())
        if pa.types.is_null(kind):
            return None
        if _has_empty_struct(kind):
            self.as_json.add(column)
            kind = pa.string()
        self.types[column] = kind
        return kind


def _value_type(value: Any) -> pa.DataType | None:
    """The type Arrow gives one value, or None when it cannot hold it (or it is null)."""
    if value is None:
        return None
    try:
        return pa.array([value]).type
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError, UnicodeEncodeError):
        return None


def _cast(column: str, values: list[Any], kind: pa.DataType) -> tuple[pa.Array, dict[int, str]]:
    try:
        return pa.array(values, type=kind), {}
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError, UnicodeEncodeError):
        pass
    problems: dict[int, str] = {}
    kept: list[Any] = []
    for index, value in enumerate(values):
        problem = value is not None and _problem(column, value, kind)
        if problem:
            problems[index] = problem
            kept.append(None)
        else:
            kept.append(value)
    return pa.array(kept, type=kind), problems


def _problem(column: str, value: Any, kind: pa.DataType | None) -> str | None:
    """Why `value` cannot be held as `kind` (as anything, for None), or None when it can."""
    try:
        pa.array([value], type=kind)
        return None
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError, UnicodeEncodeError) as exc:
        error = exc
    if (
        isinstance(value, int)
        and not isinstance(value, bool)
        and not _INT64[0] <= value < _INT64[1]
    ):
        return f"column {column!r}: {value} is out of range for int64"
    if isinstance(value, str):
        surrogate = next((ch for ch in value if 0xD800 <= ord(ch) <= 0xDFFF), None)
        if surrogate is not None:
            return f"column {column!r}: a lone surrogate (\\u{ord(surrogate):04x}) is not text"
    own = _value_type(value)
    if own is not None and kind is not None and own != kind:
        return f"column {column!r}: a {type(value).__name__}, where the column holds {kind}"
    return f"column {column!r}: cannot be held ({type(error).__name__}: {error})"


def _gold_array(values: list[Any]) -> pa.Array:
    """Gold columns as they are, or as JSON text when their values take no single type (the
    gold readers parse JSON text, so nothing is lost)."""
    try:
        array = pa.array(values)
        if not _has_empty_struct(array.type):
            return array
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError, UnicodeEncodeError):
        pass
    return pa.array(
        [None if v is None else json.dumps(v, ensure_ascii=False) for v in values], pa.string()
    )


def _has_empty_struct(kind: pa.DataType) -> bool:
    if pa.types.is_struct(kind):
        return kind.num_fields == 0 or any(_has_empty_struct(f.type) for f in kind)
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        return _has_empty_struct(kind.value_type)
    return False


def _table(lines: list[_Line], shard: Shard, types: _ColumnTypes) -> pa.Table:
    """Columns are the union of all lines' keys (a key missing from the first line is not
    lost), each converted as `types` says; values that cannot be held become row errors."""
    columns: dict[str, None] = {}
    for line in lines:
        columns.update(dict.fromkeys(line.values))
    names = _input_names(list(columns))
    arrays = {}
    for key, name in zip(columns, names, strict=True):
        array, problems = types.array(name, [line.values.get(key) for line in lines])
        for index, problem in problems.items():
            lines[index].problems.append(problem)
        arrays[name] = array
    errors = [
        {"location": f"{shard.path}:{line.number}", "reason": "; ".join(line.problems)}
        if line.problems
        else None
        for line in lines
    ]
    arrays[READ_ERROR_COLUMN] = pa.array(errors, READ_ERROR_TYPE)
    return pa.table(arrays)
