"""The extraction stage: one Ray Data actor's work on one batch of input rows.

Input rows carry their shard and row number (see `io.reading`); output rows are the same rows, in
the same number, with the result columns added, gold columns renamed `gold_<name>`, and two
bookkeeping columns for the writer: `_evaluation` (the row's pickled score, when it has gold) and
`_seconds` (its share of the batch's wall time). A row that cannot be processed (unreadable line,
missing text, failed engine) still comes out, with its reasons in `errors`.
"""

from __future__ import annotations

import hashlib
import pickle
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pyarrow as pa

from ie_batch.config import JobConfig, SchemaRef, schema_path
from ie_batch.engines.base import Engine
from ie_batch.extractor import BatchExtractor, Document, DocumentOutcome, ExtractionSettings
from ie_batch.io.reading import READ_ERROR_COLUMN, ROW_COLUMN, SHARD_COLUMN
from ie_batch.io.result_schema import RESULT_COLUMNS, RESULT_FIELDS
from ie_batch.metrics import ColumnShapeError, Evaluation, gold_from_row, score_document
from ie_batch.metrics.gold import GOLD_COLUMNS
from ie_batch.prompts import Example, get_format
from ie_batch.results import DocumentResult
from ie_batch.schema import AnySchema, ClassificationSchema, load_schema

EVALUATION_COLUMN = "_evaluation"
SECONDS_COLUMN = "_seconds"
GOLD_NAMES = frozenset(name for names in GOLD_COLUMNS.values() for name in names)

EngineFactory = Callable[[JobConfig], Engine]


def load_job_schemas(config: JobConfig) -> list[AnySchema]:
    return [load_schema(schema_path(ref.schema_)) for ref in config.schemas]


def build_vllm_engine(config: JobConfig) -> Engine:
    from ie_batch.engines.vllm_engine import VllmEngine

    return VllmEngine.from_config(config.engine, num_gpus=config.pool.num_gpus)


def schema_routes(config: JobConfig, schemas: list[AnySchema]) -> dict[str, SchemaRef]:
    return {schema.name: ref for schema, ref in zip(schemas, config.schemas, strict=True)}


def asked_schemas(routes: dict[str, SchemaRef], shard: str | None) -> frozenset[str]:
    """The schemas a row of `shard` is asked (and scored) on."""
    return frozenset(name for name, ref in routes.items() if ref.applies_to(shard))


class ExtractionStage:
    """A Ray Data callable class: the engine starts once per actor and serves many batches."""

    def __init__(
        self, config: JobConfig, engine_factory: EngineFactory = build_vllm_engine
    ) -> None:
        self.config = config
        self.schemas = load_job_schemas(config)
        self.scorer = Scorer(self.schemas, config.input.id_column)
        self.routes = schema_routes(config, self.schemas)
        settings = ExtractionSettings.from_prompt(
            config.prompt, load_examples(config, self.schemas)
        )
        self.engine = engine_factory(config)
        self.extractor = BatchExtractor(
            self.schemas, self.engine, get_format(config.prompt.format), settings
        )

    def schemas_for(self, shard: str | None) -> frozenset[str]:
        return asked_schemas(self.routes, shard)

    async def __call__(self, batch: pa.Table) -> pa.Table:
        started = time.perf_counter()
        rows = batch.to_pylist()
        documents, errors = self._documents(rows)
        ready = [i for i, doc in enumerate(documents) if doc is not None]
        outcomes: list[DocumentOutcome | None] = [None] * len(rows)
        if ready:
            results = await self.extractor.extract([documents[i] for i in ready])  # type: ignore[misc]
            for i, outcome in zip(ready, results, strict=True):
                outcomes[i] = outcome
        seconds = (time.perf_counter() - started) / max(1, len(rows))
        return self._table(batch, rows, documents, outcomes, errors, seconds)

    def _documents(
        self, rows: list[dict[str, Any]]
    ) -> tuple[list[Document | None], list[list[str]]]:
        text_column = self.config.input.text_column
        documents: list[Document | None] = []
        errors: list[list[str]] = []
        for row in rows:
            doc_id = row_id(row, self.config.input.id_column)
            if row.get(READ_ERROR_COLUMN):
                documents.append(None)
                errors.append([f"read: {row[READ_ERROR_COLUMN]}"])
                continue
            text = row.get(text_column)
            if not isinstance(text, str):
                where = f"{row.get(SHARD_COLUMN, 'input')} row {row.get(ROW_COLUMN, '?')}"
                got = "missing" if text is None else f"a {type(text).__name__}"
                documents.append(None)
                errors.append(
                    [f"read: {where}: column {text_column!r} is {got}, expected a string"]
                )
                continue
            documents.append(Document(doc_id, text, self.schemas_for(row.get(SHARD_COLUMN))))
            errors.append([])
        return documents, errors

    def _table(
        self,
        batch: pa.Table,
        rows: list[dict[str, Any]],
        documents: list[Document | None],
        outcomes: list[DocumentOutcome | None],
        errors: list[list[str]],
        seconds: float,
    ) -> pa.Table:
        results: list[dict[str, Any]] = []
        evaluations: list[bytes | None] = []
        for row, document, outcome, row_errors in zip(
            rows, documents, outcomes, errors, strict=True
        ):
            result = outcome.result if outcome is not None else DocumentResult()
            result.errors[:0] = row_errors
            evaluation, gold_error = self.scorer.score(
                row,
                document.text if document else None,
                result,
                self.schemas_for(row.get(SHARD_COLUMN)),
            )
            if gold_error:
                result.errors.append(gold_error)
            evaluations.append(pickle.dumps(evaluation) if evaluation else None)
            results.append(
                {
                    **result.to_row(),
                    "id": row_id(row, self.config.input.id_column),
                    "prompt_tokens": outcome.prompt_tokens if outcome else 0,
                    "completion_tokens": outcome.completion_tokens if outcome else 0,
                }
            )
        result_table = pa.Table.from_pylist(results, schema=pa.schema(RESULT_FIELDS))
        table = passthrough(batch, self.config.input.id_column)
        for name in RESULT_COLUMNS:
            table = table.append_column(name, result_table.column(name))
        table = table.append_column(EVALUATION_COLUMN, pa.array(evaluations, pa.binary()))
        return table.append_column(SECONDS_COLUMN, pa.array([seconds] * len(rows), pa.float64()))


class Scorer:
    """Scores a row's result against its gold columns, on the tasks the job runs."""

    def __init__(self, schemas: list[AnySchema], id_column: str) -> None:
        self.kinds = {schema.name: schema.kind for schema in schemas}
        self.multi_label = any(
            isinstance(s, ClassificationSchema) and s.multi_label for s in schemas
        )
        self.id_column = id_column

    def score(
        self,
        row: dict[str, Any],
        text: str | None,
        result: DocumentResult,
        asked: frozenset[str] | None = None,
    ) -> tuple[Evaluation | None, str | None]:
        """The row's evaluation (None without gold) and a gold-column error, if any; only the
        tasks of the schemas the row was `asked` (all, when None) are scored."""
        try:
            gold = gold_from_row(row)
        except ColumnShapeError as exc:
            return None, f"gold: {exc}"
        kinds = frozenset(
            kind for name, kind in self.kinds.items() if asked is None or name in asked
        )
        if gold is None or not (gold.tasks & kinds):
            return None, None
        gold = replace(gold, tasks=gold.tasks & kinds)  # only the tasks this row was asked
        evaluation = score_document(
            result,
            gold,
            multi_label=self.multi_label,
            row_id=row_id(row, self.id_column),
            text=text,
        )
        return evaluation, None


def row_id(row: dict[str, Any], id_column: str) -> str:
    """The row's own id, else '<shard>:<row>' (stable across reruns), else a hash of its text."""
    value = row.get(id_column)
    if value is not None and value != "":
        return str(value)
    if row.get(SHARD_COLUMN) is not None and row.get(ROW_COLUMN) is not None:
        return f"{row[SHARD_COLUMN]}:{row[ROW_COLUMN]}"
    digest = hashlib.sha256(repr(sorted(row.items())).encode("utf-8")).hexdigest()
    return digest[:16]


def passthrough(batch: pa.Table, id_column: str) -> pa.Table:
    """The input columns that go to the output: gold renamed `gold_<name>`, ids moved to `id`."""
    names = []
    for name in batch.column_names:
        if name == READ_ERROR_COLUMN or name in RESULT_COLUMNS and name not in GOLD_NAMES:
            names.append(None)
        elif name in GOLD_NAMES:
            names.append(f"gold_{name}")
        elif name == id_column:
            names.append(None)  # becomes the `id` result column, always a string
        else:
            names.append(name)
    keep = [i for i, name in enumerate(names) if name is not None]
    table = batch.select(keep)
    return table.rename_columns([names[i] for i in keep])


def input_row(result_row: dict[str, Any], id_column: str) -> dict[str, Any]:
    """The input row a result row was made from: result columns dropped, gold renamed back."""
    row: dict[str, Any] = {}
    for name, value in result_row.items():
        if name == "id":
            row[id_column] = value
        elif name in RESULT_COLUMNS:
            continue
        elif name.startswith("gold_") and name[5:] in GOLD_NAMES:
            row[name[5:]] = value
        else:
            row[name] = value
    return row


def load_examples(config: JobConfig, schemas: list[AnySchema]) -> dict[str, list[Example]]:
    """Few-shot examples: the first `few_shot_k` labelled rows of the examples file, per schema."""
    from ie_batch.taskflow import load_few_shot

    examples = load_few_shot(config.prompt, config.input.text_column)
    return {schema.name: examples for schema in schemas} if examples else {}
