"""Importing an annotation tool's export as gold rows: read, check against the schema, write.

A bad record (an offset outside the text, a span whose own text disagrees with its offsets, a
relation to an entity the record does not have, a label the schema does not have, a relation
between entities of the wrong types) is reported with its file, line or task, and field, and
left out; every other record is imported. One bad annotation costs its whole record, not just
itself: a document missing one of its entities would teach a model that the entity is not there.
The caller decides what a report with problems means; the command line exits 1 on one.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ie_batch.customize.annotations.doccano import read_doccano
from ie_batch.customize.annotations.gold import gold_row
from ie_batch.customize.annotations.label_studio import read_label_studio
from ie_batch.customize.annotations.model import AnnotatedDocument, AnnotationError
from ie_batch.schema import AnySchema
from ie_batch.schema.catalog import SchemaSpec, resolve_schema

Tool = Literal["doccano", "label-studio"]
TOOLS: tuple[Tool, ...] = ("doccano", "label-studio")


@dataclass
class ImportReport:
    """What an import made of one export: the gold rows, the records left out and why, and the
    annotations that mean nothing under the schema (counted by kind)."""

    source: str
    schema: AnySchema
    rows: list[dict[str, Any]] = field(default_factory=list)
    problems: list[AnnotationError] = field(default_factory=list)
    notes: Counter[str] = field(default_factory=Counter)


def import_annotations(
    path: str | Path, schema: SchemaSpec, tool: Tool, *, text_key: str = "text"
) -> ImportReport:
    """The gold rows of a doccano JSONL export or a Label Studio JSON export under `schema`
    (a schema object, file or shipped schema name). `text_key` is the Label Studio data field
    holding the text. A file that cannot be read at all raises `AnnotationError`."""
    resolved = resolve_schema(schema)
    path = Path(path)
    report = ImportReport(str(path), resolved)
    seen: dict[str, str] = {}
    for item in _read(path, tool, resolved, report.notes, text_key):
        try:
            if isinstance(item, AnnotationError):
                raise item
            row = gold_row(item, resolved, report.notes)
            if row["id"] in seen:
                raise item.error("id", f"{row['id']!r} is also the id of {seen[row['id']]}")
        except AnnotationError as problem:
            report.problems.append(problem)
            continue
        seen[row["id"]] = item.record
        report.rows.append(row)
    return report


def _read(
    path: Path, tool: Tool, schema: AnySchema, notes: Counter[str], text_key: str
) -> Iterator[AnnotatedDocument | AnnotationError]:
    if tool == "doccano":
        return read_doccano(path, schema.kind)
    if tool == "label-studio":
        return read_label_studio(path, notes, text_key)
    raise ValueError(f"unknown annotation tool {tool!r}; expected one of {', '.join(TOOLS)}")


def write_gold(rows: Iterable[dict[str, Any]], output: str | Path) -> int:
    """Write gold rows as JSONL (job input: `id`, `text` and the gold column); the row count."""
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with output.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
            count += 1
    return count
