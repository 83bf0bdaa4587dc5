"""The real thing, once: the main job on a local Ray with the vLLM engine and the embedded model.

One engine starts (in the actor pool) and serves every check here; a start costs about a minute
on two cores. The model's accuracy is not asserted: that is the benchmark's job. What is asserted
is what must hold for any model: every row comes out once, answers parse (structured outputs),
offsets point at their spans, a document longer than the context is split into windows.
"""

import json

import pyarrow.parquet as pq
import pytest

from ie_batch.config import config_from_data
from ie_batch.job.run import run_job
from ie_batch.schema.catalog import SHIPPED_SCHEMAS

pytestmark = [pytest.mark.engine, pytest.mark.ray]

LONG_TEXT = " ".join(
    f"In {city}, the mayor {name} opened a new library on Monday, officials said."
    for city, name in [
        ("Berlin", "Kai Wegner"),
        ("Paris", "Anne Hidalgo"),
        ("London", "Sadiq Khan"),
        ("Madrid", "Jose Luis Martinez-Almeida"),
        ("Rome", "Roberto Gualtieri"),
    ]
    * 6
)


@pytest.fixture(scope="module")
def job(tmp_path_factory):
    ray = pytest.importorskip("ray")
    pytest.importorskip("vllm")
    folder = tmp_path_factory.mktemp("e2e")
    corpus = folder / "in"
    corpus.mkdir()
    rows = [
        {
            "id": "e1",
            "text": "Angela Merkel met Emmanuel Macron in Paris on Tuesday.",
            "entities": [
                {"type": "person", "text": "Angela Merkel"},
                {"type": "person", "text": "Emmanuel Macron"},
                {"type": "location", "text": "Paris"},
            ],
            "label": "world",
        },
        {"id": "e2", "text": "Shares of Toyota fell 3 percent in Tokyo.", "label": "business"},
        {"id": "e3", "text": LONG_TEXT},
    ]
    lines = [json.dumps(row) for row in rows] + ["{broken"]
    (corpus / "news.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    config = config_from_data(
        {
            "input": {"paths": [str(corpus)]},
            "schemas": ["news_ner_en", "topic_en"],
            "output": str(folder / "out"),
            "engine": {"max_model_len": 768, "max_tokens": 160},
            "pool": {"batch_size": 4},
        }
    )
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        report = run_job(config, print_report=False)
    finally:
        ray.shutdown()
    output = folder / "out"
    result = {row["id"]: row for row in pq.read_table(output / "data" / "news").to_pylist()}
    return report, result, output, config


def test_every_row_comes_out_once_with_answers_that_parse(job):
    report, rows, _, _ = job
    assert report.total.rows == 4 and len(rows) == 4
    assert "not valid JSON" in rows["news:3"]["errors"][0]
    for row_id in ("e1", "e2", "e3"):
        assert rows[row_id]["errors"] == [], rows[row_id]["errors"]
        assert rows[row_id]["completion_tokens"] > 0


def test_offsets_point_at_the_spans(job):
    _, rows, _, _ = job
    for row in rows.values():
        for entity in row["entities"]:
            if entity["start"] is not None:
                assert row["text"][entity["start"] : entity["end"]] == entity["text"]


def test_one_topic_per_document_from_the_label_set(job):
    _, rows, _, _ = job
    topics = {"world", "sports", "business", "sci_tech"}
    for row_id in ("e1", "e2", "e3"):
        assert len(rows[row_id]["labels"]) <= 1
        assert {label["label"] for label in rows[row_id]["labels"]} <= topics


def test_a_document_longer_than_the_context_is_split_into_windows(job):
    from transformers import AutoTokenizer

    from ie_batch.engines.embedded_model import resolve_model
    from ie_batch.prompts import get_format
    from ie_batch.schema import load_schema

    _, rows, _, config = job
    fmt = get_format()
    schema_file = SHIPPED_SCHEMAS / "news_ner_en.yaml"
    slice_ = fmt.slices(load_schema(schema_file))[0]
    tokenizer = AutoTokenizer.from_pretrained(resolve_model(config.engine.model))
    rendered = tokenizer.apply_chat_template(
        fmt.render(LONG_TEXT, slice_).chat(), add_generation_prompt=True, tokenize=False
    )
    whole = tokenizer(rendered, add_special_tokens=False)["input_ids"]
    # one prompt over the whole text would not fit the context next to the answer's tokens ...
    assert len(whole) > config.engine.max_model_len - config.engine.max_tokens
    # ... yet the row has its answers and no error: its prompts were windows of the text
    assert rows["e3"]["errors"] == [] and rows["e3"]["entities"]
    assert rows["e3"]["prompt_tokens"] > config.engine.max_model_len


def test_shard_metrics_and_commit_marker_are_written(job):
    _, _, output, _ = job
    metrics = json.loads((output / "metrics" / "news.json").read_text())
    assert metrics["rows"] == 4 and metrics["scored_rows"] == 2
    assert set(metrics["tasks"]) == {"ner", "classification"}
    assert metrics["tasks"]["ner"]["gold"] == 3
    # a document's slices share its prefix: vLLM serves part of every later slice from cache
    assert 0 < metrics["cached_prompt_tokens"] < metrics["prompt_tokens"]
    assert 0 < metrics["prefix_cache_hit_rate"] < 1
    assert (output / "_manifest" / "news.json").exists()
