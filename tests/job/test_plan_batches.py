"""The blocks and batches of the plan (ie_batch.job.plan): blocks of `pool.block_rows` rows of
one shard each, and `pool.batches_in_flight` batches running at once on one extraction actor. On a local Ray; the
engine is a fake that logs when each document's prompts start and end waiting on it."""

from __future__ import annotations

import json
import os
import re
import time

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ie_batch.config import config_from_data
from ie_batch.engines.fake import FakeEngine, LexiconAnswers
from ie_batch.io.shards import list_shards
from ie_batch.job.columns import SHARD_COLUMN
from ie_batch.job.plan import read_batches
from ie_batch.job.run import run_job

pytestmark = pytest.mark.ray

SHARDS = 8
IN_FLIGHT = 3
#: Each document's text names its day, which tells its prompts apart from the others'.
DAY = re.compile(r"day \d+")


class _LoggingEngine(FakeEngine):
    """Appends `+` when a generate call starts and `-` when it ends, with the document it asks
    about, to a file the test reads: the actor is another process."""

    def __init__(self, log: str) -> None:
        super().__init__(LexiconAnswers(entities={"person": ["Tim Cook"]}), delay_s=0.05)
        self.log = log

    def _write(self, mark: str, prompts) -> None:
        documents = sorted(
            {day for p in prompts for message in p.messages for day in DAY.findall(message.content)}
        )
        with open(self.log, "a", encoding="utf-8") as out:
            out.write(json.dumps([mark, time.monotonic(), documents]) + "\n")

    async def generate(self, prompts):
        self._write("+", prompts)
        try:
            return await super().generate(prompts)
        finally:
            self._write("-", prompts)


class _LoggingFactory:
    def __init__(self, log: str) -> None:
        self.log = log

    def __call__(self, config: object, num_gpus: float = 0) -> _LoggingEngine:
        return _LoggingEngine(self.log)


def _peak_documents_in_flight(log: str) -> int:
    """The most documents with a generate call under way at one time."""
    events = [json.loads(line) for line in open(log, encoding="utf-8")]
    calls: dict[str, int] = {}
    peak = 0
    for mark, _, documents in sorted(events, key=lambda event: (event[1], event[0] == "+")):
        for document in documents:
            calls[document] = calls.get(document, 0) + (1 if mark == "+" else -1)
        peak = max(peak, sum(1 for count in calls.values() if count > 0))
    return peak


def test_one_actor_runs_batches_in_flight_batches_at_once(ray_runtime, tmp_path):
    # one row per shard, so each read block, and so each batch, is one document however Ray
    # Data shapes or splits blocks: documents waiting together are batches running together
    corpus = tmp_path / "in"
    corpus.mkdir()
    for i in range(SHARDS):
        row = {"id": f"r{i}", "text": f"Tim Cook spoke on day {i}."}
        (corpus / f"s{i}.jsonl").write_text(json.dumps(row) + "\n")
    config = config_from_data(
        {
            "input": {"paths": [str(corpus)]},
            "schemas": ["news_ner_en"],
            "output": str(tmp_path / "out"),
            "pool": {"batches_in_flight": IN_FLIGHT, "max_actors": 1},
        }
    )
    log = str(tmp_path / "calls.jsonl")
    report = run_job(config, engine_factory=_LoggingFactory(log), print_report=False)

    assert report.total.rows == SHARDS and report.total.error_rows == 0
    assert os.path.getsize(log) > 0
    peak = _peak_documents_in_flight(log)
    assert peak > 1, "the actor ran one batch at a time"
    assert peak <= IN_FLIGHT


def test_blocks_are_block_rows_of_one_shard_however_ray_data_shapes_them(ray_runtime, tmp_path):
    # Ray Data merges a read task's tables into one block and splits blocks when read tasks
    # are few; the plan's blocks must still be block_rows rows, and never two shards' rows
    # (an `id` column is an integer in one shard, text in another, a float in the Parquet one)
    corpus = tmp_path / "in"
    corpus.mkdir()
    sizes = {"a": 50, "b": 3, "c": 17}
    for name, count in sizes.items():
        rows = [{"id": i if name != "b" else str(i), "text": f"{name} {i}"} for i in range(count)]
        (corpus / f"{name}.jsonl").write_text("\n".join(json.dumps(row) for row in rows) + "\n")
    table = pa.Table.from_pylist([{"id": i + 0.5, "text": f"p {i}"} for i in range(40)])
    pq.write_table(table, corpus / "p.parquet")
    config = config_from_data(
        {
            "input": {"paths": [str(corpus)]},
            "schemas": ["news_ner_en"],
            "output": str(tmp_path / "out"),
            "pool": {"batch_size": 4, "block_rows": 16},
        }
    )
    listing = list_shards(config.input.paths)
    dataset = read_batches(
        config, listing.fs, listing.shards, {s.name: None for s in listing.shards}
    )

    batches: dict[str, list[int]] = {}
    for block in dataset.iter_batches(batch_size=None, batch_format="pyarrow"):
        (shard,) = set(block.column(SHARD_COLUMN).to_pylist())
        batches.setdefault(shard, []).append(block.num_rows)
    assert {shard: sorted(rows, reverse=True) for shard, rows in batches.items()} == {
        "a": [16, 16, 16, 2],
        "b": [3],
        "c": [16, 1],
        "p": [16, 16, 8],
    }
