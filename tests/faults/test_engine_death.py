"""The engine dies under an actor (vLLM's EngineDeadError): the actor exits and the batches it
held are asked again by a fresh actor; none is written as error rows. The real-engine version
kills vLLM's engine core process mid-job (tests/faults/test_engine_core_killed.py)."""

import pytest

from ie_batch.api import read_results
from ie_batch.engines.fake import DyingEngineAnswers, FakeEngineFactory
from ie_batch.job.run import run_job
from tests.faults.conftest import LEXICON, job, write_jsonl

pytestmark = pytest.mark.ray


def test_a_dead_engine_costs_no_row_and_the_batch_is_asked_again(ray_runtime, tmp_path):
    corpus = tmp_path / "in"
    rows = [{"id": f"r{i}", "text": f"Ada {i}" + (" STRIKE" if i == 5 else "")} for i in range(9)]
    write_jsonl(corpus / "a.jsonl", rows)
    factory = FakeEngineFactory(DyingEngineAnswers(LEXICON, "STRIKE", str(tmp_path / "died")))

    report = run_job(job(corpus, tmp_path / "out"), engine_factory=factory, print_report=False)

    assert (tmp_path / "died").exists()  # the engine did die once
    assert report.ok and report.shards["a"].error_rows == 0
    results = read_results(str(tmp_path / "out")).to_pylist()
    assert sorted(row["id"] for row in results) == [f"r{i}" for i in range(9)]
    assert all(row["errors"] == [] and row["entities"] for row in results)
