"""write_results: extracted rows -> scored, staged parts and sidecars, and shard summaries."""

import asyncio
import json

import pyarrow.parquet as pq

from ie_batch.io.layout import OutputLayout
from ie_batch.job.columns import STAGE_COLUMNS
from ie_batch.job.extract_stage import ExtractionStage
from ie_batch.job.write_stage import ShardSummary, write_results
from tests.job.conftest import FLAKY, HEALTHY


def _write(config, batch, factory=HEALTHY):
    extracted = asyncio.run(ExtractionStage(config, factory)(batch))
    summaries = write_results(extracted, config)
    return [ShardSummary.from_row(row) for row in summaries.to_pylist()]


def test_a_shard_batch_is_staged_as_one_part_named_by_its_rows(job_config, read_batch):
    (summary,) = _write(job_config, read_batch)
    layout = OutputLayout.open(job_config.output)
    staged = layout.staged_data_dir("news")
    assert summary.part == f"{staged}/part-000000000-000000004.parquet"
    table = pq.read_table(summary.part)
    assert table.column("_row").to_pylist() == [0, 1, 2, 3, 4]
    assert not set(STAGE_COLUMNS) & set(table.column_names)
    assert not layout.fs.exists(layout.data_dir("news"))  # nothing is published by writing


def test_the_summary_counts_rows_errors_tokens_and_scores_the_gold(job_config, read_batch):
    (summary,) = _write(job_config, read_batch)
    tally = summary.tally
    assert (summary.shard, tally.rows, tally.error_rows) == ("news", 5, 3)
    assert tally.prompt_tokens > 0 and tally.completion_tokens > 0
    assert tally.evaluation.rows == 1  # n1 has NER gold; n2's label is for a schema not asked
    assert tally.evaluation.metrics()["ner"]["tp"] == 1
    again = ShardSummary.from_row(summary.to_row())
    assert again.tally.evaluation.metrics() == tally.evaluation.metrics()


def test_a_bad_gold_column_is_an_error_on_its_row(job_config, read_batch):
    (summary,) = _write(job_config, read_batch)
    rows = {row["id"]: row for row in pq.read_table(summary.part).to_pylist()}
    (error,) = rows["n5"]["errors"]
    assert error.startswith("gold: column 'entities'")
    assert rows["n1"]["errors"] == []


def test_the_sidecar_names_each_errors_stage(job_config, read_batch):
    _write(job_config, read_batch, FLAKY)
    layout = OutputLayout.open(job_config.output)
    (path,) = layout.fs.glob(f"{layout.staged_errors_dir('news')}/*.jsonl")
    lines = [json.loads(line) for line in open(path, encoding="utf-8")]
    stages = {}
    for line in lines:
        stages.setdefault(line["id"], set()).add(line["stage"])
    assert stages == {"n2": {"extract"}, "news:2": {"read"}, "n4": {"read"}, "n5": {"gold"}}
    (no_text,) = [line for line in lines if line["id"] == "n4"]
    assert no_text["reason"] == "news row 3: column 'text' is missing, expected a string"
