"""Match counts, the one quantity every metric here is computed from.

Precision, recall and F1 are never averaged across batches, shards or jobs: averaging ratios
weights a shard of ten rows like a shard of a million. Instead every stage keeps the three
integers (true positives, predicted, gold), adds them up, and computes the ratios once at the
end. A job's F1 is therefore exactly the F1 of all its rows scored at once, however the rows
were split.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Counts:
    """True positives, predicted items and gold items for one task (micro-averaged).

    `sum(list_of_counts)` works: `0 + Counts(...)` is the counts themselves.
    """

    tp: int = 0
    pred: int = 0
    gold: int = 0

    def __post_init__(self) -> None:
        # A match is both a prediction and a gold item; anything else is a counting bug
        # upstream, and it is cheaper to fail here than to publish an F1 above 1.
        if min(self.tp, self.pred, self.gold) < 0:
            raise ValueError(f"counts must not be negative: {self}")
        if self.tp > self.pred or self.tp > self.gold:
            raise ValueError(f"tp cannot exceed pred or gold: {self}")

    def __add__(self, other: Counts) -> Counts:
        if not isinstance(other, Counts):
            return NotImplemented
        return Counts(self.tp + other.tp, self.pred + other.pred, self.gold + other.gold)

    def __radd__(self, other: Any) -> Counts:
        # Lets the builtin sum() start from its default 0.
        if isinstance(other, int) and other == 0:
            return self
        return NotImplemented

    @property
    def precision(self) -> float:
        """tp / pred; 0.0 when nothing was predicted."""
        return self.tp / self.pred if self.pred else 0.0

    @property
    def recall(self) -> float:
        """tp / gold; 0.0 when there is no gold item."""
        return self.tp / self.gold if self.gold else 0.0

    @property
    def f1(self) -> float:
        """Harmonic mean of P and R, as 2tp / (pred + gold): same value, no rounding detour."""
        total = self.pred + self.gold
        return 2 * self.tp / total if total else 0.0

    def to_dict(self) -> dict[str, float | int]:
        """The metrics-file shape: ratios in 0..1 plus the counts they came from."""
        return {
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
            "tp": self.tp,
            "pred": self.pred,
            "gold": self.gold,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Counts:
        """Read counts back from `to_dict` output (e.g. a shard's metrics file) to re-sum them.

        Only the integers are read; the ratios are recomputed from them.
        """
        return cls(tp=int(data["tp"]), pred=int(data["pred"]), gold=int(data["gold"]))


def sum_counts(per_task: Iterable[Mapping[str, Counts]]) -> dict[str, Counts]:
    """Add several `{task: Counts}` mappings key by key (a task missing from one adds nothing)."""
    total: dict[str, Counts] = {}
    for mapping in per_task:
        for task, counts in mapping.items():
            total[task] = total.get(task, Counts()) + counts
    return total
