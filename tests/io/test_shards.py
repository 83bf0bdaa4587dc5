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
    if path.name.lower().endswith(".gz"):
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
    return [shard.name for shard in list_shards([str(p) for p in paths]).shards]


def test_a_folder_lists_every_shard_sorted_with_nested_names(corpus):
    listing = list_shards([str(corpus)])
    fs, shards = listing.fs, listing.shards
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
    shards = list_shards([str(corpus)]).shards
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


def test_a_listed_file_is_named_by_its_own_name(corpus):
    assert _names([corpus / "a" / "b.jsonl", corpus / "top.jsonl"]) == ["b", "top"]
    assert _names([corpus / "a" / "c.parquet"]) == ["c"]


def test_the_same_file_listed_twice_is_one_shard(corpus):
    assert _names([corpus / "top.jsonl", corpus / "top.jsonl", f"{corpus}/*.jsonl"]) == ["top"]


def test_odd_characters_in_names_are_replaced(tmp_path):
    _jsonl(tmp_path / "in" / "news 2024 (final).jsonl", [{"text": "x"}])
    _jsonl(tmp_path / "in" / "year=2024" / "part-0.jsonl", [{"text": "x"}])
    assert _names([tmp_path / "in"]) == ["news_2024_final_", "year=2024__part-0"]


def test_files_whose_names_collide_get_distinct_names_the_first_keeping_its_own(tmp_path):
    _jsonl(tmp_path / "in" / "part.jsonl", [{"text": "x"}])
    _parquet(tmp_path / "in" / "part.parquet", [{"text": "x"}])
    _jsonl(tmp_path / "in" / "a b.jsonl", [{"text": "x"}])
    _jsonl(tmp_path / "in" / "a_b.jsonl", [{"text": "x"}])
    names = {s.path.rsplit("/", 1)[1]: s.name for s in list_shards([str(tmp_path / "in")]).shards}
    assert len(set(names.values())) == 4
    assert names["a b.jsonl"] == "a_b" and names["part.jsonl"] == "part"  # first by path
    assert names["a_b.jsonl"].startswith("a_b-") and names["part.parquet"].startswith("part-")


def test_a_shard_keeps_its_name_when_another_input_path_is_added(tmp_path):
    _jsonl(tmp_path / "in" / "2026" / "news.jsonl", [{"text": "x"}])
    _jsonl(tmp_path / "more" / "2026" / "news.jsonl", [{"text": "x"}])
    _jsonl(tmp_path / "more" / "web.jsonl", [{"text": "x"}])
    alone = list_shards([str(tmp_path / "in")]).shards
    both = list_shards([str(tmp_path / "in"), str(tmp_path / "more")]).shards
    names = {shard.path: shard.name for shard in both}
    assert [names[shard.path] for shard in alone] == ["2026__news"]
    assert len(set(names.values())) == 3 and "web" in names.values()


@pytest.mark.parametrize(
    "file_name", ["@@.jsonl", "新闻.jsonl", "a b.jsonl", "-.jsonl", "=.parquet", "~.jsonl"]
)
def test_every_shard_name_is_one_safe_path_segment(tmp_path, file_name):
    path = tmp_path / "in" / file_name
    if file_name.endswith(".parquet"):
        _parquet(path, [{"text": "x"}])
    else:
        _jsonl(path, [{"text": "x"}])
    (name,) = _names([tmp_path / "in"])
    assert name not in {"", ".", ".."} and "/" not in name and name.strip(".")
    assert name == _names([tmp_path / "in"])[0]  # and stable


def test_names_keep_non_ascii_letters(tmp_path):
    _jsonl(tmp_path / "in" / "新闻.jsonl", [{"text": "x"}])
    _jsonl(tmp_path / "in" / "体育.jsonl", [{"text": "x"}])
    assert _names([tmp_path / "in"]) == ["体育", "新闻"]


def test_hidden_files_and_folders_are_ignored_and_reported(corpus):
    _jsonl(corpus / "_temporary" / "0" / "part.jsonl", [{"text": "x"}])
    _jsonl(corpus / ".hidden" / "x.jsonl", [{"text": "x"}])
    _jsonl(corpus / ".jsonl", [{"text": "x"}])
    _jsonl(corpus / "...jsonl", [{"text": "x"}])
    _jsonl(corpus / "a" / ".b.jsonl.crc", [{"text": "x"}])
    listing = list_shards([str(corpus)])
    assert [s.name for s in listing.shards] == ["a__b", "a__c", "a__d__e", "top"]
    ignored = {path.rsplit(str(corpus), 1)[1]: why for path, why in listing.ignored}
    assert ignored["/_temporary/0/part.jsonl"].startswith("hidden")
    assert ignored["/.hidden/x.jsonl"].startswith("hidden")
    assert ignored["/.jsonl"].startswith("hidden") and ignored["/...jsonl"].startswith("hidden")
    assert ignored["/_SUCCESS"].startswith("hidden")


def test_the_jobs_own_output_inside_the_input_is_not_read(corpus):
    _parquet(corpus / "out" / "data" / "top" / "part-0.parquet", [{"text": "x"}])
    listing = list_shards([str(corpus)], exclude=[str(corpus / "out")])
    assert [s.name for s in listing.shards] == ["a__b", "a__c", "a__d__e", "top"]
    assert any(why.startswith("the job's output") for _, why in listing.ignored)


def test_symlinked_files_and_folders_are_followed(tmp_path):
    _jsonl(tmp_path / "real" / "x.jsonl", [{"text": "x"}, {"text": "y"}])
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "linked").symlink_to(tmp_path / "real", target_is_directory=True)
    (tmp_path / "in" / "y.jsonl").symlink_to(tmp_path / "real" / "x.jsonl")
    listing = list_shards([str(tmp_path / "in")])
    assert [s.name for s in listing.shards] == ["linked__x", "y"]
    assert all(s.size > 0 for s in listing.shards)
    assert count_rows(listing.fs, listing.shards[1]) == 2


def test_upper_case_extensions_are_shards_and_gzip_is_decompressed(tmp_path):
    _jsonl(tmp_path / "in" / "A.JSONL.GZ", [{"text": "x"}, {"text": "y"}])
    _parquet(tmp_path / "in" / "B.Parquet", [{"text": "x"}])
    listing = list_shards([str(tmp_path / "in")])
    assert [(s.name, s.format, s.compressed) for s in listing.shards] == [
        ("A", "jsonl", True),
        ("B", "parquet", False),
    ]
    assert count_rows(listing.fs, listing.shards[0]) == 2


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
    listing = list_shards([str(corpus)])
    fs, shards = listing.fs, listing.shards
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
    listing = list_shards([str(tmp_path)])
    fs, shards = listing.fs, listing.shards
    assert [count_rows(fs, s) for s in shards] == [4, 4]


def test_count_rows_counts_bad_lines_since_they_become_error_rows(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": 1}\nnot json\n[1, 2]\n\n', encoding="utf-8")
    listing = list_shards([str(path)])
    fs, (shard,) = listing.fs, listing.shards
    assert count_rows(fs, shard) == 3
