"""Classification reports in PaddleNLP's terms, built from counts that add up.

PaddleNLP's text-classification recipes report accuracy, macro and per-class P/R/F1 (sklearn's
`accuracy_score`, `f1_score`, `classification_report`) and write a bad-case file of the rows the
model got wrong. Those figures are all functions of per-class (tp, pred, gold) counts plus the
number of rows and of exactly right rows, so that is what `ClassificationCounts` keeps: it adds
up across batches, shards and jobs, and `report()` computes every figure once from the sums.

Definitions (sklearn's, as PaddleNLP uses them):
- accuracy: rows whose predicted label set equals the gold set, over rows (for multi-label this
  is subset accuracy);
- micro P/R/F1: from the counts summed over classes;
- macro P/R/F1: the unweighted mean over classes of the per-class P, R and F1 (macro F1 is the
  mean of per-class F1, not the F1 of macro P and R); the classes are those seen in gold or in
  predictions.

Multi-class: gold has exactly one label; the prediction is the label with the highest score
(the first one when there are no scores). An empty prediction is wrong: the row counts towards
its gold class and towards accuracy's denominator, and adds no prediction to any class.
Multi-label: gold and prediction are sets of labels; every predicted label is a prediction.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypedDict

from ie_batch.metrics.counts import Counts
from ie_batch.results import DocumentResult, LabelScore


class BadCase(TypedDict):
    """One mis-classified row, as in PaddleNLP's bad-case file.

    `label` and `prediction` are strings for multi-class (prediction None when the model gave
    none) and sorted lists of strings for multi-label.
    """

    id: Any
    text: str | None
    label: str | list[str]
    prediction: str | list[str] | None


@dataclass(frozen=True)
class ClassificationCounts:
    """Per-class match counts plus row totals; `+` and `sum()` add them up exactly."""

    multi_label: bool = False
    rows: int = 0
    correct: int = 0
    per_class: Mapping[str, Counts] = field(default_factory=dict)

    @classmethod
    def of_row(
        cls, gold: Collection[str], predicted: Collection[str], *, multi_label: bool
    ) -> ClassificationCounts:
        """Counts for one row from its gold and predicted label sets.

        Multi-class needs exactly one gold label and at most one predicted label.
        """
        gold_set, predicted_set = set(gold), set(predicted)
        if not multi_label:
            if len(gold_set) != 1:
                raise ValueError(
                    f"multi-class gold needs exactly one label, got {sorted(gold_set)}"
                )
            if len(predicted_set) > 1:
                raise ValueError(
                    f"multi-class prediction has at most one label, got {sorted(predicted_set)}"
                )
        per_class = {
            label: Counts(
                tp=int(label in gold_set and label in predicted_set),
                pred=int(label in predicted_set),
                gold=int(label in gold_set),
            )
            for label in gold_set | predicted_set
        }
        return cls(
            multi_label=multi_label,
            rows=1,
            correct=int(gold_set == predicted_set),
            per_class=per_class,
        )

    def is_empty(self) -> bool:
        return self.rows == 0 and not self.per_class

    def __add__(self, other: ClassificationCounts) -> ClassificationCounts:
        if not isinstance(other, ClassificationCounts):
            return NotImplemented
        # An empty total takes the mode of whatever is added to it, so sums can start anywhere.
        if other.is_empty():
            return self
        if self.is_empty():
            return other
        if self.multi_label != other.multi_label:
            raise ValueError("cannot add multi-class and multi-label counts")
        per_class = dict(self.per_class)
        for label, counts in other.per_class.items():
            per_class[label] = per_class.get(label, Counts()) + counts
        return ClassificationCounts(
            multi_label=self.multi_label,
            rows=self.rows + other.rows,
            correct=self.correct + other.correct,
            per_class=per_class,
        )

    def __radd__(self, other: Any) -> ClassificationCounts:
        if isinstance(other, int) and other == 0:
            return self
        return NotImplemented

    def report(self) -> dict[str, Any]:
        """Accuracy, micro (top-level precision/recall/f1/tp/pred/gold), macro and per-class."""
        micro = sum(self.per_class.values(), Counts())
        classes = sorted(self.per_class)
        n = len(classes)

        def mean(values: list[float]) -> float:
            return sum(values) / n if n else 0.0

        return {
            "multi_label": self.multi_label,
            "rows": self.rows,
            "correct": self.correct,
            "accuracy": self.correct / self.rows if self.rows else 0.0,
            **micro.to_dict(),
            "macro_precision": mean([self.per_class[c].precision for c in classes]),
            "macro_recall": mean([self.per_class[c].recall for c in classes]),
            "macro_f1": mean([self.per_class[c].f1 for c in classes]),
            "per_class": {c: self.per_class[c].to_dict() for c in classes},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ClassificationCounts:
        """Read counts back from `report()` output (e.g. a shard's metrics file) to re-sum."""
        return cls(
            multi_label=bool(data["multi_label"]),
            rows=int(data["rows"]),
            correct=int(data["correct"]),
            per_class={
                str(label): Counts.from_dict(counts) for label, counts in data["per_class"].items()
            },
        )


def predicted_labels(labels: Sequence[LabelScore], *, multi_label: bool) -> tuple[str, ...]:
    """The label set a prediction stands for.

    Multi-label: every distinct label, sorted. Multi-class: the single highest-scoring label
    (labels without a score rank below scored ones; ties keep the first), or () when empty.
    """
    if multi_label:
        return tuple(sorted({label.label for label in labels}))
    if not labels:
        return ()
    best = max(
        enumerate(labels),
        key=lambda pair: (pair[1].score is not None, pair[1].score or 0.0, -pair[0]),
    )
    return (best[1].label,)


def gold_labels(labels: Sequence[LabelScore]) -> tuple[str, ...]:
    """The gold label set: every distinct label, sorted (scores in gold mean nothing)."""
    return tuple(sorted({label.label for label in labels}))


def classification_counts(
    predicted: DocumentResult, gold: DocumentResult, *, multi_label: bool
) -> ClassificationCounts:
    """Counts for one document from its predicted and gold `labels`."""
    return ClassificationCounts.of_row(
        gold_labels(gold.labels),
        predicted_labels(predicted.labels, multi_label=multi_label),
        multi_label=multi_label,
    )


def bad_case(
    row_id: Any,
    text: str | None,
    predicted: DocumentResult,
    gold: DocumentResult,
    *,
    multi_label: bool,
) -> BadCase | None:
    """The bad-case record for a mis-classified document, None when it is classified right."""
    gold_set = gold_labels(gold.labels)
    predicted_set = predicted_labels(predicted.labels, multi_label=multi_label)
    if set(gold_set) == set(predicted_set):
        return None
    if multi_label:
        return BadCase(id=row_id, text=text, label=list(gold_set), prediction=list(predicted_set))
    return BadCase(
        id=row_id,
        text=text,
        label=gold_set[0] if len(gold_set) == 1 else list(gold_set),
        prediction=predicted_set[0] if predicted_set else None,
    )
