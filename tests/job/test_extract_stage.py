"""ExtractionStage as a plain async callable: the fake engine, no Ray."""

import asyncio

import pyarrow as pa
import pytest

from ie_batch.engines.fake import FakeEngineFactory
from ie_batch.io.result_schema import RESULT_COLUMNS
from ie_batch.job.columns import ERRORS_COLUMN, ROW_COLUMN, SECONDS_COLUMN
from ie_batch.job.extract_stage import ExtractionStage
from tests.job.conftest import FLAKY, HEALTHY, LEXICON, refuse_engine


def _extract(config, batch, factory=HEALTHY):
    return asyncio.run(ExtractionStage(config, factory)(batch)).to_pylist()


def test_every_row_comes_out_once_in_order_with_the_result_columns(job_config, read_batch):
    rows = _extract(job_config, read_batch)
    assert [row[ROW_COLUMN] for row in rows] == [0, 1, 2, 3, 4]
    assert set(RESULT_COLUMNS) <= set(rows[0])
    assert [row["id"] for row in rows] == ["n1", "n2", "news:2", "n4", "n5"]
    assert all(row[SECONDS_COLUMN] >= 0 for row in rows)
    assert {(e["type"], e["text"], e["start"]) for e in rows[0]["entities"]} == {
        ("person", "Tim Cook", 0),
        ("location", "Berlin", 17),
    }


def test_gold_columns_are_renamed_and_the_input_id_becomes_id(job_config, read_batch):
    table = asyncio.run(ExtractionStage(job_config, FakeEngineFactory(LEXICON))(read_batch))
    assert "gold_entities" in table.column_names and "gold_label" in table.column_names
    assert "entities" in table.column_names  # the result column, not the gold one
    assert table.schema.field("id").type == pa.string()
    assert "_read_error" not in table.column_names


def test_unreadable_and_textless_rows_carry_read_errors_typed_and_rendered(job_config, read_batch):
    rows = _extract(job_config, read_batch)
    bad_line, no_text = rows[2], rows[3]
    (error,) = bad_line[ERRORS_COLUMN]
    assert error["stage"] == "read" and error["location"].endswith("news.jsonl:3")
    assert bad_line["errors"] == [f"read: {error['location']}: {error['reason']}"]
    assert no_text[ERRORS_COLUMN] == [
        {
            "stage": "read",
            "reason": "column 'text' is missing, expected a string",
            "location": "news row 3",
        }
    ]
    assert no_text["errors"] == ["read: news row 3: column 'text' is missing, expected a string"]
    assert bad_line["prompt_tokens"] == 0 and not bad_line["entities"]


def test_a_failed_prompt_is_an_extract_error_on_its_row_only(job_config, read_batch):
    rows = _extract(job_config, read_batch, FLAKY)
    turing = rows[1]
    assert turing["errors"] and all(e["stage"] == "extract" for e in turing[ERRORS_COLUMN])
    assert [e["reason"] for e in turing[ERRORS_COLUMN]] == turing["errors"]
    assert rows[0]["errors"] == [] and rows[0][ERRORS_COLUMN] == []


def test_a_schema_routed_to_other_shards_is_not_asked(job_config, read_batch):
    engine_factory = FakeEngineFactory(LEXICON)
    stage = ExtractionStage(job_config, engine_factory)
    asyncio.run(stage(read_batch))
    asked = {
        key for prompt in stage.engine.prompts_seen for key in prompt.answer_schema["properties"]
    }
    assert "label" not in asked  # topic_en runs on shards named other* only
    assert "person" in asked


@pytest.mark.parametrize("batch_rows", [1, 2])
def test_batches_of_any_size_give_one_row_per_input_row(job_config, read_batch, batch_rows):
    stage = ExtractionStage(job_config, FakeEngineFactory(LEXICON))
    out = [
        asyncio.run(stage(read_batch.slice(start, batch_rows)))
        for start in range(0, read_batch.num_rows, batch_rows)
    ]
    assert sum(table.num_rows for table in out) == read_batch.num_rows


def test_a_dataset_of_the_callers_without_the_readers_columns_comes_out_clean(
    job_config, read_batch
):
    """`ie_batch.extract` on a ray.data.Dataset: its rows never carry the reader's
    `_shard_rows`; the last stage drops whichever stage columns are there."""
    from ie_batch.api import _checked_gold
    from ie_batch.job.columns import STAGE_COLUMNS

    batch = read_batch.drop_columns(["_shard_rows"])
    extracted = asyncio.run(ExtractionStage(job_config, HEALTHY)(batch))
    checked = _checked_gold(extracted, job_config)
    assert checked.num_rows == batch.num_rows
    assert not set(STAGE_COLUMNS) & set(checked.column_names)


def _classified(corpus, folder, schemas):
    from ie_batch.config import config_from_data

    return config_from_data(
        {
            "input": {"paths": [str(corpus)]},
            "schemas": schemas,
            "output": "out",
            "classifiers": [{"schema": "topic_en", "path": str(folder)}],
        }
    )


def test_a_schema_with_a_classifier_is_scored_by_it_and_needs_no_engine(
    corpus, read_batch, topic_encoder
):
    stage = ExtractionStage(_classified(corpus, topic_encoder[0], ["topic_en"]), refuse_engine)
    assert stage.engine is None
    rows = asyncio.run(stage(read_batch)).to_pylist()
    topics = {"world", "sports", "business", "sci_tech"}
    for row in (rows[0], rows[1], rows[4]):  # the rows with a text
        (label,) = row["labels"]
        assert label["label"] in topics and 0 < label["score"] <= 1
        assert row["prompt_tokens"] == 0
    assert rows[2]["labels"] == [] and rows[2][ERRORS_COLUMN][0]["stage"] == "read"


def test_the_other_schemas_of_the_job_still_go_to_the_engine(corpus, read_batch, topic_encoder):
    config = _classified(corpus, topic_encoder[0], ["news_ner_en", "topic_en"])
    stage = ExtractionStage(config, HEALTHY)
    rows = asyncio.run(stage(read_batch)).to_pylist()
    assert {(e["type"], e["text"]) for e in rows[0]["entities"]} == {
        ("person", "Tim Cook"),
        ("location", "Berlin"),
    }
    assert len(rows[0]["labels"]) == 1 and rows[0]["labels"][0]["score"] is not None
    assert {p.slice.schema.name for p in stage.engine.prompts_seen} == {"news_ner_en"}


def test_a_dropped_stage_stops_its_engine(job_config):
    """Ray Data drops its stage when the actor exits: the engine must stop then, before Ray
    kills the actor's child processes (the vLLM engine core) under it."""
    stopped: list[str] = []
    engine = HEALTHY(job_config.engine, 0)
    engine.shutdown = lambda: stopped.append("shutdown")  # type: ignore[method-assign]
    stage = ExtractionStage(job_config, lambda config, num_gpus: engine)
    del stage
    assert stopped == ["shutdown"]


def _pooled(job_config, batch_size, batches_in_flight):
    pool = job_config.pool.model_copy(
        update={"batch_size": batch_size, "batches_in_flight": batches_in_flight}
    )
    return job_config.model_copy(update={"pool": pool})


class _CountingExtract:
    """Wraps a stage's extractor: the size of each batch it is asked, and the most batches
    under way at one time."""

    def __init__(self, extract) -> None:
        self.extract, self.sizes, self.running, self.peak = extract, [], 0, 0

    async def __call__(self, documents):
        self.sizes.append(len(documents))
        self.running += 1
        self.peak = max(self.peak, self.running)
        try:
            await asyncio.sleep(0.02)  # so the batches of a block overlap if they may
            return await self.extract(documents)
        finally:
            self.running -= 1


def test_a_block_is_cut_into_batches_run_as_the_actors_slots_allow(job_config, read_batch):
    stage = ExtractionStage(_pooled(job_config, 1, 2), FakeEngineFactory(LEXICON))
    counting = _CountingExtract(stage.extractor.extract)
    stage.extractor.extract = counting  # type: ignore[method-assign]

    async def two_blocks():  # as Ray Data calls an actor: several blocks at once
        return await asyncio.gather(stage(read_batch), stage(read_batch))

    first, second = asyncio.run(two_blocks())

    # rows 2 and 3 have no text: they never reach the extractor
    assert counting.sizes == [1, 1, 1, 1, 1, 1]
    assert counting.peak == 2, "the batches ran one at a time, or more than the slots allow"
    for table in (first, second):
        assert table.column(ROW_COLUMN).to_pylist() == [0, 1, 2, 3, 4]
    assert first.to_pylist()[0]["entities"] == _extract(job_config, read_batch)[0]["entities"]


def test_a_failing_batch_fails_its_block_with_its_own_error(job_config, read_batch):
    stage = ExtractionStage(_pooled(job_config, 2, 4), FakeEngineFactory(LEXICON))

    async def fail(documents):
        if any(doc.text.startswith("Alan") for doc in documents):
            raise RuntimeError("tokenizer crashed")
        return await extract(documents)

    extract = stage.extractor.extract
    stage.extractor.extract = fail  # type: ignore[method-assign]
    with pytest.raises(RuntimeError, match="tokenizer crashed"):
        asyncio.run(stage(read_batch))
