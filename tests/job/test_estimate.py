"""`estimate_job`: a dry run that plans a sample's prompts as the job would and counts them;
the real tokenizer is used by the CLI test (marked engine: it needs the embedded model)."""

import json
from pathlib import Path

import pytest

from ie_batch.config import config_from_data
from ie_batch.engines.fake import FakeEngine
from ie_batch.job.estimate import estimate_job
from ie_batch.job.routing import load_job_schemas
from ie_batch.prompts import get_format
from tests.faults.conftest import write_jsonl

REPO = Path(__file__).resolve().parents[2]


def _config(corpus, **extra):
    return config_from_data(
        {
            "input": {"paths": [str(corpus)]},
            "schemas": ["news_ner_en", {"schema": "topic_en", "shards": ["topics*"]}],
            "output": str(corpus.parent / "out"),
            **extra,
        }
    )


def _slices(config, name):
    (schema,) = [s for s in load_job_schemas(config) if s.name == name]
    return len(get_format(config.prompt.format).slices(schema, "doc", "sorted"))


def test_prompts_and_tokens_are_counted_as_the_job_would_plan_them(tmp_path):
    corpus = tmp_path / "in"
    write_jsonl(corpus / "news.jsonl", [{"text": f"Ada met Alan in Rome {i}."} for i in range(10)])
    write_jsonl(corpus / "topics_a.jsonl", [{"text": f"Match report {i}."} for i in range(3)])
    config = _config(corpus)
    counter = FakeEngine(max_tokens=64)

    estimate = estimate_job(config, counter, sample=6, tokens_per_second=100.0)

    assert (estimate.shards, estimate.rows, estimate.sampled) == (2, 13, 6)
    ner, topic = _slices(config, "news_ner_en"), _slices(config, "topic_en")
    # 3 documents of each shard; the topic schema is routed to topics* only
    assert estimate.prompts_per_document == pytest.approx((3 * ner + 3 * (ner + topic)) / 6, 1e-3)
    assert estimate.max_completion_tokens_per_document == pytest.approx(
        estimate.prompts_per_document * 64, 0.01
    )
    assert estimate.total_prompt_tokens == round(estimate.prompt_tokens_per_document * 13)
    assert estimate.prompt_tokens_per_document > 0
    expected_hours = (estimate.total_prompt_tokens + estimate.total_max_completion_tokens) / 360000
    assert estimate.engine_hours == pytest.approx(expected_hours, rel=0.01)


def test_an_expected_answer_length_replaces_the_bound_and_a_bad_file_is_reported(tmp_path):
    corpus = tmp_path / "in"
    write_jsonl(corpus / "news.jsonl", [{"text": f"Ada {i}."} for i in range(4)])
    (corpus / "broken.parquet").write_bytes(b"not parquet")
    estimate = estimate_job(_config(corpus), FakeEngine(), completion_tokens_per_prompt=10)
    assert estimate.rows == 4 and "broken" in estimate.unreadable
    assert estimate.total_completion_tokens == round(estimate.prompts_per_document * 10 * 4)


@pytest.mark.engine
def test_the_cli_counts_with_the_models_own_tokenizer(tmp_path):
    from typer.testing import CliRunner

    from ie_batch.cli import app

    result = CliRunner().invoke(
        app,
        ["estimate", "--config", str(REPO / "examples" / "demo_en.yaml"), "--json"]
        + ["--sample", "8", "--tokens-per-second", "400"],
    )
    assert result.exit_code == 0, result.output
    estimate = json.loads(result.output)
    assert estimate["sampled"] == 8 and estimate["rows"] >= 8
    # a chat template and a few hundred characters of instructions: far more than words
    assert estimate["prompt_tokens_per_document"] > 100
    assert estimate["engine_hours"] > 0


def test_a_schema_an_encoder_predicts_costs_no_prompts(tmp_path):
    corpus = tmp_path / "in"
    write_jsonl(corpus / "news.jsonl", [{"text": f"Ada met Alan in Rome {i}."} for i in range(4)])
    write_jsonl(corpus / "topics_a.jsonl", [{"text": f"Match report {i}."} for i in range(4)])
    encoder = [{"schema": "topic_en", "path": str(tmp_path / "encoder")}]
    counter = FakeEngine(max_tokens=64)
    plain = estimate_job(_config(corpus), counter, sample=8)
    classified = estimate_job(_config(corpus, classifiers=encoder), counter, sample=8)
    topic = _slices(_config(corpus), "topic_en")
    assert classified.prompts_per_document == pytest.approx(
        plain.prompts_per_document - topic / 2, 1e-3
    )
    only_encoder = _config(corpus, schemas=["topic_en"], classifiers=encoder)
    assert estimate_job(only_encoder, counter, sample=8).prompts_per_document == 0
