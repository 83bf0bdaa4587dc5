"""The whole job on a local Ray with the fake engine: plumbing, invariants, reruns."""

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ie_batch import api
from ie_batch.config import config_from_data
from ie_batch.engines.fake import FakeEngineFactory, LexiconAnswers
from ie_batch.job.run import run_job
from tests.job.conftest import refuse_engine

pytestmark = pytest.mark.ray

LEXICON = LexiconAnswers(
    entities={"person": ["Tim Cook", "Angela Merkel"], "location": ["Berlin", "Paris", "Mars"]},
    labels={"business": ["Tim Cook", "Apple"], "world": ["Merkel"]},
)
FACTORY = FakeEngineFactory(LEXICON)


def _corpus(folder):
    folder.mkdir()
    lines = [
        {
            "id": "n1",
            "text": "Tim Cook visited Berlin.",
            "entities": [
                {"type": "person", "text": "Tim Cook"},
                {"type": "location", "text": "Berlin"},
            ],
            "label": "business",
        },
        {
            "id": "n2",
            "text": "Angela Merkel spoke in Paris.",
            "entities": [
                {"type": "person", "text": "Angela Merkel"},
                {"type": "location", "text": "Paris"},
            ],
            "label": "world",
        },
    ]
    body = "\n".join(json.dumps(line) for line in lines) + "\nnot json\n" + '{"id": "n4"}\n'
    (folder / "news.jsonl").write_text(body, encoding="utf-8")
    rows = [{"id": f"p{i}", "text": f"Apple shares rose in Berlin, day {i}."} for i in range(37)]
    sub = folder / "2026" / "11"
    sub.mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(rows), sub / "web.parquet")
    return folder


def _config(corpus, output, **extra):
    return config_from_data(
        {
            "input": {"paths": [str(corpus)]},
            "schemas": ["news_ner_en", "topic_en"],
            "output": str(output),
            "pool": {"batch_size": 5},
            **extra,
        }
    )


def _result_rows(output, shard):
    return pq.read_table(output / "data" / shard).to_pylist()


def test_every_input_row_is_written_once_and_gold_rows_are_scored(ray_runtime, tmp_path):
    corpus = _corpus(tmp_path / "in")
    output = tmp_path / "out"
    report = run_job(_config(corpus, output), engine_factory=FACTORY, print_report=False)

    assert sorted(report.shards) == ["2026__11__web", "news"]
    news = _result_rows(output, "news")
    web = _result_rows(output, "2026__11__web")
    assert [row["_row"] for row in news] == [0, 1, 2, 3]
    assert sorted(row["_row"] for row in web) == list(range(37))
    assert len({row["id"] for row in web}) == 37

    by_id = {row["id"]: row for row in news}
    assert {(e["type"], e["text"], e["start"]) for e in by_id["n1"]["entities"]} == {
        ("person", "Tim Cook", 0),
        ("location", "Berlin", 17),
    }
    assert by_id["n1"]["gold_entities"][0]["text"] == "Tim Cook"
    assert "not valid JSON" in by_id["news:2"]["errors"][0]
    assert "column 'text' is missing" in by_id["n4"]["errors"][0]

    metrics = json.loads((output / "metrics" / "news.json").read_text())
    assert metrics["rows"] == 4 and metrics["error_rows"] == 2 and metrics["scored_rows"] == 2
    assert metrics["tasks"]["ner"] == {
        "precision": 1.0,
        "recall": 1.0,
        "f1": 1.0,
        "tp": 4,
        "pred": 4,
        "gold": 4,
    }
    assert metrics["tasks"]["classification"]["accuracy"] == 1.0
    summary = json.loads((output / "summary.json").read_text())
    assert summary["rows"] == 41
    assert summary["prompt_tokens"] == sum(
        json.loads((output / "metrics" / f"{s}.json").read_text())["prompt_tokens"]
        for s in ("news", "2026__11__web")
    )
    errors = [
        json.loads(line)
        for line in next((output / "errors" / "news").glob("*.jsonl")).read_text().splitlines()
    ]
    assert [(e["row"], e["stage"]) for e in errors] == [(2, "read"), (3, "read")]


def test_a_rerun_skips_committed_shards_and_redoes_a_changed_one(ray_runtime, tmp_path):
    corpus = _corpus(tmp_path / "in")
    output = tmp_path / "out"
    run_job(_config(corpus, output), engine_factory=FACTORY, print_report=False)
    again = run_job(_config(corpus, output), engine_factory=FACTORY, print_report=False)
    assert sorted(again.skipped) == ["2026__11__web", "news"] and not again.shards

    with (corpus / "news.jsonl").open("a", encoding="utf-8") as handle:
        handle.write(json.dumps({"id": "n5", "text": "Mars is far."}) + "\n")
    changed = run_job(_config(corpus, output), engine_factory=FACTORY, print_report=False)
    assert list(changed.shards) == ["news"]
    assert len(_result_rows(output, "news")) == 5


def test_limit_reads_only_the_first_rows(ray_runtime, tmp_path):
    corpus = _corpus(tmp_path / "in")
    output = tmp_path / "out"
    config = _config(corpus, output)
    config = config.model_copy(update={"input": config.input.model_copy(update={"limit": 12})})
    report = run_job(config, engine_factory=FACTORY, print_report=False)
    assert report.total.rows == 12
    assert len(_result_rows(output, "2026__11__web")) == 12


def test_read_results_returns_the_committed_shards_only(ray_runtime, tmp_path):
    from ie_batch.api import read_results

    corpus = _corpus(tmp_path / "in")
    output = tmp_path / "out"
    run_job(_config(corpus, output), engine_factory=FACTORY, print_report=False)
    (output / "_manifest" / "news.json").unlink()  # as if news were still being published
    table = read_results(str(output))
    assert table.num_rows == 37
    assert set(table.column("_shard").to_pylist()) == {"2026__11__web"}


def test_a_schema_with_an_encoder_is_predicted_by_it_for_every_row_once(
    ray_runtime, tmp_path, topic_encoder
):
    corpus = _corpus(tmp_path / "in")
    output = tmp_path / "out"
    encoder = {"schema": "topic_en", "path": str(topic_encoder[0]), "batch_size": 4}
    config = _config(corpus, output, schemas=["topic_en"], classifiers=[encoder])
    report = api.run(config, engine_factory=refuse_engine, print_report=False)

    assert report.ok and report.total.rows == 41
    news, web = _result_rows(output, "news"), _result_rows(output, "2026__11__web")
    assert [row["_row"] for row in news] == [0, 1, 2, 3]
    assert sorted(row["_row"] for row in web) == list(range(37))
    topics = {"world", "sports", "business", "sci_tech"}
    for row in [*news[:2], *web]:
        (label,) = row["labels"]
        assert label["label"] in topics and 0 < label["score"] <= 1 and not row["errors"]
    assert news[2]["labels"] == [] and "not valid JSON" in news[2]["errors"][0]
    metrics = json.loads((output / "metrics" / "news.json").read_text())
    assert metrics["tasks"]["classification"]["rows"] == 2  # n1 and n2 carry gold labels
    assert metrics["prompt_tokens"] == 0
