"""The shard commit: preparing (rows checked, staged parts merged) then publishing (parts
moved, metrics, bad cases, and the marker last)."""

import json
import re
from collections import Counter

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ie_batch.fingerprint import Fingerprint
from ie_batch.io.layout import OutputLayout
from ie_batch.io.manifest import Manifest, shard_of
from ie_batch.io.shards import Shard
from ie_batch.io.writing import part_name
from ie_batch.job.commit import (
    IncompleteShard,
    PreparedShard,
    commit_shard,
    prepare_shard,
    publish_shard,
)
from ie_batch.job.tally import Tally
from ie_batch.metrics import Evaluation

FP = Fingerprint("fp")
SHARD = Shard(path="/in/a.jsonl", name="a", format="jsonl", size=10, version="1", rows=2)


def test_a_commit_publishes_the_staged_shard_and_writes_its_marker_last(tmp_path):
    layout = OutputLayout.open(str(tmp_path / "out"))
    layout.stage_part("a", "part-000000000-000000001", pa.table({"_row": [0, 1]}))
    written = []
    original = layout.write_json
    layout.write_json = lambda path, value: (written.append(path), original(path, value))
    commit_shard(layout, SHARD, "fp", Tally(rows=2, error_rows=1), expected_rows=2)

    assert written == [layout.metrics_path("a"), layout.marker_path("a")]
    assert len(layout.data_parts("a")) == 1
    metrics = layout.read_json(layout.metrics_path("a"))
    assert (metrics["shard"], metrics["path"], metrics["rows"]) == ("a", "/in/a.jsonl", 2)
    manifest = Manifest(layout)
    assert manifest.is_committed(SHARD, FP)
    assert not manifest.is_committed(SHARD, Fingerprint("other"))
    entry = manifest.entry("a")
    assert (entry["result_rows"], entry["error_rows"]) == (2, 1)
    assert shard_of(entry) == SHARD


def test_a_shard_cut_short_is_not_committed(tmp_path):
    layout = OutputLayout.open(str(tmp_path / "out"))
    layout.stage_part("a", "part-000000000-000000000", pa.table({"_row": [0]}))
    commit_shard(layout, SHARD, "fp", Tally(rows=1, evaluation=Evaluation()), expected_rows=1)
    assert not Manifest(layout).is_committed(SHARD, FP)


def test_a_marker_whose_data_is_gone_is_not_trusted(tmp_path):
    layout = OutputLayout.open(str(tmp_path / "out"))
    layout.stage_part("a", "part-000000000-000000001", pa.table({"_row": [0, 1]}))
    commit_shard(layout, SHARD, "fp", Tally(rows=2), expected_rows=2)
    assert Manifest(layout).is_committed(SHARD, FP)
    layout.fs.rm(layout.data_dir("a"), recursive=True)  # a clear killed after the data went
    assert not Manifest(layout).is_committed(SHARD, FP)


@pytest.mark.parametrize(
    ("parts", "expected", "problem"),
    [
        ({"part-000000000-000000001": [0, 1], "part-000000001-000000002": [1, 2]}, 3, "twice: 1"),
        ({"part-000000000-000000000": [0]}, 2, "missing: 1"),
        ({"part-000000000-000000002": [0, 1, 2]}, 2, "beyond the shard's 2 rows: 2"),
    ],
)
def test_a_commit_refuses_parts_that_do_not_hold_every_row_exactly_once(
    tmp_path, parts, expected, problem
):
    layout = OutputLayout.open(str(tmp_path / "out"))
    for name, rows in parts.items():
        layout.stage_part("a", name, pa.table({"_row": rows}))
    with pytest.raises(IncompleteShard, match=problem):
        commit_shard(layout, SHARD, "fp", Tally(rows=expected), expected_rows=expected)
    assert not layout.fs.exists(layout.marker_path("a"))
    assert not layout.data_parts("a")  # nothing was published


# A first commit merges the staged parts, checking their rows as it streams them


def _stage(layout, first, last, label="x", errors=False, shard="a"):
    part = part_name(first, last)
    rows = list(range(first, last + 1))
    labels = pa.nulls(len(rows)) if label is None else pa.array([label] * len(rows))
    layout.stage_part(shard, part, pa.table({"_row": rows, "label": labels}))
    if errors:
        layout.stage_error_part(shard, part, [{"row": first, "reason": f"bad {first}"}])


def _names(paths):
    return [p.rsplit("/", 1)[1] for p in paths]


def _shard(rows):
    return Shard(path="/in/a.jsonl", name="a", format="jsonl", size=10, version="1", rows=rows)


def test_a_first_commit_merges_the_staged_parts_and_their_sidecars(tmp_path):
    layout = OutputLayout.open(str(tmp_path / "out"))
    _stage(layout, 0, 3, label=None, errors=True)  # its null column takes the others' type
    _stage(layout, 4, 7)
    _stage(layout, 8, 9, errors=True)
    commit_shard(layout, _shard(10), "fp", Tally(rows=10), expected_rows=10, part_bytes=1 << 30)

    assert _names(layout.data_parts("a")) == ["part-000000000-000000009.parquet"]
    table = pq.read_table(layout.data_parts("a")[0])
    assert table.column("_row").to_pylist() == list(range(10))
    assert table.schema.field("label").type == pa.string()
    (sidecar,) = layout.error_parts("a")
    assert sidecar.endswith("part-000000000-000000009.jsonl")
    assert [json.loads(line)["row"] for line in open(sidecar, encoding="utf-8")] == [0, 8]
    assert not layout.fs.exists(layout.staging_dir("a"))
    assert Manifest(layout).is_committed(_shard(10), FP)


def test_merged_parts_roll_over_at_the_target_size(tmp_path):
    layout = OutputLayout.open(str(tmp_path / "out"))
    for first in range(0, 40, 4):
        _stage(layout, first, first + 3)
    one_part = max(layout.staged_parts("a").values())
    commit_shard(layout, _shard(40), "fp", Tally(rows=40), 40, part_bytes=int(one_part * 3.5))
    assert len(layout.data_parts("a")) == 4  # 3 + 3 + 3 + 1 staged parts
    rows = [r for p in layout.data_parts("a") for r in pq.read_table(p)["_row"].to_pylist()]
    assert rows == list(range(40))


def test_each_staged_part_of_a_merged_shard_is_opened_twice_footer_then_data(tmp_path, monkeypatch):
    layout = OutputLayout.open(str(tmp_path / "out"))
    for first in range(0, 12, 3):
        _stage(layout, first, first + 2)
    staged = set(layout.staged_parts("a"))
    opened = Counter()
    original = layout.fs.open

    def counting_open(path, *args, **kwargs):
        opened[path] += 1
        return original(path, *args, **kwargs)

    monkeypatch.setattr(layout.fs, "open", counting_open)
    prepared = prepare_shard(layout, "a", 12, part_bytes=1 << 30)
    monkeypatch.undo()

    assert prepared == PreparedShard("a", merged=True)
    assert {path: opened[path] for path in staged} == dict.fromkeys(staged, 2)


def test_the_publishing_half_reads_no_part(tmp_path, monkeypatch):
    layout = OutputLayout.open(str(tmp_path / "out"))
    _stage(layout, 0, 1)
    _stage(layout, 2, 3)
    prepared = prepare_shard(layout, "a", 4, part_bytes=1 << 30)
    assert not layout.data_parts("a")  # preparing writes in staging only
    opened = []
    original = layout.fs.open
    monkeypatch.setattr(
        layout.fs, "open", lambda path, *a, **kw: (opened.append(path), original(path, *a, **kw))[1]
    )
    publish_shard(layout, _shard(4), "fp", Tally(rows=4), prepared)
    monkeypatch.undo()

    assert not [path for path in opened if path.endswith(".parquet")]
    assert _names(layout.data_parts("a")) == ["part-000000000-000000003.parquet"]


def test_parts_of_a_lost_batch_asked_again_interleave_and_still_commit_merged(tmp_path):
    layout = OutputLayout.open(str(tmp_path / "out"))
    layout.stage_part("a", part_name(0, 2), pa.table({"_row": [0, 1, 2]}))
    layout.stage_part("a", part_name(3, 7), pa.table({"_row": [3, 7]}))  # the lost rows
    layout.stage_part("a", part_name(4, 6), pa.table({"_row": [4, 5, 6]}))
    commit_shard(layout, _shard(8), "fp", Tally(rows=8), expected_rows=8, part_bytes=1 << 30)
    (part,) = layout.data_parts("a")
    assert sorted(pq.read_table(part)["_row"].to_pylist()) == list(range(8))


def test_a_retry_replacing_some_parts_keeps_their_names_and_merges_nothing(tmp_path):
    layout = OutputLayout.open(str(tmp_path / "out"))
    _stage(layout, 0, 3)
    _stage(layout, 4, 7)
    commit_shard(layout, _shard(8), "fp", Tally(rows=8), 8, part_bytes=1 << 30)
    (merged,) = _names(layout.data_parts("a"))
    layout.stage_part("a", merged.removesuffix(".parquet"), pa.table({"_row": list(range(8))}))
    _stage(layout, 8, 9)  # a part of its own: published beside, never merged into, the other
    commit_shard(layout, _shard(10), "fp", Tally(rows=10), 10, part_bytes=1 << 30)
    assert _names(layout.data_parts("a")) == [merged, "part-000000008-000000009.parquet"]
    assert "label" not in pq.read_table(layout.data_parts("a")[0]).column_names


def test_parts_whose_types_clash_are_published_as_they_are(tmp_path):
    layout = OutputLayout.open(str(tmp_path / "out"))
    _stage(layout, 0, 1)
    layout.stage_part("a", part_name(2, 3), pa.table({"_row": [2, 3], "label": [1, 2]}))
    commit_shard(layout, _shard(4), "fp", Tally(rows=4), expected_rows=4, part_bytes=1 << 30)
    assert _names(layout.data_parts("a")) == [
        f"{part_name(0, 1)}.parquet",
        f"{part_name(2, 3)}.parquet",
    ]


@pytest.mark.parametrize(
    ("parts", "expected", "problem"),
    [
        # the footers' row counts do not add up: refused before anything is merged
        ({(0, 1): [0, 1], (1, 2): [1, 2]}, 3, "1 row(s) twice: 1"),
        ({(0, 0): [0], (1, 2): [1, 2]}, 4, "1 row(s) missing: 3"),
        ({(0, 1): [0, 1], (2, 9): [2, 9, 9]}, 3, "twice: 9; 1 row(s) beyond the shard's 3 rows: 9"),
        # they do: found by the merge, as it streams the rows
        ({(0, 1): [0, 1], (1, 2): [1, 2]}, 4, "1 row(s) twice: 1; 1 row(s) missing: 3"),
        ({(0, 1): [0, 0], (2, 2): [2]}, 3, "1 row(s) twice: 0; 1 row(s) missing: 1"),
    ],
)
def test_a_merged_commit_refuses_parts_that_do_not_hold_every_row_exactly_once(
    tmp_path, parts, expected, problem
):
    layout = OutputLayout.open(str(tmp_path / "out"))
    for (first, last), rows in parts.items():
        layout.stage_part("a", part_name(first, last), pa.table({"_row": rows}))
    prepared = prepare_shard(layout, "a", expected, part_bytes=1 << 30)
    assert prepared.refusal.endswith(problem)
    assert not layout.fs.exists(layout.merged_dir("a"))
    with pytest.raises(IncompleteShard, match=re.escape(problem)):
        publish_shard(layout, _shard(expected), "fp", Tally(rows=expected), prepared)
    assert not layout.data_parts("a") and not layout.fs.exists(layout.marker_path("a"))


def test_a_refusal_lists_the_first_rows_of_each_kind_and_counts_them_all(tmp_path):
    layout = OutputLayout.open(str(tmp_path / "out"))
    layout.stage_part("a", part_name(0, 0), pa.table({"_row": [0]}))
    prepared = prepare_shard(layout, "a", 100)
    assert prepared.refusal.endswith("99 row(s) missing: 1, 2, 3, 4, 5 ...")
