"""Which labels a zero-shot run confuses with which: the default source of hard negatives.

Run the job on the gold rows before training (it scores them: the "before" F1), then count, per
gold label, the other labels the model gave the same thing:

- NER: a predicted entity on the same span as a gold one (same offsets where both have them,
  else the same text) but of another type counts one confusion gold type -> predicted type;
- RE: a predicted relation between the same subject and object under another relation;
- EE: a predicted event on the same trigger under another event type;
- classification: each predicted class not in the gold, against each gold class.

Only labels of the schema count, and only the documents passed in (the training split: the
dev split must not shape the training examples).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ie_batch.metrics.gold import prediction_from_row
from ie_batch.results import DocumentResult
from ie_batch.schema import AnySchema, TaskKind


@dataclass
class Confusions:
    """`pairs[gold label][predicted label]`: how often the model said one for the other, over
    `documents` documents that had a prediction."""

    pairs: dict[str, Counter[str]] = field(default_factory=dict)
    documents: int = 0

    def add(self, gold: str, predicted: str) -> None:
        self.pairs.setdefault(gold, Counter())[predicted] += 1

    def ranked(self) -> dict[str, list[str]]:
        """Hard negatives: each gold label's confusions, most frequent first (ties by name)."""
        return {
            gold: [label for label, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
            for gold, counts in sorted(self.pairs.items())
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "documents": self.documents,
            "pairs": {gold: dict(counts) for gold, counts in sorted(self.pairs.items())},
        }


def read_predictions(source: str | Path) -> list[dict[str, Any]]:
    """Result rows: of a finished job's committed shards (its output folder or URI), or of a
    results file (JSONL or Parquet rows with `id` and the result columns)."""
    path = Path(source)
    if path.is_file():
        from ie_batch.metrics import read_rows

        return read_rows(path)
    from ie_batch.api import read_results

    table = read_results(str(source))
    if table.num_rows == 0:
        raise FileNotFoundError(f"{source}: no committed result rows (is it a job's output?)")
    return table.to_pylist()


def count_confusions(
    gold: Mapping[str, DocumentResult],
    predictions: Iterable[Mapping[str, Any]],
    schema: AnySchema,
) -> Confusions:
    """The confusions of `predictions` (result rows, joined by `id`) against `gold`."""
    confusions = Confusions()
    labels = set(schema.label_names)
    for row in predictions:
        doc_id = row.get("id")
        if doc_id is None or str(doc_id) not in gold:
            continue
        confusions.documents += 1
        for truth, said in _pairs(gold[str(doc_id)], prediction_from_row(row), schema.kind):
            if truth != said and truth in labels and said in labels:
                confusions.add(truth, said)
    return confusions


def _same(a_text: str, a_start: int | None, b_text: str, b_start: int | None) -> bool:
    if a_start is not None and b_start is not None:
        return a_start == b_start and len(a_text) == len(b_text)
    return a_text == b_text


def _pairs(gold: DocumentResult, predicted: DocumentResult, kind: TaskKind) -> list[tuple]:
    """(gold label, predicted label) of each thing both name, once per pair of records."""
    if kind is TaskKind.NER:
        return [
            (g.type, p.type)
            for g in gold.entities
            for p in predicted.entities
            if _same(g.text, g.start, p.text, p.start)
        ]
    if kind is TaskKind.RE:
        return [
            (g.relation, p.relation)
            for g in gold.relations
            for p in predicted.relations
            if _same(g.subject, g.subject_start, p.subject, p.subject_start)
            and _same(g.object, g.object_start, p.object, p.object_start)
        ]
    if kind is TaskKind.EE:
        return [
            (g.type, p.type)
            for g in gold.events
            for p in predicted.events
            if _same(g.trigger, g.trigger_start, p.trigger, p.trigger_start)
        ]
    truth = {label.label for label in gold.labels}
    said = {label.label for label in predicted.labels}
    return [(t, s) for t in sorted(truth - said) for s in sorted(said - truth)]
