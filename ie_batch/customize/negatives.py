"""Which labels a document's training examples ask although the document has none of them.

A model trained only on slices that hold an answer never learns to say "none", and one trained
on random absent labels learns it only where it is easy. IEPile (`negative_cluster_sample`) asks
each document's gold labels together with the labels confusable with them, then a few random
others; the same here:

- the labels asked are the document's gold labels, then negatives: hard ones first (the labels
  each gold label is confused with, most confused first, taking the first of every gold label
  before any second), then the rest in a random order seeded by the seed and the document id;
- as many negatives as fill the slices the gold labels sit in up to the job's labels per slice
  (IEPile mixes positives and negatives in one instruction), plus `negative_slices` slices of
  negatives only (default 1), so every document also shows the empty answer;
- `negative_slices=None` asks every label of the schema: exactly the slices the job sends,
  right for small label sets when the example budget allows it.

Hard negatives come from a dictionary `{label: [confusable labels]}` (IEPile ships one per data
set) or from the confusions of a zero-shot run (`customize.confusions`); a dictionary's labels are
checked against the schema, since a misspelt one would quietly turn hard negatives into random
ones.
"""

from __future__ import annotations

import json
import random
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ie_batch.schema import AnySchema
from ie_batch.schema.rotation import document_seed

#: Hard negatives: for each label, the labels it is confused with, most confusable first.
HardNegatives = Mapping[str, Sequence[str]]


class HardNegativesError(ValueError):
    """A hard-negatives dictionary that cannot be used; names the file and the key."""


def load_hard_negatives(path: str | Path, schema: AnySchema) -> dict[str, list[str]]:
    """A JSON file `{label: [confusable label, ...]}`, checked against the schema's labels."""
    path = Path(path)
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise HardNegativesError(f"{path}: cannot be read ({exc.strerror})") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise HardNegativesError(f"{path}: not JSON ({exc})") from None
    return checked_hard_negatives(content, schema, str(path))


def checked_hard_negatives(
    content: object, schema: AnySchema, source: str = "<hard negatives>"
) -> dict[str, list[str]]:
    """`content` as hard negatives of `schema`, or `HardNegativesError` naming the key."""
    if not isinstance(content, Mapping):
        raise HardNegativesError(f"{source}: expected a JSON object {{label: [labels]}}")
    names = set(schema.label_names)
    known = ", ".join(schema.label_names)
    checked: dict[str, list[str]] = {}
    for label, confusable in content.items():
        if label not in names:
            raise HardNegativesError(
                f"{source}: key {label!r}: not a label of schema {schema.name!r} ({known})"
            )
        if not isinstance(confusable, list):
            raise HardNegativesError(f"{source}: key {label!r}: expected a list of labels")
        for position, other in enumerate(confusable):
            if other not in names:
                raise HardNegativesError(
                    f"{source}: key {label!r}[{position}]: {other!r} is not a label of schema "
                    f"{schema.name!r} ({known})"
                )
        checked[label] = [other for other in dict.fromkeys(confusable) if other != label]
    return checked


def merged(*sources: HardNegatives | None) -> dict[str, list[str]]:
    """One dictionary from several, earlier sources' labels first."""
    result: dict[str, list[str]] = {}
    for source in sources:
        for label, others in (source or {}).items():
            result[label] = list(dict.fromkeys([*result.get(label, []), *others]))
    return result


@dataclass(frozen=True)
class NegativeSampler:
    """Chooses the labels one document's examples ask (see the module's rules)."""

    hard: HardNegatives = field(default_factory=dict)
    negative_slices: int | None = 1
    seed: int = 0

    def __post_init__(self) -> None:
        if self.negative_slices is not None and self.negative_slices < 0:
            raise ValueError(f"negative_slices must be >= 0, got {self.negative_slices}")

    def labels_for(
        self,
        doc_id: str,
        labels: Sequence[str],
        positives: Collection[str],
        slice_size: int,
    ) -> list[str] | None:
        """The labels to ask of the document, gold ones first; None for all of `labels`."""
        if self.negative_slices is None:
            return None
        positive = [label for label in labels if label in positives]
        ranked = self.ranked_negatives(doc_id, labels, positive)
        fill = -len(positive) % slice_size if positive else 0
        wanted = fill + self.negative_slices * slice_size
        return positive + ranked[:wanted]

    def ranked_negatives(
        self, doc_id: str, labels: Sequence[str], positive: Sequence[str]
    ) -> list[str]:
        """The document's absent labels, hard ones first, then the rest shuffled."""
        absent = [label for label in labels if label not in positive]
        hard: list[str] = []
        queues = [list(self.hard.get(label, ())) for label in positive]
        while any(queues):
            for queue in queues:
                while queue:
                    candidate = queue.pop(0)
                    if candidate in absent and candidate not in hard:
                        hard.append(candidate)
                        break
        rest = [label for label in absent if label not in hard]
        random.Random(document_seed(f"{self.seed}:{doc_id}")).shuffle(rest)
        return hard + rest
