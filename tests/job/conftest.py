"""A small corpus and job config the job's unit tests share (no Ray, fake engine)."""

import json

import pytest

from ie_batch.config import config_from_data
from ie_batch.engines.fake import FailingAnswers, FakeEngineFactory, LexiconAnswers
from ie_batch.io.reading import iter_shard_batches
from ie_batch.io.shards import list_shards

LEXICON = LexiconAnswers(
    entities={"person": ["Tim Cook", "Alan Turing"], "location": ["Berlin"]},
    labels={"business": ["Tim Cook"], "world": ["Turing"]},
)
HEALTHY = FakeEngineFactory(LEXICON)
#: Fails every prompt about Turing, the way an engine fails a request.
FLAKY = FakeEngineFactory(FailingAnswers(LEXICON, ["Turing"]))


def refuse_engine(config, num_gpus=0):
    """The engine factory of a job whose schemas all have a classifier: none may start."""
    raise AssertionError("every schema has a classifier: no engine may start")


@pytest.fixture
def corpus(tmp_path):
    """news.jsonl: two good rows with gold (one about Turing), a bad line, a row without text,
    a row whose gold column has no valid shape."""
    folder = tmp_path / "in"
    folder.mkdir()
    rows = [
        {
            "id": "n1",
            "text": "Tim Cook visited Berlin.",
            "entities": [{"type": "person", "text": "Tim Cook"}],
            "label": "business",
        },
        {"id": "n2", "text": "Alan Turing broke codes.", "label": "world"},
        "not json",
        {"id": "n4"},
        {"id": "n5", "text": "Berlin is big.", "entities": 5},
    ]
    lines = [row if isinstance(row, str) else json.dumps(row) for row in rows]
    (folder / "news.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


@pytest.fixture
def job_config(corpus, tmp_path):
    return config_from_data(
        {
            "input": {"paths": [str(corpus)]},
            "schemas": ["news_ner_en", {"schema": "topic_en", "shards": ["other*"]}],
            "output": str(tmp_path / "out"),
        }
    )


@pytest.fixture
def read_batch(job_config):
    """The corpus as the read stage hands it on: one table, rows tagged."""
    listing = list_shards(job_config.input.paths)
    fs, (shard,) = listing.fs, listing.shards
    (batch,) = iter_shard_batches(fs, shard)
    return batch
