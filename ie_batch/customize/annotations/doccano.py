"""doccano's JSONL exports, one record per line, as doccano writes them for each project type:

- sequence labelling with relations (the export PP-UIE's `doccano.py` reads): `text`,
  `entities: [{id, label, start_offset, end_offset}]`, `relations: [{id, from_id, to_id, type}]`;
- sequence labelling: `text`, `label: [[start_offset, end_offset, tag], ...]`;
- text classification: `text`, `label: [class, ...]` (intent detection writes `cats`, with its
  slots as `entities: [[start, end, tag], ...]`).

Every record also carries doccano's example `id` and the example's metadata. doccano 1.x wrote
the text under `data`; both keys are read. Which reading `label` gets (spans or classes) follows
the schema's task, since an empty `label: []` looks the same in both projects.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ie_batch.customize.annotations.model import (
    AnnotatedDocument,
    AnnotationError,
    Choice,
    Link,
    Span,
    label_text,
    offsets,
)
from ie_batch.schema import TaskKind


def read_doccano(path: Path, task: TaskKind) -> Iterator[AnnotatedDocument | AnnotationError]:
    """Each line's document, or the error that keeps it out; blank lines are skipped."""
    source = str(path)
    try:
        handle = path.open(encoding="utf-8")
    except OSError as exc:
        raise AnnotationError(source, "", "", f"cannot be read ({exc.strerror})") from None
    with handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            record = f"line {number}"
            try:
                yield _document(line, path, record, number, task)
            except AnnotationError as error:
                yield error


def _document(line: str, path: Path, record: str, number: int, task: TaskKind) -> AnnotatedDocument:
    source = str(path)
    try:
        value = json.loads(line)
    except json.JSONDecodeError as exc:
        raise AnnotationError(source, record, "", f"not valid JSON ({exc.msg})") from None
    if not isinstance(value, dict):
        raise AnnotationError(
            source, record, "", f"expected a JSON object, got {type(value).__name__}"
        )
    text_key = "text" if "text" in value else "data"
    text = value.get(text_key)
    if not isinstance(text, str):
        raise AnnotationError(source, record, "text", f"expected the text (a string), got {text!r}")
    doc_id = value.get("id")
    if doc_id is None:
        doc_id = f"{path.stem}:{number}"
    elif isinstance(doc_id, bool) or not isinstance(doc_id, str | int):
        raise AnnotationError(source, record, "id", f"expected a string or number, got {doc_id!r}")
    if task is TaskKind.CLASSIFICATION:
        return _classification(value, str(doc_id), text, source, record)
    return _spans(value, str(doc_id), text, source, record)


def _classification(
    value: dict[str, Any], doc_id: str, text: str, source: str, record: str
) -> AnnotatedDocument:
    key = "label" if "label" in value else "cats"
    if key not in value:
        raise AnnotationError(
            source, record, "label", "no classes (a text-classification export has `label`)"
        )
    raw = value[key]
    items = raw if isinstance(raw, list) else [raw]
    document = AnnotatedDocument(doc_id, text, source, record, frozenset({"choices"}))
    for position, item in enumerate(items):
        where = f"{key}[{position}]"
        if isinstance(item, list):
            raise AnnotationError(
                source,
                record,
                where,
                f"{item!r} is a span [start, end, tag], not a class: this is a sequence-labelling "
                "export, and the schema is a classification",
            )
        document.choices.append(Choice(label_text(item, source, record, where), where))
    return document


def _spans(
    value: dict[str, Any], doc_id: str, text: str, source: str, record: str
) -> AnnotatedDocument:
    if "entities" in value:
        holds = {"spans", "links"} if "relations" in value else {"spans"}
        document = AnnotatedDocument(doc_id, text, source, record, frozenset(holds))
        for position, item in enumerate(_list(value, "entities", source, record)):
            document.spans.append(_entity(item, f"entities[{position}]", text, source, record))
        for position, item in enumerate(_list(value, "relations", source, record)):
            document.links.append(_relation(item, f"relations[{position}]", source, record))
        return document
    if "label" in value or "labels" in value:
        key = "label" if "label" in value else "labels"
        document = AnnotatedDocument(doc_id, text, source, record, frozenset({"spans"}))
        for position, item in enumerate(_list(value, key, source, record)):
            where = f"{key}[{position}]"
            document.spans.append(_tupled(item, where, where, text, source, record))
        return document
    raise AnnotationError(
        source,
        record,
        "entities",
        "no spans: expected `entities` (a sequence-labelling export with relations) or "
        "`label` (a sequence-labelling export)",
    )


def _list(value: dict[str, Any], key: str, source: str, record: str) -> list[Any]:
    items = value.get(key)
    if items is None:
        return []
    if not isinstance(items, list):
        raise AnnotationError(source, record, key, f"expected a list, got {type(items).__name__}")
    return items


def _entity(item: Any, where: str, text: str, source: str, record: str) -> Span:
    if isinstance(item, list):  # intent detection writes its slots as [start, end, tag]
        return _tupled(item, where, where, text, source, record)
    if not isinstance(item, dict):
        raise AnnotationError(
            source, record, where, f"expected {{id, label, start_offset, end_offset}}, got {item!r}"
        )
    fields = (f"{where}.start_offset", f"{where}.end_offset", where)
    start, end = offsets(
        text, item.get("start_offset"), item.get("end_offset"), source, record, fields
    )
    label = label_text(item.get("label"), source, record, f"{where}.label")
    key = item.get("id")
    return Span(str(key) if key is not None else where, start, end, label, where)


def _tupled(item: Any, key: str, where: str, text: str, source: str, record: str) -> Span:
    if not isinstance(item, list) or len(item) != 3:
        raise AnnotationError(
            source, record, where, f"expected [start_offset, end_offset, tag], got {item!r}"
        )
    start, end, tag = item
    start, end = offsets(text, start, end, source, record, (f"{where}[0]", f"{where}[1]", where))
    return Span(key, start, end, label_text(tag, source, record, f"{where}[2]"), where)


def _relation(item: Any, where: str, source: str, record: str) -> Link:
    if not isinstance(item, dict):
        raise AnnotationError(
            source, record, where, f"expected {{id, from_id, to_id, type}}, got {item!r}"
        )
    for key in ("from_id", "to_id"):
        if item.get(key) is None:
            raise AnnotationError(source, record, f"{where}.{key}", "missing")
    label = label_text(item.get("type"), source, record, f"{where}.type")
    return Link(str(item["from_id"]), str(item["to_id"]), label, where)
