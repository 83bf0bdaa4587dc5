"""Label Studio's JSON export: a list of tasks, each `{id, data: {text, ...}, annotations: [...]}`.

An annotation's `result` holds one item per region or choice: `type: "labels"` for a labelled
span (`value: {start, end, text, labels}`), `type: "relation"` for a link between two regions
(`from_id`, `to_id`, `labels`, `direction`), `type: "choices"` for labels of the whole text
(`value: {choices}`). The region ids are what relations point at.

What is read, and why:
- a task's annotation is its ground-truth one, else the one updated last: one gold per task;
  cancelled (skipped) annotations never count. A task nobody annotated is not imported and is
  counted in the import's notes (Label Studio exports every task of a project by default).
- offsets are character offsets (code points; Label Studio 1.x writes them so). A region's own
  `text` must be what its offsets hold: an export written in UTF-16 units by an old version, or
  made against another copy of the text, fails that check instead of importing shifted spans.
- a relation drawn `left` runs from `to_id` to `from_id`; one drawn `bi` says nothing about which
  end is the subject and is an error.
- choices that belong to a region (per-region classification, sharing the region's id) and
  result types with no meaning here (text areas, ratings, ...) are counted in the notes.
"""

from __future__ import annotations

import json
from collections import Counter
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

#: Every kind of annotation a Label Studio project can hold.
_HOLDS = frozenset({"spans", "links", "choices"})


def read_label_studio(
    path: Path, notes: Counter[str], text_key: str = "text"
) -> Iterator[AnnotatedDocument | AnnotationError]:
    """Each annotated task's document, or the error that keeps it out."""
    source = str(path)
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise AnnotationError(source, "", "", f"cannot be read ({exc.strerror})") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise AnnotationError(source, "", "", f"not a JSON export ({exc})") from None
    tasks = [content] if isinstance(content, dict) else content
    if not isinstance(tasks, list):
        raise AnnotationError(source, "", "", "expected a JSON list of tasks (Label Studio JSON)")
    for number, task in enumerate(tasks, start=1):
        record = f"task {number}"
        if isinstance(task, dict) and task.get("id") is not None:
            record += f" (id {task['id']})"
        try:
            document = _document(task, source, record, text_key, notes)
        except AnnotationError as error:
            yield error
            continue
        if document is not None:
            yield document


def _document(
    task: Any, source: str, record: str, text_key: str, notes: Counter[str]
) -> AnnotatedDocument | None:
    if not isinstance(task, dict):
        raise AnnotationError(source, record, "", f"expected a task object, got {task!r}")
    data = task.get("data")
    if not isinstance(data, dict):
        raise AnnotationError(source, record, "data", "expected the task's data object")
    text = data.get(text_key)
    if not isinstance(text, str):
        raise AnnotationError(
            source, record, f"data.{text_key}", f"expected the text (a string), got {text!r}"
        )
    chosen = _annotation(task, source, record, notes)
    if chosen is None:
        notes["tasks without an annotation (not imported)"] += 1
        return None
    index, annotation = chosen
    doc_id = task.get("id")
    document = AnnotatedDocument(
        str(doc_id) if doc_id is not None else record,
        text,
        source,
        record,
        _HOLDS,
        choices_field=f"annotations[{index}].result",
    )
    results = annotation.get("result")
    if not isinstance(results, list):
        raise AnnotationError(source, record, f"annotations[{index}].result", "expected a list")
    regions = {
        item["id"]
        for item in results
        if isinstance(item, dict) and item.get("type") == "labels" and item.get("id") is not None
    }
    for position, item in enumerate(results):
        where = f"annotations[{index}].result[{position}]"
        if not isinstance(item, dict):
            raise AnnotationError(source, record, where, f"expected a result item, got {item!r}")
        kind = item.get("type")
        if kind == "labels":
            document.spans.extend(_spans(item, where, text, source, record))
        elif kind == "relation":
            document.links.extend(_links(item, where, source, record))
        elif kind == "choices" and item.get("id") not in regions:
            document.choices.extend(_choices(item, where, source, record))
        elif kind == "choices":
            notes["choices of a region, not of the text (not read)"] += 1
        else:
            notes[f"result items of type {kind!r} (not read)"] += 1
    return document


def _annotation(
    task: dict[str, Any], source: str, record: str, notes: Counter[str]
) -> tuple[int, dict[str, Any]] | None:
    """The annotation that is the task's gold, with its position: ground truth first, then the
    latest; None when there is no annotation that was not cancelled."""
    key = "annotations" if "annotations" in task else "completions"  # older exports
    annotations = task.get(key) or []
    if not isinstance(annotations, list):
        raise AnnotationError(source, record, key, "expected a list of annotations")
    usable = [
        (index, item)
        for index, item in enumerate(annotations)
        if isinstance(item, dict) and not item.get("was_cancelled") and not item.get("skipped")
    ]
    if not usable:
        return None
    if len(usable) > 1:
        notes["tasks with several annotations (the ground-truth one, else the latest, used)"] += 1
    return max(
        usable,
        key=lambda pair: (
            bool(pair[1].get("ground_truth")),
            str(pair[1].get("updated_at") or pair[1].get("created_at") or ""),
            pair[0],
        ),
    )


def _value(item: dict[str, Any], where: str, source: str, record: str) -> dict[str, Any]:
    value = item.get("value")
    if not isinstance(value, dict):
        raise AnnotationError(source, record, f"{where}.value", "expected an object")
    return value


def _spans(item: dict[str, Any], where: str, text: str, source: str, record: str) -> list[Span]:
    value = _value(item, where, source, record)
    fields = (f"{where}.value.start", f"{where}.value.end", where)
    start, end = offsets(text, value.get("start"), value.get("end"), source, record, fields)
    written = value.get("text")
    if written is not None and written != text[start:end]:
        raise AnnotationError(
            source,
            record,
            f"{where}.value.text",
            f"{written!r}, but the offsets [{start}, {end}) hold {text[start:end]!r}",
        )
    labels = value.get("labels")
    if not isinstance(labels, list) or not labels:
        raise AnnotationError(source, record, f"{where}.value.labels", "expected a list of labels")
    key = str(item["id"]) if item.get("id") is not None else where
    return [
        Span(key, start, end, label_text(label, source, record, f"{where}.value.labels"), where)
        for label in labels
    ]


def _links(item: dict[str, Any], where: str, source: str, record: str) -> list[Link]:
    for key in ("from_id", "to_id"):
        if item.get(key) is None:
            raise AnnotationError(source, record, f"{where}.{key}", "missing")
    start, end = str(item["from_id"]), str(item["to_id"])
    direction = item.get("direction", "right")
    if direction == "left":
        start, end = end, start
    elif direction != "right":
        raise AnnotationError(
            source,
            record,
            f"{where}.direction",
            f"{direction!r} does not say which end is the subject; draw the relation from its "
            "subject to its object",
        )
    labels = item.get("labels")
    if not isinstance(labels, list) or not labels:
        raise AnnotationError(
            source, record, f"{where}.labels", "a relation without a label; give it its type"
        )
    return [
        Link(start, end, label_text(label, source, record, f"{where}.labels"), where)
        for label in labels
    ]


def _choices(item: dict[str, Any], where: str, source: str, record: str) -> list[Choice]:
    choices = _value(item, where, source, record).get("choices")
    if not isinstance(choices, list):
        raise AnnotationError(source, record, f"{where}.value.choices", "expected a list")
    field_name = f"{where}.value.choices"
    return [
        Choice(label_text(choice, source, record, field_name), field_name) for choice in choices
    ]
