"""Where the commit's reading half runs: inline (outcomes at once, exceptions as outcomes) or as
Ray tasks, a bounded number at a time, off the driver."""

import json
import time

import pyarrow as pa
import pytest

from ie_batch.fingerprint import Fingerprint
from ie_batch.io.layout import OutputLayout
from ie_batch.io.manifest import Manifest
from ie_batch.io.shards import Shard
from ie_batch.io.writing import part_name
from ie_batch.job.run import JobReport, ShardCommitter
from ie_batch.job.tally import Tally
from ie_batch.job.task_pool import InlinePool, RayTaskPool


def _halve(value):
    if value % 2:
        raise ValueError(f"{value} is odd")
    return value // 2


def test_an_inline_pool_answers_at_once_each_call_by_its_key():
    pool = InlinePool(_halve)
    pool.submit("a", 4)
    pool.submit("b", 3)
    assert pool.busy
    (a, first), (b, second) = pool.ready()
    assert (a, first, b) == ("a", 2, "b")
    assert isinstance(second, ValueError) and str(second) == "3 is odd"
    assert not pool.busy and pool.ready() == []


@pytest.mark.ray
def test_a_ray_pool_runs_at_most_its_bound_at_once_and_hands_back_every_outcome(
    ray_runtime, tmp_path
):
    def timed(key, folder):  # pickled by value: defined here, not importable by the workers
        started = time.time()
        time.sleep(0.4)
        if key == "k3":
            raise ValueError("k3 failed")
        with open(f"{folder}/{key}.json", "w", encoding="utf-8") as handle:
            json.dump([started, time.time()], handle)
        return key.upper()

    pool = RayTaskPool(timed, max_in_flight=2, num_cpus=0.25)
    keys = [f"k{i}" for i in range(5)]
    for key in keys:
        pool.submit(key, key, str(tmp_path))
    assert pool.ready() == []  # nothing is done yet, and asking does not wait
    outcomes = {}
    while pool.busy:
        outcomes.update(pool.ready(block=True))

    assert sorted(outcomes) == keys
    assert {key: outcomes[key] for key in keys if key != "k3"} == {
        key: key.upper() for key in keys if key != "k3"
    }
    assert isinstance(outcomes["k3"], ValueError) and str(outcomes["k3"]) == "k3 failed"
    spans = [json.loads((tmp_path / f"{key}.json").read_text()) for key in keys if key != "k3"]
    running_at = [sum(start <= moment < end for start, end in spans) for moment, _ in spans]
    assert max(running_at) <= 2


@pytest.mark.ray
def test_a_job_commit_merges_its_shard_in_a_ray_task_not_in_the_driver(
    ray_runtime, tmp_path, monkeypatch
):
    layout = OutputLayout.open(str(tmp_path / "out"))
    for first in range(0, 9, 3):
        rows = list(range(first, first + 3))
        layout.stage_part("a", part_name(first, first + 2), pa.table({"_row": rows}))
    shard = Shard(path="/in/a.jsonl", name="a", format="jsonl", size=9, version="1", rows=9)
    report = JobReport(output="out")
    committer = ShardCommitter(layout, Fingerprint("fp"), report, part_bytes=1 << 30)
    committer.expect([shard], {"a": 9})
    committer.prepare_on_ray()

    def not_here(*args, **kwargs):
        raise AssertionError("the driver read or merged a part")

    # the driver's own copies only: a Ray worker imports the modules afresh
    monkeypatch.setattr(OutputLayout, "stage_merged", not_here)
    monkeypatch.setattr("pyarrow.parquet.read_table", not_here)
    monkeypatch.setattr("pyarrow.parquet.ParquetFile", not_here)
    committer.commit(shard, Tally(rows=9))
    committer.settle()

    assert report.ok and list(report.shards) == ["a"], report.failed
    assert [p.rsplit("/", 1)[1] for p in layout.data_parts("a")] == [f"{part_name(0, 8)}.parquet"]
    assert Manifest(layout).is_committed(shard, Fingerprint("fp"))
