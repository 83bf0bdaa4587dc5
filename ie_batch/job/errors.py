"""A row's errors as typed records: which stage failed, where, and why.

The `errors` column of a result row holds them rendered as strings (its contract); the error
sidecar (`errors/<shard>/*.jsonl`) holds the stage as a field, and `retry-errors` decides from
that field. Nothing reads a stage back out of a rendered string.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import pyarrow as pa


class Stage(StrEnum):
    READ = "read"  # the input row could not be read or has no usable text: retrying cannot help
    EXTRACT = "extract"  # a prompt failed or its answer could not be used
    GOLD = "gold"  # the row's gold labels could not be read


@dataclass(frozen=True)
class RowError:
    stage: Stage
    reason: str
    location: str | None = None  # file:line, or shard and row, when the reason needs one

    @property
    def detail(self) -> str:
        return f"{self.location}: {self.reason}" if self.location else self.reason

    def render(self) -> str:
        """As the `errors` column shows it: extraction errors as they are, the others with
        their stage in front."""
        return self.detail if self.stage is Stage.EXTRACT else f"{self.stage}: {self.detail}"

    def to_arrow(self) -> dict[str, Any]:
        return {"stage": self.stage.value, "reason": self.reason, "location": self.location}

    @classmethod
    def from_arrow(cls, value: dict[str, Any]) -> RowError:
        return cls(Stage(value["stage"]), value["reason"], value.get("location"))


ROW_ERROR_TYPE = pa.struct(
    [("stage", pa.string()), ("reason", pa.string()), ("location", pa.string())]
)
ROW_ERRORS_TYPE = pa.list_(ROW_ERROR_TYPE)
