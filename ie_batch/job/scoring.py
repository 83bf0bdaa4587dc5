"""Scoring result rows against their gold columns, on the tasks each row was asked.

It runs on written rows (the write stage, before a part is written; `retry-errors`, when it
recomputes a shard's figures from its parts), so one code path decides every F1 the job reports,
and the extraction actors spend no time on it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

from ie_batch.config import JobConfig
from ie_batch.job.columns import SHARD_COLUMN, input_row, row_id
from ie_batch.job.errors import RowError, Stage
from ie_batch.job.routing import Routing, load_job_schemas
from ie_batch.metrics import (
    ColumnShapeError,
    Evaluation,
    gold_from_row,
    labels_outside,
    score_document,
)
from ie_batch.results import DocumentResult
from ie_batch.schema import AnySchema, ClassificationSchema, TaskKind


@dataclass(frozen=True)
class RowScore:
    """One row's evaluation (None without gold on an asked task) and its gold-column error."""

    evaluation: Evaluation | None = None
    error: RowError | None = None


class Scorer:
    def __init__(
        self,
        schemas: list[AnySchema],
        routing: Routing,
        id_column: str = "id",
        text_column: str = "text",
    ) -> None:
        self.kinds = {schema.name: schema.kind for schema in schemas}
        self.labels = {schema.name: _known_labels(schema) for schema in schemas}
        self.multi_label = any(
            isinstance(s, ClassificationSchema) and s.multi_label for s in schemas
        )
        self.routing = routing
        self.id_column = id_column
        self.text_column = text_column

    @classmethod
    def for_config(cls, config: JobConfig) -> Scorer:
        """The job's scorer; built once per process and configuration (write tasks reuse it)."""
        return _scorer(config.model_dump_json(by_alias=True))

    def score_result_row(self, row: dict[str, Any]) -> RowScore:
        """Score a result row (as written: gold in `gold_<name>`, results in their columns)."""
        text = row.get(self.text_column)
        return self.score(
            input_row(row, self.id_column),
            text if isinstance(text, str) else None,
            DocumentResult.from_row(row),
            self.routing.schemas_for(row.get(SHARD_COLUMN)),
        )

    def score(
        self,
        row: dict[str, Any],
        text: str | None,
        result: DocumentResult,
        asked: frozenset[str] | None = None,
    ) -> RowScore:
        """Score an input row's gold against `result`; only the tasks of the schemas the row
        was `asked` (all, when None) are scored."""
        try:
            gold = gold_from_row(row)
        except ColumnShapeError as exc:
            return RowScore(error=RowError(Stage.GOLD, str(exc)))
        kinds = frozenset(
            kind for name, kind in self.kinds.items() if asked is None or name in asked
        )
        if gold is None or not (gold.tasks & kinds):
            return RowScore()
        gold = replace(gold, tasks=gold.tasks & kinds)  # only the tasks this row was asked
        evaluation = score_document(
            result,
            gold,
            multi_label=self.multi_label,
            row_id=row_id(row, self.id_column),
            text=text,
        )
        evaluation.unknown_gold_labels = labels_outside(gold, self._known(asked))
        return RowScore(evaluation=evaluation)

    def _known(self, asked: frozenset[str] | None) -> dict[TaskKind, frozenset[str]]:
        """The labels the asked schemas offer, per task (several schemas of a task pool theirs)."""
        known: dict[TaskKind, frozenset[str]] = {}
        for name, labels in self.labels.items():
            if asked is None or name in asked:
                kind = self.kinds[name]
                known[kind] = known.get(kind, frozenset()) | labels
        return known


def _known_labels(schema: AnySchema) -> frozenset[str]:
    names = frozenset(schema.label_names)
    if isinstance(schema, ClassificationSchema):
        names |= {schema.none_label}
    return names


@lru_cache(maxsize=8)
def _scorer(config_json: str) -> Scorer:
    config = JobConfig.model_validate_json(config_json)
    schemas = load_job_schemas(config)
    return Scorer(
        schemas, Routing(config, schemas), config.input.id_column, config.input.text_column
    )
