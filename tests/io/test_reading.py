"""iter_shard_batches: rows in file order, tagged with their shard and row number."""

import gzip
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ie_batch.io.reading import iter_shard_batches
from ie_batch.io.shards import count_rows, list_shards
from ie_batch.job.columns import READ_ERROR_COLUMN, ROW_COLUMN, SHARD_COLUMN, SHARD_ROWS_COLUMN


def _shard(path):
    listing = list_shards([str(path)])
    fs, (shard,) = listing.fs, listing.shards
    return fs, shard


def _rows(path, **kwargs):
    fs, shard = _shard(path)
    return [row for table in iter_shard_batches(fs, shard, **kwargs) for row in table.to_pylist()]


def _write_lines(path, lines):
    text = "\n".join(lines) + "\n"
    if path.name.endswith(".gz"):
        path.write_bytes(gzip.compress(text.encode("utf-8")))
    else:
        path.write_text(text, encoding="utf-8")
    return path


def test_rows_are_tagged_with_shard_row_and_no_read_error(tmp_path):
    path = _write_lines(
        tmp_path / "news.jsonl", ['{"id": "a", "text": "x"}', '{"id": "b", "text": "y"}']
    )
    assert _rows(path) == [
        {"id": "a", "text": "x", SHARD_COLUMN: "news", ROW_COLUMN: 0, READ_ERROR_COLUMN: None}
        | {SHARD_ROWS_COLUMN: 2},
        {"id": "b", "text": "y", SHARD_COLUMN: "news", ROW_COLUMN: 1, READ_ERROR_COLUMN: None}
        | {SHARD_ROWS_COLUMN: 2},
    ]


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_only_the_last_block_carries_the_shards_row_count(tmp_path, fmt):
    rows = [{"id": str(i), "text": f"t{i}"} for i in range(5)]
    if fmt == "parquet":
        path = tmp_path / "s.parquet"
        pq.write_table(pa.Table.from_pylist(rows), path)
    else:
        path = _write_lines(tmp_path / "s.jsonl", [json.dumps(r) for r in rows])
    fs, shard = _shard(path)

    def counts(**kwargs):
        return [
            table.column(SHARD_ROWS_COLUMN).to_pylist()
            for table in iter_shard_batches(fs, shard, batch_rows=2, **kwargs)
        ]

    assert counts() == [[None, None], [None, None], [5]]
    assert counts(limit=3) == [[None, None], [3]]  # a trial run's shard ends at its limit
    assert counts(only_rows=frozenset({0, 4})) == [[None, 5]]


def test_row_numbers_are_contiguous_across_batches(tmp_path):
    path = _write_lines(tmp_path / "n.jsonl", [json.dumps({"i": i}) for i in range(10)])
    fs, shard = _shard(path)
    tables = list(iter_shard_batches(fs, shard, batch_rows=3))
    assert [t.num_rows for t in tables] == [3, 3, 3, 1]
    rows = [row for t in tables for row in t.to_pylist()]
    assert [r[ROW_COLUMN] for r in rows] == list(range(10))
    assert [r["i"] for r in rows] == list(range(10))
    assert all(t.schema.field(ROW_COLUMN).type == pa.int64() for t in tables)


def test_parquet_rows_are_tagged_and_contiguous(tmp_path):
    path = tmp_path / "p.parquet"
    pq.write_table(pa.table({"id": list(range(7)), "text": [f"t{i}" for i in range(7)]}), path)
    fs, shard = _shard(path)
    tables = list(iter_shard_batches(fs, shard, batch_rows=3))
    rows = [row for t in tables for row in t.to_pylist()]
    assert [r[ROW_COLUMN] for r in rows] == list(range(7))
    assert {r[SHARD_COLUMN] for r in rows} == {"p"}
    assert [r["text"] for r in rows] == [f"t{i}" for i in range(7)]
    assert all(r[READ_ERROR_COLUMN] is None for r in rows)


def test_input_columns_named_like_bookkeeping_columns_are_kept_under_a_prefix(tmp_path):
    path = tmp_path / "again.parquet"
    pq.write_table(pa.table({"text": ["a", "b"], "_shard": ["old", "old"], "_row": [7, 8]}), path)
    rows = _rows(path)
    assert [(r[SHARD_COLUMN], r[ROW_COLUMN]) for r in rows] == [("again", 0), ("again", 1)]
    assert [(r["input__shard"], r["input__row"]) for r in rows] == [("old", 7), ("old", 8)]
    jsonl = _write_lines(tmp_path / "j.jsonl", ['{"text": "a", "_read_error": "mine"}'])
    (row,) = _rows(jsonl)
    assert row[READ_ERROR_COLUMN] is None and row["input__read_error"] == "mine"


def test_gzipped_jsonl_is_read(tmp_path):
    path = _write_lines(tmp_path / "z.jsonl.gz", ['{"text": "x"}', "", '{"text": "y"}'])
    rows = _rows(path)
    assert [(r["text"], r[ROW_COLUMN], r[SHARD_COLUMN]) for r in rows] == [
        ("x", 0, "z"),
        ("y", 1, "z"),
    ]


def test_blank_lines_are_skipped_and_row_count_matches_count_rows(tmp_path):
    path = _write_lines(tmp_path / "b.jsonl", ['{"i": 0}', "", "   ", '{"i": 1}', "oops", ""])
    rows = _rows(path)
    assert [r[ROW_COLUMN] for r in rows] == [0, 1, 2]
    fs, shard = _shard(path)
    assert count_rows(fs, shard) == len(rows)


def test_invalid_json_line_becomes_an_error_row_naming_file_and_line(tmp_path):
    path = _write_lines(
        tmp_path / "bad.jsonl", ['{"id": 1, "text": "ok"}', "", '{"id": 2, "text": ']
    )
    first, second = _rows(path)
    assert first[READ_ERROR_COLUMN] is None
    assert second[ROW_COLUMN] == 1
    assert second["id"] is None and second["text"] is None
    error = second[READ_ERROR_COLUMN]
    assert error["location"] == f"{path}:3"
    assert error["reason"].startswith("not valid JSON")


def test_non_object_line_becomes_an_error_row_naming_file_and_line(tmp_path):
    path = _write_lines(tmp_path / "list.jsonl", ['{"text": "a"}', "[1, 2]", '"just a string"'])
    rows = _rows(path)
    assert [r[ROW_COLUMN] for r in rows] == [0, 1, 2]
    assert rows[1][READ_ERROR_COLUMN] == {
        "location": f"{path}:2",
        "reason": "expected a JSON object, got list",
    }
    assert rows[2][READ_ERROR_COLUMN] == {
        "location": f"{path}:3",
        "reason": "expected a JSON object, got str",
    }


def test_a_batch_of_only_bad_lines_still_gives_tagged_rows(tmp_path):
    path = _write_lines(tmp_path / "junk.jsonl", ["nope", "42"])
    rows = _rows(path)
    assert [(r[ROW_COLUMN], r[SHARD_COLUMN]) for r in rows] == [(0, "junk"), (1, "junk")]
    assert all(r[READ_ERROR_COLUMN] for r in rows)


def test_a_key_absent_from_the_first_row_is_kept(tmp_path):
    path = _write_lines(
        tmp_path / "k.jsonl", ['{"text": "a"}', '{"text": "b", "label": "sports"}', '{"text": "c"}']
    )
    assert [r.get("label", "MISSING") for r in _rows(path)] == [None, "sports", None]


def test_a_value_of_another_type_than_its_column_is_an_error_on_its_row_only(tmp_path):
    path = _write_lines(
        tmp_path / "m.jsonl",
        ['{"text": "a", "meta": 1}', '{"text": "b", "meta": "two"}', '{"text": "c", "meta": null}'],
    )
    rows = _rows(path)
    assert [r["meta"] for r in rows] == [1, None, None]
    assert [r["text"] for r in rows] == ["a", "b", "c"]  # the other rows are untouched
    assert rows[0][READ_ERROR_COLUMN] is None and rows[2][READ_ERROR_COLUMN] is None
    assert rows[1][READ_ERROR_COLUMN] == {
        "location": f"{path}:2",
        "reason": "column 'meta': a str, where the column holds int64",
    }


def test_one_int_in_a_text_column_leaves_every_other_text_as_it_was(tmp_path):
    path = _write_lines(tmp_path / "t.jsonl", ['{"text": "a"}', '{"text": 5}', '{"text": "c"}'])
    rows = _rows(path)
    assert [r["text"] for r in rows] == ["a", None, "c"]
    assert (
        rows[1][READ_ERROR_COLUMN]["reason"]
        == "column 'text': a int, where the column holds string"
    )


def test_a_column_whose_type_drifts_between_batches_keeps_one_type_per_shard(tmp_path):
    lines = ['{"text": "a", "n": 1}', '{"text": "b", "n": 2}', '{"text": "c", "n": "x"}']
    path = _write_lines(tmp_path / "d.jsonl", lines)
    fs, shard = _shard(path)
    tables = list(iter_shard_batches(fs, shard, batch_rows=2))
    assert len({t.schema.field("n").type for t in tables}) == 1
    rows = [row for t in tables for row in t.to_pylist()]
    assert [r["n"] for r in rows] == [1, 2, None]
    assert rows[2][READ_ERROR_COLUMN]["location"] == f"{path}:3"


def test_a_whole_batch_of_nulls_takes_the_shards_type_later(tmp_path):
    lines = ['{"text": "a", "n": null}', '{"text": "b", "n": 5}']
    fs, shard = _shard(_write_lines(tmp_path / "n.jsonl", lines))
    tables = list(iter_shard_batches(fs, shard, batch_rows=1))
    assert [r["n"] for t in tables for r in t.to_pylist()] == [None, 5]


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (
            '{"text": "a", "n": 12345678901234567890123}',
            "column 'n': 12345678901234567890123 is out of range for int64",
        ),
        (
            '{"text": "bad \\ud800 surrogate"}',
            "column 'text': a lone surrogate (\\ud800) is not text",
        ),
    ],
)
def test_a_value_arrow_cannot_hold_is_an_error_on_its_row(tmp_path, line, reason):
    path = _write_lines(tmp_path / "v.jsonl", ['{"text": "ok", "n": 1}', line])
    first, bad = _rows(path)
    assert first[READ_ERROR_COLUMN] is None and first["text"] == "ok"
    assert bad[READ_ERROR_COLUMN] == {"location": f"{path}:2", "reason": reason}


def test_invalid_utf8_is_an_error_on_its_line_never_replacement_characters(tmp_path):
    path = tmp_path / "u.jsonl"
    path.write_bytes(b'{"text": "fine"}\n{"text": "caf\xe9"}\n{"text": "also fine"}\n')
    rows = _rows(path)
    assert [r["text"] for r in rows] == ["fine", None, "also fine"]
    error = rows[1][READ_ERROR_COLUMN]
    assert error["location"] == f"{path}:2"
    assert error["reason"].startswith("not valid UTF-8 (byte 0xe9 at column 14)")
    fs, shard = _shard(path)
    assert count_rows(fs, shard) == 3


def test_an_empty_struct_column_is_kept_as_json_text(tmp_path):
    path = _write_lines(
        tmp_path / "e.jsonl", ['{"text": "a", "meta": {}}', '{"text": "b", "meta": {}}']
    )
    fs, shard = _shard(path)
    (table,) = list(iter_shard_batches(fs, shard))
    assert table.schema.field("meta").type == pa.string()
    assert [r["meta"] for r in table.to_pylist()] == ["{}", "{}"]
    pq.write_table(table, tmp_path / "written.parquet")  # Parquet can hold it


def test_nested_values_pass_through(tmp_path):
    row = {"text": "x", "entities": [{"type": "person", "text": "Tim"}], "meta": {"src": "a"}}
    path = _write_lines(tmp_path / "n.jsonl", [json.dumps(row)])
    (read,) = _rows(path)
    assert read["entities"] == row["entities"] and read["meta"] == row["meta"]


@pytest.mark.parametrize("batch_rows", [1, 2, 3, 100])
def test_limit_is_respected_across_batches(tmp_path, batch_rows):
    path = _write_lines(tmp_path / "l.jsonl", [json.dumps({"i": i}) for i in range(10)])
    rows = _rows(path, batch_rows=batch_rows, limit=4)
    assert [r["i"] for r in rows] == [0, 1, 2, 3]
    assert [r[ROW_COLUMN] for r in rows] == [0, 1, 2, 3]


def test_limit_on_parquet_and_limit_above_the_row_count(tmp_path):
    path = tmp_path / "p.parquet"
    pq.write_table(pa.table({"i": list(range(6))}), path)
    assert [r["i"] for r in _rows(path, batch_rows=4, limit=5)] == [0, 1, 2, 3, 4]
    assert len(_rows(path, limit=100)) == 6


def test_an_empty_shard_yields_no_batches(tmp_path):
    path = tmp_path / "empty.jsonl"
    path.write_text("\n\n", encoding="utf-8")
    assert _rows(path) == []


def test_a_byte_order_mark_does_not_spoil_the_first_row(tmp_path):
    path = tmp_path / "bom.jsonl"
    path.write_bytes(b'\xef\xbb\xbf{"id": 1, "text": "x"}\n{"id": 2, "text": "y"}\n')
    rows = _rows(path)
    assert [(r.get("id"), r[READ_ERROR_COLUMN]) for r in rows] == [(1, None), (2, None)]


def test_reading_a_gzipped_shard_closes_the_file(tmp_path, monkeypatch):
    path = _write_lines(tmp_path / "z.jsonl.gz", ['{"text": "x"}'])
    fs, shard = _shard(path)
    opened = []
    real_open = fs.open

    def recording_open(*args, **kwargs):
        handle = real_open(*args, **kwargs)
        opened.append(handle)
        return handle

    monkeypatch.setattr(fs, "open", recording_open)
    assert count_rows(fs, shard) == 1
    assert len(list(iter_shard_batches(fs, shard))) == 1
    assert len(opened) == 2
    assert all(handle.closed for handle in opened)


def test_a_json_file_is_not_taken_for_a_jsonl_shard(tmp_path):
    (tmp_path / "rows.json").write_text(json.dumps([{"id": 1, "text": "x"}]), encoding="utf-8")
    (tmp_path / "rows.jsonl").write_text('{"id": 2, "text": "y"}\n', encoding="utf-8")
    shards = list_shards([str(tmp_path)]).shards
    assert [shard.name for shard in shards] == ["rows"]
    assert shards[0].path.endswith("rows.jsonl")


def test_a_value_in_a_column_of_nulls_so_far_is_not_lost_silently(tmp_path):
    lines = ['{"text": "a"}', '{"text": "b", "big": 123456789012345678901234}']
    rows = _rows(_write_lines(tmp_path / "b.jsonl", lines))
    assert rows[0][READ_ERROR_COLUMN] is None
    assert rows[1][READ_ERROR_COLUMN]["reason"] == (
        "column 'big': 123456789012345678901234 is out of range for int64"
    )


@pytest.mark.parametrize("batch_rows", [1, 2, 3])
def test_only_some_rows_are_read_in_batches_of_the_size_asked(tmp_path, batch_rows):
    path = _write_lines(tmp_path / "s.jsonl", [f'{{"text": "t{i}"}}' for i in range(9)])
    fs, shard = _shard(path)
    tables = list(iter_shard_batches(fs, shard, batch_rows, only_rows=frozenset({1, 4, 5, 8})))
    assert [r[ROW_COLUMN] for t in tables for r in t.to_pylist()] == [1, 4, 5, 8]
    assert all(t.num_rows <= batch_rows for t in tables)
    assert [r["text"] for t in tables for r in t.to_pylist()] == ["t1", "t4", "t5", "t8"]
