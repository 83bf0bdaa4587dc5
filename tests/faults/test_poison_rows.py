"""A row that kills the extraction actor's process every time it is asked (a native crash, an
OOM kill) is isolated: it comes out as an error row, every other row as usual, and the job
ends. Without isolation Ray restarts the actor and retries the batch forever."""

import pytest

from ie_batch.engines.fake import CrashingAnswers, FakeEngineFactory
from ie_batch.job.run import retry_batch_sizes, run_job
from tests.faults.conftest import LEXICON, job, write_jsonl

pytestmark = pytest.mark.ray


def test_retry_batch_sizes_halve_down_to_one_row_asked_twice():
    assert retry_batch_sizes(16) == [8, 4, 2, 1, 1]
    assert retry_batch_sizes(4) == [2, 1, 1]
    assert retry_batch_sizes(1) == [1, 1]


def test_a_lost_block_of_several_batches_is_asked_first_one_batch_to_a_block():
    assert retry_batch_sizes(16, block_rows=1024) == [16, 8, 4, 2, 1, 1]
    assert retry_batch_sizes(16, block_rows=16) == [8, 4, 2, 1, 1]


@pytest.mark.parametrize("signal_kill", [False, True], ids=["os._exit", "SIGKILL"])
def test_a_poison_row_becomes_an_error_row_and_the_job_ends(ray_runtime, tmp_path, signal_kill):
    corpus = tmp_path / "in"
    rows = [{"id": f"r{i}", "text": f"Ada wrote note {i}."} for i in range(10)]
    rows[6]["text"] = "POISON here, Ada."
    write_jsonl(corpus / "a.jsonl", rows)
    write_jsonl(corpus / "b.jsonl", [{"id": f"b{i}", "text": f"Alan {i}"} for i in range(5)])
    output = tmp_path / "out"
    factory = FakeEngineFactory(CrashingAnswers(LEXICON, ["POISON"], signal_kill=signal_kill))

    report = run_job(job(corpus, output), engine_factory=factory, print_report=False)

    assert report.ok and sorted(report.shards) == ["a", "b"]
    from ie_batch.api import read_results

    results = {row["id"]: row for row in read_results(str(output)).to_pylist()}
    assert sorted(results) == sorted([*(r["id"] for r in rows), *(f"b{i}" for i in range(5))])
    (poison_error,) = results["r6"]["errors"]
    assert "lost every time it was asked" in poison_error
    assert all(not row["errors"] for key, row in results.items() if key != "r6")
    assert all(
        row["entities"] for key, row in results.items() if key.startswith("r") and key != "r6"
    )


def test_an_actor_killed_once_mid_batch_costs_no_row(ray_runtime, tmp_path):
    corpus = tmp_path / "in"
    rows = [{"id": f"r{i}", "text": f"Ada wrote note {i}."} for i in range(10)]
    rows[5]["text"] = "CRASH once here, Ada."
    write_jsonl(corpus / "a.jsonl", rows)
    output, marker = tmp_path / "out", tmp_path / "crashed"
    answers = CrashingAnswers(LEXICON, ["CRASH"], signal_kill=True, once_marker=str(marker))

    report = run_job(
        job(corpus, output), engine_factory=FakeEngineFactory(answers), print_report=False
    )

    assert marker.exists(), "the actor was never killed: the test proved nothing"
    assert report.ok and report.shards["a"].error_rows == 0
    from ie_batch.api import read_results

    results = {row["id"]: row for row in read_results(str(output)).to_pylist()}
    assert sorted(results) == sorted(r["id"] for r in rows)
    assert all(not row["errors"] and row["entities"] for row in results.values())
