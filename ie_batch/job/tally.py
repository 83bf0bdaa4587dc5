"""Figures of a shard (or, summed, of the job) that add up: counts, tokens, seconds, scores.

What `metrics/<shard>.json` and `summary.json` hold; job figures come from summed counts, never
from averaged shard scores.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Self

from ie_batch.metrics import Evaluation


@dataclass
class Tally:
    rows: int = 0
    error_rows: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_prompt_tokens: int = 0  # of prompt_tokens, those the prefix cache served
    seconds: float = 0.0
    evaluation: Evaluation = field(default_factory=Evaluation)

    def __iadd__(self, other: Tally) -> Self:
        self.rows += other.rows
        self.error_rows += other.error_rows
        self.prompt_tokens += other.prompt_tokens
        self.completion_tokens += other.completion_tokens
        self.cached_prompt_tokens += other.cached_prompt_tokens
        self.seconds += other.seconds
        self.evaluation += other.evaluation
        return self

    def to_dict(self) -> dict[str, Any]:
        """The metrics document; `bad_cases` are written to their own file."""
        return {
            "rows": self.rows,
            "error_rows": self.error_rows,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "cached_prompt_tokens": self.cached_prompt_tokens,
            "prefix_cache_hit_rate": (
                round(self.cached_prompt_tokens / self.prompt_tokens, 4)
                if self.prompt_tokens
                else None
            ),
            "seconds": round(self.seconds, 3),
            "scored_rows": self.evaluation.rows,
            "tasks": self.evaluation.metrics(),
            "unknown_gold_labels": self.evaluation.unknown_gold_labels,
        }
