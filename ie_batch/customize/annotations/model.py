"""What an annotation tool's record says, before a schema gives it meaning.

doccano and Label Studio describe the same three things in different shapes: labelled spans of
the text, labelled links between two spans (relations, or an event's roles), and labels of the
whole text. Each format's reader turns its records into an `AnnotatedDocument` and checks what
the format alone can check (offsets inside the text, a span's own copy of its text); turning one
into a gold row under a schema is `annotations.gold`, written once for every format.

Every record remembers where it came from (file, line or task) and every span, link and choice
the field it was read from, so an error can name all three.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class AnnotationError(ValueError):
    """An annotation that cannot become gold: names the file, the record and the field."""

    def __init__(self, source: str, record: str, field_name: str, message: str) -> None:
        where = source + (f": {record}" if record else "")
        where += f": field '{field_name}'" if field_name else ""
        super().__init__(f"{where}: {message}")
        self.source = source
        self.record = record
        self.field = field_name
        self.message = message


@dataclass(frozen=True)
class Span:
    """A labelled stretch of the text; `key` is what links refer to it by (an entity or region
    id), `start`/`end` are character offsets into the text, end exclusive."""

    key: str
    start: int
    end: int
    label: str
    field: str


@dataclass(frozen=True)
class Link:
    """A labelled, directed link from one span to another, by their keys."""

    source: str
    target: str
    label: str
    field: str


@dataclass(frozen=True)
class Choice:
    """A label of the whole text."""

    label: str
    field: str


@dataclass
class AnnotatedDocument:
    """One record of an export, in the tool's own terms. `holds` says which kinds of annotation
    its project type can express at all (a sequence-labelling export has no links), so a schema
    that needs another kind is refused rather than imported as "no relations"."""

    id: str
    text: str
    source: str
    record: str
    holds: frozenset[str]  # of "spans", "links", "choices"
    spans: list[Span] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    choices: list[Choice] = field(default_factory=list)
    #: Where the record's choices go, to name it when there is none.
    choices_field: str = "label"

    def error(self, field_name: str, message: str) -> AnnotationError:
        return AnnotationError(self.source, self.record, field_name, message)


def offsets(
    text: str, start: Any, end: Any, source: str, record: str, fields: tuple[str, str, str]
) -> tuple[int, int]:
    """`(start, end)` checked against the text: integers, start before end, inside the text.
    `fields` names the start, the end and the span they belong to, for the error."""
    start_field, end_field, span_field = fields
    for name, value in ((start_field, start), (end_field, end)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise AnnotationError(
                source, record, name, f"expected a character offset (an integer), got {value!r}"
            )
    if start >= end:
        raise AnnotationError(
            source, record, span_field, f"an empty span: start {start}, end {end}"
        )
    if start < 0 or end > len(text):
        raise AnnotationError(
            source,
            record,
            span_field,
            f"offsets [{start}, {end}) are outside the text ({len(text)} characters)",
        )
    return start, end


def label_text(value: Any, source: str, record: str, field_name: str) -> str:
    """A label as the tool wrote it: a non-blank string."""
    if not isinstance(value, str) or not value.strip():
        raise AnnotationError(
            source, record, field_name, f"expected a label name (a string), got {value!r}"
        )
    return value
