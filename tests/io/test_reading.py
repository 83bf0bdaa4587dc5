"""iter_shard_batches: rows in file order, tagged with their shard and row number."""

import gzip
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ie_batch.io.reading import iter_shard_batches
from ie_batch.io.shards import count_rows, list_shards
from ie_batch.job.columns import READ_ERROR_COLUMN, ROW_COLUMN, SHARD_COLUMN


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
        {"id": "a", "text": "x", SHARD_COLUMN: "news", ROW_COLUMN: 0, READ_ERROR_COLUMN: None},
        {"id": "b", "text": "y", SHARD_COLUMN: "news", ROW_COLUMN: 1, READ_ERROR_COLUMN: None},
    ]


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


def test_stale_bookkeeping_columns_in_the_input_are_replaced(tmp_path):
    path = tmp_path / "again.parquet"
    pq.write_table(pa.table({"text": ["a", "b"], "_shard": ["old", "old"], "_row": [7, 8]}), path)
    rows = _rows(path)
    assert [(r[SHARD_COLUMN], r[ROW_COLUMN]) for r in rows] == [("again", 0), ("again", 1)]


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


def test_a_column_with_mixed_types_is_kept_as_json_text(tmp_path):
    path = _write_lines(tmp_path / "m.jsonl", ['{"meta": 1}', '{"meta": "two"}', '{"meta": null}'])
    assert [r["meta"] for r in _rows(path)] == ["1", '"two"', None]


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
