"""Scoring predictions against gold: per document, over rows, and over two files.

`score_document` is the unit the pipeline uses inside a batch; `Evaluation` adds up across
batches and shards; `evaluate_rows` and `evaluate_files` join a prediction set to a gold set by
`id` for offline evaluation (`ie-batch evaluate`, notebooks).

Joining rules (offline evaluation):
- ids are compared as strings, so `1` in one file and `"1"` in the other are the same row;
- a gold row with no prediction row counts as an empty prediction: its gold tuples and labels
  are false negatives, so recall reflects rows the job lost;
- a prediction row whose id is not in gold is ignored (it may come from unlabelled data mixed
  into the same job); so is a gold row with no gold column;
- each task is scored only on the rows whose gold covers it, and a task appears in the results
  only when some gold row covers it;
- every row needs an `id`, and ids must be unique within a file.
"""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

from ie_batch.metrics.classification import (
    BadCase,
    ClassificationCounts,
    bad_case,
    classification_counts,
    gold_labels,
)
from ie_batch.metrics.counts import Counts, sum_counts
from ie_batch.metrics.extraction import extraction_counts
from ie_batch.metrics.gold import (
    GoldLabels,
    add_label_counts,
    gold_from_row,
    prediction_from_row,
)
from ie_batch.results import DocumentResult
from ie_batch.schema.model import TaskKind

#: Score keys in the order reports list them.
SCORE_ORDER = ("ner", "re", "ee_trigger", "ee_argument")


class EvaluationError(ValueError):
    """A prediction or gold file (or one of its rows) cannot be scored."""


@dataclass
class Evaluation:
    """Everything needed to report on a set of scored rows; `+` and `sum()` add sets up."""

    extraction: dict[str, Counts] = field(default_factory=dict)
    classification: ClassificationCounts = field(default_factory=ClassificationCounts)
    bad_cases: list[BadCase] = field(default_factory=list)
    rows: int = 0
    #: `{task: {label: occurrences}}` of gold labels not in the schemas (`labels_outside`).
    unknown_gold_labels: dict[str, dict[str, int]] = field(default_factory=dict)

    def __add__(self, other: Evaluation) -> Evaluation:
        if not isinstance(other, Evaluation):
            return NotImplemented
        return Evaluation(
            extraction=sum_counts([self.extraction, other.extraction]),
            classification=self.classification + other.classification,
            bad_cases=[*self.bad_cases, *other.bad_cases],
            rows=self.rows + other.rows,
            unknown_gold_labels=add_label_counts(
                add_label_counts({}, self.unknown_gold_labels), other.unknown_gold_labels
            ),
        )

    def __radd__(self, other: Any) -> Evaluation:
        if isinstance(other, int) and other == 0:
            return self
        return NotImplemented

    def __iadd__(self, other: Evaluation) -> Self:
        # In place, so that adding up a million rows does not copy the bad cases each time.
        if not isinstance(other, Evaluation):
            return NotImplemented
        for key, counts in other.extraction.items():
            self.extraction[key] = self.extraction.get(key, Counts()) + counts
        self.classification = self.classification + other.classification
        self.bad_cases.extend(other.bad_cases)
        self.rows += other.rows
        add_label_counts(self.unknown_gold_labels, other.unknown_gold_labels)
        return self

    def metrics(self) -> dict[str, dict[str, Any]]:
        """`{task: {precision, recall, f1, tp, pred, gold}}` for the tasks gold covered.

        "classification" (when covered) adds accuracy, macro figures and per-class counts, see
        `ClassificationCounts.report`.
        """
        scores: dict[str, dict[str, Any]] = {
            key: self.extraction[key].to_dict() for key in SCORE_ORDER if key in self.extraction
        }
        if not self.classification.is_empty():
            scores["classification"] = self.classification.report()
        return scores


def score_document(
    predicted: DocumentResult,
    gold: GoldLabels,
    *,
    multi_label: bool = False,
    row_id: Any = None,
    text: str | None = None,
) -> Evaluation:
    """Score one document on the tasks its gold covers; `row_id`/`text` go into bad cases."""
    evaluation = Evaluation(
        extraction=extraction_counts(predicted, gold.result, gold.tasks), rows=1
    )
    if TaskKind.CLASSIFICATION in gold.tasks:
        evaluation.classification = classification_counts(
            predicted, gold.result, multi_label=multi_label
        )
        case = bad_case(row_id, text, predicted, gold.result, multi_label=multi_label)
        if case is not None:
            evaluation.bad_cases.append(case)
    return evaluation


def evaluate_rows(
    predictions: Iterable[Mapping[str, Any]],
    gold: Iterable[Mapping[str, Any]],
    *,
    multi_label: bool | None = None,
    text_column: str = "text",
    prediction_source: str = "predictions",
    gold_source: str = "gold",
) -> Evaluation:
    """Join prediction rows to gold rows by `id` and score them (rules in the module docstring).

    `multi_label=None` infers the classification mode from gold: multi-label as soon as one
    gold row has a number of labels other than one. Pass it explicitly when scoring shards
    separately, so that every shard is scored the same way. The `*_source` names go into
    error messages (evaluate_files passes the paths).
    """
    gold_rows: dict[str, tuple[int, Mapping[str, Any], GoldLabels]] = {}
    for number, row in enumerate(gold, start=1):
        key = _row_key(gold_source, number, row)
        if key in gold_rows:
            raise EvaluationError(
                f"{gold_source}: row {number}: id {row['id']!r} already used by row "
                f"{gold_rows[key][0]}"
            )
        try:
            labels = gold_from_row(row)
        except ValueError as error:
            raise _row_error(gold_source, number, row, error) from None
        if labels is not None:
            gold_rows[key] = (number, row, labels)

    predicted_rows: dict[str, tuple[int, Mapping[str, Any]]] = {}
    for number, row in enumerate(predictions, start=1):
        key = _row_key(prediction_source, number, row)
        if key in predicted_rows:
            raise EvaluationError(
                f"{prediction_source}: row {number}: id {row['id']!r} already used by row "
                f"{predicted_rows[key][0]}"
            )
        predicted_rows[key] = (number, row)

    if multi_label is None:
        multi_label = any(
            len(gold_labels(labels.result.labels)) != 1
            for _, _, labels in gold_rows.values()
            if TaskKind.CLASSIFICATION in labels.tasks
        )

    total = Evaluation()
    for key, (gold_number, gold_row, labels) in gold_rows.items():
        predicted = DocumentResult()
        predicted_row: Mapping[str, Any] = {}
        if key in predicted_rows:
            number, predicted_row = predicted_rows[key]
            try:
                predicted = prediction_from_row(predicted_row)
            except ValueError as error:
                raise _row_error(prediction_source, number, predicted_row, error) from None
        text = gold_row.get(text_column)
        if text is None:  # the output rows may carry the text through instead
            text = predicted_row.get(text_column)
        try:
            total += score_document(
                predicted, labels, multi_label=multi_label, row_id=gold_row["id"], text=text
            )
        except ValueError as error:
            raise _row_error(gold_source, gold_number, gold_row, error) from None
    return total


def evaluate_files(
    pred_path: str | Path,
    gold_path: str | Path,
    *,
    multi_label: bool | None = None,
    text_column: str = "text",
) -> dict[str, dict[str, Any]]:
    """Score a prediction file against a gold file (JSONL, JSON, .jsonl.gz or Parquet).

    Returns `{task: {precision, recall, f1, tp, pred, gold}}` with ratios in 0..1, for the tasks
    present in gold ("ner", "re", "ee_trigger", "ee_argument", "classification"). Use
    `evaluate_rows(read_rows(...), read_rows(...))` to get the bad cases too.
    """
    evaluation = evaluate_rows(
        read_rows(pred_path),
        read_rows(gold_path),
        multi_label=multi_label,
        text_column=text_column,
        prediction_source=str(pred_path),
        gold_source=str(gold_path),
    )
    return evaluation.metrics()


def read_rows(path: str | Path) -> list[dict[str, Any]]:
    """Read every row of a local JSONL / JSON / gzipped JSONL / Parquet file, by suffix.

    A `.json` file may hold a JSON array of rows or one row per line.
    """
    path = Path(path)
    name = path.name.lower()
    if name.endswith(".parquet"):
        import pyarrow.parquet as pq  # lazy: plain JSONL scoring needs no Arrow

        return pq.read_table(path).to_pylist()
    if name.endswith((".jsonl.gz", ".json.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as stream:
            return _json_rows(path, stream)
    if name.endswith((".jsonl", ".json")):
        with open(path, encoding="utf-8") as stream:
            return _json_rows(path, stream)
    raise EvaluationError(
        f"{path}: unknown file type; expected .jsonl, .json, .jsonl.gz or .parquet"
    )


def _json_rows(path: Path, stream: io.TextIOBase) -> list[dict[str, Any]]:
    text = stream.read()
    if text.lstrip().startswith("["):
        try:
            rows = json.loads(text)
        except json.JSONDecodeError as error:
            raise EvaluationError(f"{path}: invalid JSON: {error}") from None
        numbered = list(enumerate(rows, start=1))
    else:
        numbered = []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                numbered.append((number, json.loads(line)))
            except json.JSONDecodeError as error:
                raise EvaluationError(f"{path}: line {number}: invalid JSON: {error}") from None
    for number, row in numbered:
        if not isinstance(row, dict):
            raise EvaluationError(
                f"{path}: row {number}: expected a JSON object, got {type(row).__name__}"
            )
    return [row for _, row in numbered]


def _row_key(source: str, number: int, row: Mapping[str, Any]) -> str:
    row_id = row.get("id")
    if row_id is None:
        raise EvaluationError(f"{source}: row {number}: no 'id' (every row needs one to be joined)")
    return str(row_id)


def _row_error(
    source: str, number: int, row: Mapping[str, Any], error: Exception
) -> EvaluationError:
    return EvaluationError(f"{source}: row {number} (id={row.get('id')!r}): {error}")
