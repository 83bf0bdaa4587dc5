"""The result records one document produces, in the shapes of the output columns.

Offsets are character offsets into the input text (end exclusive); None when the span could not
be found in the text. These are plain dataclasses: parsing builds them, metrics and the writers
read them, and `to_row` gives the nested dicts that become Arrow structs.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Entity:
    type: str
    text: str
    start: int | None = None
    end: int | None = None


@dataclass(frozen=True)
class Relation:
    subject: str
    relation: str
    object: str
    subject_start: int | None = None
    subject_end: int | None = None
    object_start: int | None = None
    object_end: int | None = None


@dataclass(frozen=True)
class EventArgument:
    role: str
    text: str
    start: int | None = None
    end: int | None = None


@dataclass(frozen=True)
class Event:
    type: str
    trigger: str
    trigger_start: int | None = None
    trigger_end: int | None = None
    arguments: tuple[EventArgument, ...] = ()


@dataclass(frozen=True)
class LabelScore:
    label: str
    score: float | None = None


@dataclass
class DocumentResult:
    """Everything extracted from one document, over all its tasks and slices."""

    entities: list[Entity] = field(default_factory=list)
    relations: list[Relation] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    labels: list[LabelScore] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    #: Notes that need no retry: records a setting removed on purpose (spans not in the text)
    warnings: list[str] = field(default_factory=list)

    def to_row(self) -> dict[str, Any]:
        return {
            "entities": [asdict(e) for e in self.entities],
            "relations": [asdict(r) for r in self.relations],
            "events": [
                {**asdict(e), "arguments": [asdict(a) for a in e.arguments]} for e in self.events
            ],
            "labels": [asdict(label) for label in self.labels],
            "errors": list(self.errors),
            "warnings": list(self.warnings),
        }

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> DocumentResult:
        """Read result columns back (from Parquet/JSONL rows); missing columns are empty."""
        return cls(
            entities=[Entity(**e) for e in row.get("entities") or []],
            relations=[Relation(**r) for r in row.get("relations") or []],
            events=[
                Event(
                    **{k: v for k, v in e.items() if k != "arguments"},
                    arguments=tuple(EventArgument(**a) for a in e.get("arguments") or []),
                )
                for e in row.get("events") or []
            ],
            labels=[LabelScore(**label) for label in row.get("labels") or []],
            errors=list(row.get("errors") or []),
            warnings=list(row.get("warnings") or []),
        )
