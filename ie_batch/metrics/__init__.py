"""Metrics: IEPile-style extraction F1, classification reports, and their aggregation.

Everything is computed from counts that add up (`Counts`, `ClassificationCounts`,
`Evaluation`), so a batch, a shard and a whole job are scored the same way.
Pure Python; Arrow is imported only to read Parquet files.
"""

from ie_batch.metrics.classification import (
    BadCase,
    ClassificationCounts,
    bad_case,
    classification_counts,
    gold_labels,
    predicted_labels,
)
from ie_batch.metrics.counts import Counts, sum_counts
from ie_batch.metrics.evaluate import (
    Evaluation,
    EvaluationError,
    evaluate_files,
    evaluate_rows,
    read_rows,
    score_document,
)
from ie_batch.metrics.extraction import (
    NAN_ARGUMENT,
    argument_tuples,
    ee_counts,
    entity_tuples,
    extraction_counts,
    match_counts,
    ner_counts,
    re_counts,
    relation_tuples,
    trigger_tuples,
)
from ie_batch.metrics.gold import (
    ColumnShapeError,
    GoldLabels,
    gold_from_row,
    labels_outside,
    prediction_from_row,
)

__all__ = [
    "NAN_ARGUMENT",
    "BadCase",
    "ClassificationCounts",
    "ColumnShapeError",
    "Counts",
    "Evaluation",
    "EvaluationError",
    "GoldLabels",
    "argument_tuples",
    "bad_case",
    "classification_counts",
    "ee_counts",
    "entity_tuples",
    "evaluate_files",
    "evaluate_rows",
    "extraction_counts",
    "gold_from_row",
    "labels_outside",
    "gold_labels",
    "match_counts",
    "ner_counts",
    "predicted_labels",
    "prediction_from_row",
    "re_counts",
    "read_rows",
    "relation_tuples",
    "score_document",
    "sum_counts",
    "trigger_tuples",
]
