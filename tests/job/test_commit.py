"""commit_shard: publish, metrics, bad cases, and the marker last."""

import pyarrow as pa
import pytest

from ie_batch.fingerprint import Fingerprint
from ie_batch.io.layout import OutputLayout
from ie_batch.io.manifest import Manifest, shard_of
from ie_batch.io.shards import Shard
from ie_batch.job.commit import IncompleteShard, commit_shard
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
