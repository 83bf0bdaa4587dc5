"""Helpers the fault tests share: a job over a folder with the fake engine, and the invariant."""

import json

import pyarrow.parquet as pq

from ie_batch.api import read_results
from ie_batch.config import config_from_data
from ie_batch.engines.fake import FakeEngineFactory, LexiconAnswers

LEXICON = LexiconAnswers(entities={"person": ["Ada", "Alan"]})
HEALTHY = FakeEngineFactory(LEXICON)


def write_jsonl(path, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def job(corpus, output, **extra):
    return config_from_data(
        {
            "input": {"paths": [str(corpus)]},
            "schemas": ["news_ner_en"],
            "output": str(output),
            "pool": {"batch_size": 4},
            **extra,
        }
    )


def assert_exactly_once(output, shard, expected_rows):
    """The committed results of `shard` are its input rows 0..expected_rows-1, once each."""
    table = read_results(str(output))
    rows = [row for row in table.to_pylist() if row["_shard"] == shard]
    assert sorted(row["_row"] for row in rows) == list(range(expected_rows))


def part_rows(output, shard):
    return sorted(
        row
        for path in (output / "data" / shard).glob("*.parquet")
        for row in pq.read_table(path).column("_row").to_pylist()
    )
