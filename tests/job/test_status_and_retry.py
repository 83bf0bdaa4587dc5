"""`status` and `retry-errors` on real job outputs (local Ray, fake engine)."""

import json

import pyarrow.parquet as pq
import pytest

from ie_batch.config import config_from_data
from ie_batch.engines.fake import FailingAnswers, FakeEngineFactory, LexiconAnswers
from ie_batch.job.retry import retry_errors
from ie_batch.job.run import run_job
from ie_batch.job.status import job_status

pytestmark = pytest.mark.ray

LEXICON = LexiconAnswers(entities={"person": ["Ada Lovelace", "Alan Turing"]})
FLAKY = FakeEngineFactory(FailingAnswers(LEXICON, ["Turing"]))
HEALTHY = FakeEngineFactory(LEXICON)


def _write(path, rows):
    path.write_text("\n".join(json.dumps(row) for row in rows) + "\n", encoding="utf-8")


def _job(tmp_path):
    corpus = tmp_path / "in"
    corpus.mkdir()
    gold = lambda name: [{"type": "person", "text": name}]  # noqa: E731
    _write(
        corpus / "a.jsonl",
        [
            {"id": "a1", "text": "Ada Lovelace wrote notes.", "entities": gold("Ada Lovelace")},
            {"id": "a2", "text": "Alan Turing broke codes.", "entities": gold("Alan Turing")},
            {"id": "a3", "text": "Nobody here."},
        ],
    )
    _write(corpus / "b.jsonl", [{"id": "b1", "text": "Ada Lovelace again."}])
    config = config_from_data(
        {
            "input": {"paths": [str(corpus)]},
            "schemas": ["news_ner_en"],
            "output": str(tmp_path / "out"),
            "pool": {"batch_size": 2},
        }
    )
    return corpus, config


def _rows(output, shard):
    return pq.read_table(output / "data" / shard).to_pylist()


def test_retry_errors_reprocesses_only_failed_rows_and_keeps_one_row_each(ray_runtime, tmp_path):
    _, config = _job(tmp_path)
    output = tmp_path / "out"
    run_job(config, engine_factory=FLAKY, print_report=False)
    before = {row["id"]: row for row in _rows(output, "a")}
    assert "scripted failure" in before["a2"]["errors"][0]
    assert before["a1"]["errors"] == []
    metrics = json.loads((output / "metrics" / "a.json").read_text())
    assert metrics["error_rows"] == 1 and metrics["tasks"]["ner"]["tp"] == 1

    report = retry_errors(str(output), engine_factory=HEALTHY)

    assert (report.retried, report.fixed, report.shards) == (1, 1, ["a"])
    after = {row["id"]: row for row in _rows(output, "a")}
    assert sorted(after) == ["a1", "a2", "a3"]
    assert after["a2"]["errors"] == []
    assert [e["text"] for e in after["a2"]["entities"]] == ["Alan Turing"]
    assert after["a1"] == before["a1"]
    metrics = json.loads((output / "metrics" / "a.json").read_text())
    assert metrics["error_rows"] == 0 and metrics["rows"] == 3
    assert metrics["tasks"]["ner"] == {
        "precision": 1.0,
        "recall": 1.0,
        "f1": 1.0,
        "tp": 2,
        "pred": 2,
        "gold": 2,
    }
    marker = json.loads((output / "_manifest" / "a.json").read_text())
    assert marker["error_rows"] == 0 and marker["result_rows"] == 3
    assert not (output / "errors" / "a").exists() or not any((output / "errors" / "a").iterdir())
    assert retry_errors(str(output), engine_factory=HEALTHY).retried == 0


def test_status_lists_committed_changed_and_pending_shards(ray_runtime, tmp_path):
    corpus, config = _job(tmp_path)
    output = tmp_path / "out"
    run_job(config, engine_factory=HEALTHY, print_report=False)
    _write(corpus / "c.jsonl", [{"id": "c1", "text": "New."}])
    _write(corpus / "b.jsonl", [{"id": "b1", "text": "Changed."}, {"id": "b2", "text": "More."}])

    status = job_status(str(output))

    states = {shard.name: shard.state for shard in status.shards}
    assert states == {"a": "committed", "b": "changed", "c": "pending"}
    committed = next(shard for shard in status.shards if shard.name == "a")
    assert committed.rows == 3 and committed.error_rows == 0
    assert status.total.metrics()["ner"]["tp"] == 2


def test_status_of_a_folder_no_job_wrote_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no ie_batch job wrote here"):
        job_status(str(tmp_path))


def test_only_rows_another_attempt_may_fix_are_retryable():
    from ie_batch.job.retry import retryable

    assert retryable({"extract"})
    assert retryable({"extract", "gold"})
    assert not retryable(set())
    assert not retryable({"read"})
    assert not retryable({"read", "extract"})
    assert not retryable({"gold"})  # the model cannot mend a bad gold column


def test_retried_rows_keep_every_column_whatever_the_first_retried_row_has():
    from ie_batch.job.retry import _blocks

    rows = [
        {"_shard": "a", "_row": 0, "text": "x"},
        {"_shard": "a", "_row": 1, "text": "y", "source": "wire"},
        {"_shard": "b", "_row": 0, "text": "z", "source": 5},
    ]
    blocks = _blocks(rows, size=1)
    assert [block.num_rows for block in blocks] == [1, 1, 1]
    assert blocks[1].to_pylist() == [{"_shard": "a", "_row": 1, "text": "y", "source": "wire"}]
    assert blocks[2].column("source").to_pylist() == [5]  # its own type, in its own block
