"""Reading labelled columns of a row into result records: gold labels, and predictions.

Gold labels arrive in whatever shape the data set was published in, so each column accepts
both ie_batch's result shape and IEPile's shapes:

| column | result shape (list) | IEPile shapes |
| --- | --- | --- |
| `entities` / `ner` | `[{type, text, start?, end?}]` | `{type: [text, ...]}`; `[{entity_type, entity}]` |
| `relations` | `[{subject, relation, object}]` | `{relation: [{subject, object}]}`; `head`/`tail` for `subject`/`object` |
| `events` | `[{type, trigger, arguments: [{role, text}]}]` | `{type: [{trigger, arguments: {role: text / [text] / "NAN"}}]}`; `[{event_type, event_trigger, arguments: [{role, argument}]}]` |
| `labels` / `label` | `[{label, score?}]` | `"label"`, `["label", ...]` |

Rules that apply to every column:
- a missing column or a null value means "no gold for that task" (Parquet and Arrow fill absent
  keys with null), while an empty list or mapping means "gold says there is nothing": the row is
  scored on that task and every prediction is a false positive;
- a string in an extraction column is parsed as JSON first (IEPile stores answers as JSON text);
- the argument text "NAN" (IEPile's "no filler for this role") is dropped;
- an event without a trigger gets trigger "" (IEPile's argument-only EEA task);
- integer class labels are turned into strings; unknown keys inside items are ignored;
- `entities` wins over `ner`, and `labels` over `label`, when a row has both.
Anything else raises `ColumnShapeError` naming the column and the item.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from ie_batch.metrics.extraction import NAN_ARGUMENT
from ie_batch.results import DocumentResult, Entity, Event, EventArgument, LabelScore, Relation
from ie_batch.schema.model import TaskKind

#: Columns that may hold gold for each task, first match wins.
GOLD_COLUMNS: dict[TaskKind, tuple[str, ...]] = {
    TaskKind.NER: ("entities", "ner"),
    TaskKind.RE: ("relations",),
    TaskKind.EE: ("events",),
    TaskKind.CLASSIFICATION: ("labels", "label"),
}

#: Columns a result row holds predictions in (DocumentResult.to_row).
RESULT_COLUMNS: dict[TaskKind, tuple[str, ...]] = {
    TaskKind.NER: ("entities",),
    TaskKind.RE: ("relations",),
    TaskKind.EE: ("events",),
    TaskKind.CLASSIFICATION: ("labels",),
}


class ColumnShapeError(ValueError):
    """A labelled column does not have any of the accepted shapes."""

    def __init__(self, column: str, detail: str) -> None:
        super().__init__(f"column {column!r}: {detail}")
        self.column = column
        self.detail = detail


@dataclass(frozen=True)
class GoldLabels:
    """A row's gold result and the tasks it covers (only those tasks are scored for the row)."""

    result: DocumentResult
    tasks: frozenset[TaskKind]


def gold_from_row(row: Mapping[str, Any]) -> GoldLabels | None:
    """Read a row's gold columns; None when it has no (non-null) gold column at all."""
    result, tasks = _read_columns(row, GOLD_COLUMNS)
    if not tasks:
        return None
    return GoldLabels(result=result, tasks=frozenset(tasks))


def prediction_from_row(row: Mapping[str, Any]) -> DocumentResult:
    """Read a result row's prediction columns (`entities`, `relations`, `events`, `labels`).

    Unlike `DocumentResult.from_row` this accepts the IEPile shapes too and ignores unknown
    keys, and it reads only the result columns, so a pass-through gold `label` column in an
    output row is never mistaken for a prediction. Missing columns are empty predictions.
    """
    result, _ = _read_columns(row, RESULT_COLUMNS)
    return result


def _read_columns(
    row: Mapping[str, Any], columns: Mapping[TaskKind, tuple[str, ...]]
) -> tuple[DocumentResult, set[TaskKind]]:
    result = DocumentResult()
    tasks: set[TaskKind] = set()
    for task, names in columns.items():
        found = next(((name, row[name]) for name in names if row.get(name) is not None), None)
        if found is None:
            continue
        name, value = found
        tasks.add(task)
        if task is TaskKind.NER:
            result.entities = _entities(name, _decoded(name, value))
        elif task is TaskKind.RE:
            result.relations = _relations(name, _decoded(name, value))
        elif task is TaskKind.EE:
            result.events = _events(name, _decoded(name, value))
        else:
            result.labels = _labels(name, value)
    return result, tasks


def _decoded(column: str, value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except json.JSONDecodeError as error:
        raise ColumnShapeError(column, f"a string must be JSON: {error}") from None


def _type_name(value: Any) -> str:
    return type(value).__name__


def _string(column: str, where: str, value: Any) -> str:
    if not isinstance(value, str):
        raise ColumnShapeError(column, f"{where}: expected a string, got {_type_name(value)}")
    return value


def _offset(column: str, where: str, value: Any) -> int | None:
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    raise ColumnShapeError(column, f"{where}: expected an integer offset, got {_type_name(value)}")


def _first(item: Mapping[str, Any], *keys: str) -> Any:
    """The first of several alias keys that is present and not null."""
    for key in keys:
        if item.get(key) is not None:
            return item[key]
    return None


def _item(column: str, where: str, value: Any) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ColumnShapeError(column, f"{where}: expected an object, got {_type_name(value)}")
    return value


def _grouped(column: str, value: Any, expected: str) -> list[tuple[str, list[Any]]] | None:
    """IEPile's `{label: [items]}` shape as (label, items) pairs; None when `value` is a list."""
    if isinstance(value, list):
        return None
    if not isinstance(value, Mapping):
        raise ColumnShapeError(column, f"expected {expected}, got {_type_name(value)}")
    groups = []
    for label, items in value.items():
        if items is None:  # Parquet structs fill labels a row does not mention with null
            continue
        if not isinstance(items, list):
            raise ColumnShapeError(column, f"{label!r}: expected a list, got {_type_name(items)}")
        groups.append((str(label), items))
    return groups


def _entities(column: str, value: Any) -> list[Entity]:
    groups = _grouped(column, value, "a list of {type, text} or a mapping type -> [text]")
    if groups is not None:
        return [
            Entity(type=label, text=_string(column, f"{label!r} item {i}", text))
            for label, texts in groups
            for i, text in enumerate(texts)
        ]
    entities = []
    for i, raw in enumerate(value):
        where = f"item {i}"
        item = _item(column, where, raw)
        entities.append(
            Entity(
                type=_string(column, f"{where} type", _first(item, "type", "entity_type")),
                text=_string(column, f"{where} text", _first(item, "text", "entity")),
                start=_offset(column, f"{where} start", item.get("start")),
                end=_offset(column, f"{where} end", item.get("end")),
            )
        )
    return entities


def _labelled_items(
    column: str, value: Any, expected: str
) -> Iterator[tuple[str | None, str, Mapping[str, Any]]]:
    """(label, where, item) for a plain list (label None) or a mapping label -> items, checked
    one at a time in order; `where` names the item in error messages."""
    groups = _grouped(column, value, expected)
    pairs = (
        [(None, i, raw) for i, raw in enumerate(value)]
        if groups is None
        else [(label, i, raw) for label, items in groups for i, raw in enumerate(items)]
    )
    for label, i, raw in pairs:
        where = f"item {i}" if label is None else f"{label!r} item {i}"
        yield label, where, _item(column, where, raw)


def _relations(column: str, value: Any) -> list[Relation]:
    expected = "a list of {subject, relation, object} or a mapping relation -> [{subject, object}]"
    pairs = _labelled_items(column, value, expected)
    relations = []
    for label, where, item in pairs:
        relation = label if label is not None else item.get("relation")
        relations.append(
            Relation(
                subject=_string(column, f"{where} subject", _first(item, "subject", "head")),
                relation=_string(column, f"{where} relation", relation),
                object=_string(column, f"{where} object", _first(item, "object", "tail")),
                subject_start=_offset(column, f"{where} subject_start", item.get("subject_start")),
                subject_end=_offset(column, f"{where} subject_end", item.get("subject_end")),
                object_start=_offset(column, f"{where} object_start", item.get("object_start")),
                object_end=_offset(column, f"{where} object_end", item.get("object_end")),
            )
        )
    return relations


def _events(column: str, value: Any) -> list[Event]:
    expected = "a list of {type, trigger, arguments} or a mapping type -> [{trigger, arguments}]"
    pairs = _labelled_items(column, value, expected)
    events = []
    for label, where, item in pairs:
        event_type = label if label is not None else _first(item, "type", "event_type")
        trigger = _first(item, "trigger", "event_trigger")
        events.append(
            Event(
                type=_string(column, f"{where} type", event_type),
                trigger=_string(column, f"{where} trigger", "" if trigger is None else trigger),
                trigger_start=_offset(column, f"{where} trigger_start", item.get("trigger_start")),
                trigger_end=_offset(column, f"{where} trigger_end", item.get("trigger_end")),
                arguments=_arguments(column, f"{where} arguments", item.get("arguments")),
            )
        )
    return events


def _arguments(column: str, where: str, value: Any) -> tuple[EventArgument, ...]:
    if value is None:
        return ()
    arguments: list[EventArgument] = []
    if isinstance(value, Mapping):  # IEPile: {role: text | [text, ...] | "NAN"}
        for role, texts in value.items():
            fillers = texts if isinstance(texts, list) else [texts]
            for filler in fillers:
                if filler is None or filler == NAN_ARGUMENT:
                    continue
                text = _string(column, f"{where} {role!r}", filler)
                arguments.append(EventArgument(role=str(role), text=text))
        return tuple(arguments)
    if not isinstance(value, list):
        raise ColumnShapeError(
            column,
            f"{where}: expected a list of {{role, text}} or a mapping role -> text, "
            f"got {_type_name(value)}",
        )
    for i, raw in enumerate(value):
        item = _item(column, f"{where} item {i}", raw)
        text = _string(column, f"{where} item {i} text", _first(item, "text", "argument"))
        if text == NAN_ARGUMENT:
            continue
        arguments.append(
            EventArgument(
                role=_string(column, f"{where} item {i} role", item.get("role")),
                text=text,
                start=_offset(column, f"{where} item {i} start", item.get("start")),
                end=_offset(column, f"{where} item {i} end", item.get("end")),
            )
        )
    return tuple(arguments)


def _label_name(column: str, where: str, value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return _string(column, where, value)


def _labels(column: str, value: Any) -> list[LabelScore]:
    if not isinstance(value, list):
        return [LabelScore(label=_label_name(column, "label", value))]
    labels = []
    for i, raw in enumerate(value):
        if isinstance(raw, Mapping):
            score = raw.get("score")
            if score is not None and (
                isinstance(score, bool) or not isinstance(score, (int, float))
            ):
                raise ColumnShapeError(
                    column, f"item {i} score: expected a number, got {_type_name(score)}"
                )
            name = _label_name(column, f"item {i} label", raw.get("label"))
            labels.append(LabelScore(label=name, score=None if score is None else float(score)))
        else:
            labels.append(LabelScore(label=_label_name(column, f"item {i}", raw)))
    return labels


def labels_outside(
    gold: GoldLabels, known: Mapping[TaskKind, frozenset[str]]
) -> dict[str, dict[str, int]]:
    """`{task: {label: occurrences}}` of the gold labels a row uses that its schemas do not have
    (a user's `sports` against a schema's `sport`). They still count as gold, so as misses:
    the model is only ever offered the schema's labels. Tasks not in `known` are not checked."""
    found: dict[str, dict[str, int]] = {}
    for task, labels in _gold_label_names(gold):
        if task not in gold.tasks or task not in known:
            continue
        for label in labels:
            if label not in known[task]:
                counts = found.setdefault(task.value, {})
                counts[label] = counts.get(label, 0) + 1
    return found


def _gold_label_names(gold: GoldLabels) -> Iterator[tuple[TaskKind, list[str]]]:
    result = gold.result
    yield TaskKind.NER, [entity.type for entity in result.entities]
    yield TaskKind.RE, [relation.relation for relation in result.relations]
    yield TaskKind.EE, [event.type for event in result.events]
    yield TaskKind.CLASSIFICATION, [label.label for label in result.labels]


def add_label_counts(
    into: dict[str, dict[str, int]], other: Mapping[str, Mapping[str, int]]
) -> dict[str, dict[str, int]]:
    """`into` with `other`'s counts added, task by task and label by label."""
    for task, labels in other.items():
        counts = into.setdefault(task, {})
        for label, n in labels.items():
            counts[label] = counts.get(label, 0) + n
    return into
