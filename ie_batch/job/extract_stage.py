"""The extraction stage: one Ray Data actor's work on one block of input rows.

Input rows carry their shard and row number (`job.columns`); output rows are the same rows, in
the same number and order, with the result columns added, gold columns renamed `gold_<name>`,
and the stage columns `_errors` (typed) and `_seconds` (each row's share of the batch's wall
time). A row that cannot be processed (unreadable line, missing text, failed engine) still comes
out, with its reasons in `errors`. The schemas `classifiers:` names are scored by their encoders
and the others prompted through the engine (`extraction.classifying`); when no schema is left
for the engine, none is started. Ray Data hands the stage blocks; it cuts each into batches,
which start as the actor's slots and the engine's room allow (`job.admission`).
A plain async callable: tests drive it without Ray.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import time
from typing import Any, NoReturn

import pyarrow as pa

from ie_batch.classifiers.factory import build_classifiers
from ie_batch.config import JobConfig
from ie_batch.engines.base import EngineDead
from ie_batch.engines.factory import EngineFactory, build_engine
from ie_batch.extraction.classifying import ClassifyingExtractor
from ie_batch.extraction.extractor import (
    BatchExtractor,
    Document,
    DocumentOutcome,
    ExtractionSettings,
)
from ie_batch.io.result_schema import RESULT_COLUMNS, RESULT_FIELDS
from ie_batch.job.actors import register_self
from ie_batch.job.admission import Admission, AdmissionLimits
from ie_batch.job.columns import (
    ERRORS_COLUMN,
    READ_ERROR_COLUMN,
    ROW_COLUMN,
    SECONDS_COLUMN,
    SHARD_COLUMN,
    passthrough,
    row_id,
)
from ie_batch.job.errors import ROW_ERRORS_TYPE, RowError, Stage
from ie_batch.job.routing import Routing, load_job_schemas
from ie_batch.prompts import get_format
from ie_batch.prompts.few_shot import load_few_shot
from ie_batch.results import DocumentResult

#: The exit status of an extraction actor whose engine died.
EXIT_ENGINE_DEAD = 75


class ExtractionStage:
    """A Ray Data callable class: the engine starts once per actor and serves many batches."""

    def __init__(
        self,
        config: JobConfig,
        engine_factory: EngineFactory = build_engine,
        registry: str | None = None,
    ) -> None:
        register_self(registry)
        self.config = config
        self.schemas = load_job_schemas(config)
        self.routing = Routing(config, self.schemas)
        classifiers = build_classifiers(config.classifiers, config.pool.num_gpus)
        prompted = [schema for schema in self.schemas if schema.name not in classifiers]
        examples = load_few_shot(
            config.prompt.examples, config.prompt.few_shot_k, config.input.text_column
        )
        settings = ExtractionSettings.from_prompt(config.prompt, prompted, examples)
        # an engine for the schemas no classifier predicts: none when every schema has one
        self.engine = engine_factory(config.engine, config.pool.num_gpus) if prompted else None
        extractor = (
            BatchExtractor(prompted, self.engine, get_format(config.prompt.format), settings)
            if self.engine is not None
            else None
        )
        self.extractor = ClassifyingExtractor(extractor, classifiers)
        limits = AdmissionLimits(config.pool.max_waiting_prompts, config.pool.max_kv_cache_usage)
        self.admission = Admission(self.engine, limits, config.pool.batches_in_flight)

    def __del__(self) -> None:
        # Ray Data drops its stage when the actor exits: stop the engine now, while its core
        # still runs, not after Ray has killed the actor's children (engines.vllm_engine)
        engine = getattr(self, "engine", None)
        if engine is not None:
            engine.shutdown()

    async def __call__(self, block: pa.Table) -> pa.Table:
        """`block` (one shard's rows) cut into batches of `pool.batch_size`, run as the
        actor's slots allow; the first batch that raises cancels the block's others, so the
        block is lost whole and asked again by the driver."""
        size = self.config.pool.batch_size
        if block.num_rows <= size:
            return await self._batch(block)
        try:
            async with asyncio.TaskGroup() as group:
                tasks = [
                    group.create_task(self._batch(block.slice(start, size)))
                    for start in range(0, block.num_rows, size)
                ]
        except BaseExceptionGroup as failed:  # a block fails as a one-batch block does
            raise failed.exceptions[0] from None
        return pa.concat_tables([task.result() for task in tasks])

    async def _batch(self, batch: pa.Table) -> pa.Table:
        async with self.admission.batch():
            started = time.perf_counter()
            rows = batch.to_pylist()
            documents, errors = self._documents(rows)
            ready = [i for i, doc in enumerate(documents) if doc is not None]
            outcomes: list[DocumentOutcome | None] = [None] * len(rows)
            if ready:
                try:
                    results = await self.extractor.extract([documents[i] for i in ready])  # type: ignore[misc]
                except EngineDead as exc:
                    _exit_for_a_new_engine(exc)
                for i, outcome in zip(ready, results, strict=True):
                    outcomes[i] = outcome
            seconds = (time.perf_counter() - started) / max(1, len(rows))
        return result_table(batch, rows, outcomes, errors, seconds, self.config.input.id_column)

    def _documents(
        self, rows: list[dict[str, Any]]
    ) -> tuple[list[Document | None], list[list[RowError]]]:
        text_column = self.config.input.text_column
        documents: list[Document | None] = []
        errors: list[list[RowError]] = []
        for row in rows:
            unreadable = row.get(READ_ERROR_COLUMN)
            if unreadable:
                documents.append(None)
                errors.append([RowError(Stage.READ, unreadable["reason"], unreadable["location"])])
                continue
            text = row.get(text_column)
            if not isinstance(text, str):
                where = f"{row.get(SHARD_COLUMN, 'input')} row {row.get(ROW_COLUMN, '?')}"
                got = "missing" if text is None else f"a {type(text).__name__}"
                documents.append(None)
                errors.append(
                    [
                        RowError(
                            Stage.READ, f"column {text_column!r} is {got}, expected a string", where
                        )
                    ]
                )
                continue
            doc_id = row_id(row, self.config.input.id_column)
            shard = row.get(SHARD_COLUMN)
            documents.append(Document(doc_id, text, self.routing.schemas_for(shard)))
            errors.append([])
        return documents, errors


def _exit_for_a_new_engine(exc: EngineDead) -> NoReturn:
    """The engine died under this actor: end the actor's process, so Ray starts a fresh one
    with a new engine, and the batches it held are asked again by the driver (`job.run`);
    writing them as error rows would commit a shard of failures."""
    logging.getLogger(__name__).error("ie_batch: %s; the extraction actor exits", exc)
    sys.stderr.flush()
    os._exit(EXIT_ENGINE_DEAD)


def result_table(
    batch: pa.Table,
    rows: list[dict[str, Any]],
    outcomes: list[DocumentOutcome | None],
    errors: list[list[RowError]],
    seconds: float,
    id_column: str,
) -> pa.Table:
    """The stage's output for `batch`: pass-through columns, result columns, stage columns.
    A row without an outcome (not asked) has empty results and its `errors` only."""
    results: list[dict[str, Any]] = []
    typed: list[list[dict[str, Any]]] = []
    for row, outcome, row_errors in zip(rows, outcomes, errors, strict=True):
        result = outcome.result if outcome is not None else DocumentResult()
        row_errors = row_errors + [RowError(Stage.EXTRACT, e) for e in result.errors]
        typed.append([error.to_arrow() for error in row_errors])
        results.append(
            {
                **result.to_row(),
                "errors": [error.render() for error in row_errors],
                "id": row_id(row, id_column),
                "prompt_tokens": outcome.prompt_tokens if outcome else 0,
                "completion_tokens": outcome.completion_tokens if outcome else 0,
                "cached_prompt_tokens": outcome.cached_tokens if outcome else 0,
            }
        )
    result_columns = pa.Table.from_pylist(results, schema=pa.schema(RESULT_FIELDS))
    table = passthrough(batch, id_column)
    for name in RESULT_COLUMNS:
        table = table.append_column(name, result_columns.column(name))
    table = table.append_column(ERRORS_COLUMN, pa.array(typed, ROW_ERRORS_TYPE))
    return table.append_column(SECONDS_COLUMN, pa.array([seconds] * len(rows), pa.float64()))
