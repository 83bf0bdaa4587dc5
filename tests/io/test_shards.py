"""list_shards and count_rows on the local filesystem."""

import gzip
import json

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ie_batch.io.shards import ShardError, count_rows, list_shards, shard_format


def _jsonl(path, rows, blank_lines=False):
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps(row) for row in rows]
    text = ("\n\n  \n".join(lines) if blank_lines else "\n".join(lines)) + "\n"
    if path.name.endswith(".gz"):
        path.write_bytes(gzip.compress(text.encode("utf-8")))
    else:
        path.write_text(text, encoding="utf-8")
    return path


def _parquet(path, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows), path)
    return path


@pytest.fixture
def corpus(tmp_path):
    """in/: top.jsonl, a/b.jsonl, a/c.parquet, a/d/e.jsonl.gz, notes.txt, _SUCCESS."""
    root = tmp_path / "in"
    _jsonl(root / "top.jsonl", [{"id": 1, "text": "x"}])
    _jsonl(root / "a" / "b.jsonl", [{"id": 2, "text": "y"}, {"id": 3, "text": "z"}])
    _parquet(root / "a" / "c.parquet", [{"id": i, "text": str(i)} for i in range(5)])
    _jsonl(root / "a" / "d" / "e.jsonl.gz", [{"id": 9, "text": "q"}])
    (root / "notes.txt").write_text("not a shard", encoding="utf-8")
    (root / "_SUCCESS").write_text("", encoding="utf-8")
    return root


def _names(paths):
    _, shards = list_shards([str(p) for p in paths])
    return [shard.name for shard in shards]


def test_a_folder_lists_every_shard_sorted_with_nested_names(corpus):
    fs, shards = list_shards([str(corpus)])
    assert isinstance(fs, fsspec.implementations.local.LocalFileSystem)
    assert [(s.name, s.format) for s in shards] == [
        ("a__b", "jsonl"),
        ("a__c", "parquet"),
        ("a__d__e", "jsonl"),
        ("top", "jsonl"),
    ]
    assert [s.path for s in shards] == sorted(s.path for s in shards)
    assert all(s.path.startswith(str(corpus)) for s in shards)


def test_unknown_suffixes_are_ignored(corpus):
    names = _names([corpus])
    assert "notes" not in names and "_SUCCESS" not in names


def test_shard_metadata_has_size_and_version(corpus):
    _, shards = list_shards([str(corpus)])
    by_name = {s.name: s for s in shards}
    top = by_name["top"]
    assert top.size == (corpus / "top.jsonl").stat().st_size
    assert top.version  # the mtime
    assert by_name["a__d__e"].compressed and not top.compressed


def test_a_glob_lists_the_matching_shards(corpus):
    assert _names([f"{corpus}/*.jsonl"]) == ["top"]
    assert _names([f"{corpus}/**/*.jsonl*"]) == ["a__b", "a__d__e", "top"]


def test_names_are_stable_across_ways_of_listing_the_same_root(corpus):
    folder = _names([corpus])
    assert _names([f"{corpus}/"]) == folder
    assert _names([f"{corpus}/**"]) == folder
    assert _names([f"file://{corpus}"]) == folder
    assert _names([corpus]) == folder  # and across runs


def test_a_file_list_names_files_relative_to_their_common_folder(corpus):
    assert _names([corpus / "a" / "b.jsonl", corpus / "top.jsonl"]) == ["a__b", "top"]
    assert _names([corpus / "a" / "c.parquet"]) == ["c"]


def test_the_same_file_listed_twice_is_one_shard(corpus):
    assert _names([corpus / "top.jsonl", corpus / "top.jsonl", f"{corpus}/*.jsonl"]) == ["top"]


def test_odd_characters_in_names_are_replaced(tmp_path):
    _jsonl(tmp_path / "in" / "news 2024 (final).jsonl", [{"text": "x"}])
    _jsonl(tmp_path / "in" / "year=2024" / "part-0.jsonl", [{"text": "x"}])
    assert _names([tmp_path / "in"]) == ["news_2024_final_", "year=2024__part-0"]


def test_two_files_with_the_same_name_are_an_error(tmp_path):
    _jsonl(tmp_path / "in" / "part.jsonl", [{"text": "x"}])
    _parquet(tmp_path / "in" / "part.parquet", [{"text": "x"}])
    with pytest.raises(ShardError, match="same shard name: part"):
        list_shards([str(tmp_path / "in")])


def test_a_missing_path_is_a_shard_error_naming_it(corpus):
    missing = str(corpus / "nope")
    with pytest.raises(ShardError, match=f"{missing}: no such file or folder"):
        list_shards([str(corpus), missing])


def test_a_folder_without_shards_is_an_error(tmp_path):
    (tmp_path / "readme.md").write_text("x", encoding="utf-8")
    with pytest.raises(ShardError, match="no input shards found"):
        list_shards([str(tmp_path)])


def test_a_glob_matching_nothing_is_an_error(corpus):
    with pytest.raises(ShardError, match="no input shards found"):
        list_shards([f"{corpus}/*.csv"])


def test_paths_on_two_filesystems_are_an_error(corpus):
    with pytest.raises(ShardError, match="one filesystem"):
        list_shards([str(corpus), "memory://elsewhere/x.jsonl"])


@pytest.mark.parametrize(
    "path, expected",
    [
        ("x.parquet", "parquet"),
        ("X.PARQUET", "parquet"),
        ("x.jsonl", "jsonl"),
        ("x.jsonl.gz", "jsonl"),
        ("x.ndjson", "jsonl"),
        ("x.csv", None),
        ("x.gz", None),
    ],
)
def test_shard_format_by_suffix(path, expected):
    assert shard_format(path) == expected


def test_count_rows_of_parquet_jsonl_and_gzipped_jsonl(corpus):
    fs, shards = list_shards([str(corpus)])
    assert {s.name: count_rows(fs, s) for s in shards} == {
        "a__b": 2,
        "a__c": 5,
        "a__d__e": 1,
        "top": 1,
    }


def test_count_rows_skips_blank_lines(tmp_path):
    rows = [{"id": i} for i in range(4)]
    _jsonl(tmp_path / "plain.jsonl", rows, blank_lines=True)
    _jsonl(tmp_path / "packed.jsonl.gz", rows, blank_lines=True)
    fs, shards = list_shards([str(tmp_path)])
    assert [count_rows(fs, s) for s in shards] == [4, 4]


def test_count_rows_counts_bad_lines_since_they_become_error_rows(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": 1}\nnot json\n[1, 2]\n\n', encoding="utf-8")
    fs, (shard,) = list_shards([str(path)])
    assert count_rows(fs, shard) == 3
