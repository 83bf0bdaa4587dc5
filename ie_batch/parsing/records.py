"""Turn one slice's parsed answer into typed records, keeping what is usable and saying what not.

The answer is keyed by the slice's label names (IEPile's output format). Models drift from it
in a few known ways, which are accepted here rather than lost: a string where a list was asked,
IEPile's "NAN" / "无" placeholders for "nothing", `head`/`tail` instead of `subject`/`object`,
a label written in another case. Anything else is skipped with an error naming the slice and what
was expected, so a bad answer costs its own records and nothing more. Offsets are left None;
grounding fills them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ie_batch.results import Entity, Event, EventArgument, Relation
from ie_batch.schema.model import AnySchema, ClassificationSchema, TaskKind, not_an_entity
from ie_batch.schema.rotation import Anchor, SchemaSlice

#: The label a mention check gives a mention that is none of its types (it is then dropped).
NOT_AN_ENTITY = "\x00none"

#: Values that mean "nothing found": IEPile writes "NAN" (and "无" in Chinese) for an empty role.
PLACEHOLDERS = frozenset({"", "nan", "none", "null", "n/a", "无"})

_SUBJECT_KEYS = ("subject", "head")
_OBJECT_KEYS = ("object", "tail")
_ARGUMENT_TEXT_KEYS = ("text", "argument", "value", "name")


@dataclass
class SliceRecords:
    """The records read from one slice's answer (and, after grounding, their offsets).

    `labels` are the classification choices of the slice (its none label removed: an empty list
    means "none of these"), or the type an entity-type run-off chose. `anchors` are the subjects
    a first-stage relation slice found: not results, but what the second stage asks about.
    `ungrounded` counts spans that could not be found in the text and `dropped` the records
    removed for that, so both can become metrics.
    """

    entities: list[Entity] = field(default_factory=list)
    relations: list[Relation] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    anchors: list[Anchor] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # what a setting removed on purpose
    slice: SchemaSlice | None = None
    ungrounded: int = 0
    dropped: int = 0
    hit_limit: bool = False  # the answer ran to the engine's token limit

    @property
    def key(self) -> str:
        return self.slice.key if self.slice is not None else "?"

    @property
    def schema(self) -> AnySchema | None:
        return self.slice.schema if self.slice is not None else None


def listed(texts: list[str], limit: int = 5) -> str:
    """The first `limit` texts quoted, then how many more: a warning stays one readable line."""
    shown = ", ".join(repr(text) for text in texts[:limit])
    return shown + (f" and {len(texts) - limit} more" if len(texts) > limit else "")


def records_from_answer(value: Any, slice: SchemaSlice) -> SliceRecords:
    """The records in `value` (a parsed answer) for `slice`; never raises."""
    records = SliceRecords(slice=slice)
    if value is None:
        records.errors.append(f"slice {slice.key}: no answer to read")
        return records
    reader = _Reader(slice, records)
    try:
        reader.read(value)
    except Exception as exc:  # noqa: BLE001 - a reader bug must cost one slice, not the batch
        records.errors.append(f"slice {slice.key}: could not read the answer ({exc!r})")
    return records


def is_placeholder(value: Any) -> bool:
    """True for None and for IEPile's written-out "nothing" values."""
    return value is None or (isinstance(value, str) and value.strip().casefold() in PLACEHOLDERS)


def _normal(name: str) -> str:
    return " ".join(name.split()).casefold()


def _show(value: Any, limit: int = 60) -> str:
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class _Names:
    """Looks a name up exactly, then ignoring case and spacing; gives the canonical name."""

    def __init__(self, names: Iterable[str]) -> None:
        self._exact = {name: name for name in names}
        self._loose = {_normal(name): name for name in self._exact}

    def __bool__(self) -> bool:
        return bool(self._exact)

    def find(self, name: Any) -> str | None:
        if not isinstance(name, str):
            return None
        return self._exact.get(name) or self._loose.get(_normal(name))


class _Reader:
    def __init__(self, slice: SchemaSlice, records: SliceRecords) -> None:
        self.slice = slice
        self.records = records
        self.labels = _Names(slice.label_names)
        self.specs = {label.name: label for label in slice.labels}

    def error(self, message: str) -> None:
        self.records.errors.append(f"slice {self.slice.key}: {message}")

    def read(self, value: Any) -> None:
        kind = self.slice.schema.kind
        if kind is TaskKind.CLASSIFICATION:
            self.read_classification(value)
            return
        if self.slice.span is not None:
            self.read_entity_type(value)
            return
        if self.slice.stage == "arguments":
            self.read_event_arguments(value)
            return
        stage = self.slice.stage
        if stage == "triggers" and isinstance(value, dict) and list(value) == ["events"]:
            self.read_trigger_pairs(value["events"])
            return
        for label, item in self.labelled_items(value):
            if stage == "triggers":
                for trigger in self.texts(item, repr(label)):
                    self.records.events.append(Event(type=label, trigger=trigger))
            elif stage == "subjects":  # grounded as entities, then kept as anchors
                self.read_entities(label, item)
            elif stage == "objects":
                self.read_objects(label, item)
            elif kind is TaskKind.NER:
                self.read_entities(label, item)
            elif kind is TaskKind.RE:
                self.read_relations(label, item)
            else:
                self.read_events(label, item)

    def labelled_items(self, value: Any) -> Iterable[tuple[str, Any]]:
        """(label, value) pairs of a `{label: value}` answer; a list of such objects also works."""
        objects = value if isinstance(value, list) else [value]
        for position, obj in enumerate(objects):
            if not isinstance(obj, dict):
                where = f"item {position}" if isinstance(value, list) else "the answer"
                self.error(f"{where}: expected a JSON object keyed by label, got {_show(obj)}")
                continue
            for key, item in obj.items():
                label = self.labels.find(key)
                if label is None:
                    self.records.errors.append(
                        f"answer key {key!r} is not a label of slice {self.slice.key}"
                    )
                    continue
                yield label, item

    def texts(self, value: Any, where: str) -> list[str]:
        """Span texts in `value`: a string, a list of strings, or a placeholder for none."""
        if is_placeholder(value):
            return []
        if isinstance(value, str):
            return [value.strip()]
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return [str(value)]  # a span like "2022" written as a number
        if isinstance(value, list):
            texts: list[str] = []
            for position, item in enumerate(value):
                if isinstance(item, list):
                    self.error(f"{where}[{position}]: expected a span string, got {_show(item)}")
                    continue
                texts.extend(self.texts(item, f"{where}[{position}]"))
            return texts
        self.error(f"{where}: expected a span string or a list of them, got {_show(value)}")
        return []

    def items(self, value: Any) -> list[Any]:
        if is_placeholder(value):
            return []
        return value if isinstance(value, list) else [value]

    def read_entities(self, label: str, value: Any) -> None:
        for text in self.texts(value, repr(label)):
            self.records.entities.append(Entity(type=label, text=text))

    def read_relations(self, label: str, value: Any) -> None:
        for position, item in enumerate(self.items(value)):
            where = f"{label!r}[{position}]"
            if isinstance(item, (list, tuple)) and len(item) == 2:
                item = {"subject": item[0], "object": item[1]}
            if not isinstance(item, dict):
                self.error(
                    f'{where}: expected {{"subject": ..., "object": ...}}, got {_show(item)}'
                )
                continue
            subjects = self.texts(_first(item, _SUBJECT_KEYS), f"{where}.subject")
            objects = self.texts(_first(item, _OBJECT_KEYS), f"{where}.object")
            if not subjects or not objects:
                self.error(
                    f'{where}: expected {{"subject": ..., "object": ...}} with both spans, '
                    f"got {_show(item)}"
                )
                continue
            for subject in subjects:
                for obj in objects:
                    self.records.relations.append(
                        Relation(subject=subject, relation=label, object=obj)
                    )

    def read_trigger_pairs(self, value: Any) -> None:
        """`[{"type": ..., "trigger": ...}, ...]`: the events a trigger slice found."""
        for position, item in enumerate(self.items(value)):
            where = f"events[{position}]"
            label = self.labels.find(item.get("type")) if isinstance(item, dict) else None
            if label is None:
                self.error(
                    f'{where}: expected {{"type": <event type>, "trigger": ...}}, got {_show(item)}'
                )
                continue
            for trigger in self.texts(item.get("trigger"), f"{where}.trigger"):
                self.records.events.append(Event(type=label, trigger=trigger))

    def read_objects(self, label: str, value: Any) -> None:
        """One subject's objects for `label`: the subject is the slice's anchor."""
        anchor = self.slice.anchor
        assert anchor is not None
        for text in self.texts(value, repr(label)):
            self.records.relations.append(
                Relation(
                    subject=anchor.text,
                    relation=label,
                    object=text,
                    subject_start=anchor.start,
                    subject_end=anchor.end,
                )
            )

    def read_event_arguments(self, value: Any) -> None:
        """`{role: [span, ...]}` for the one event the slice's anchor names."""
        anchor = self.slice.anchor
        assert anchor is not None
        (spec,) = self.slice.labels
        if not isinstance(value, dict):
            self.error(f"expected {{role: [spans]}}, got {_show(value)}")
            arguments: tuple[EventArgument, ...] = ()
        else:
            arguments = tuple(self.arguments(value, _Names(spec.roles), "arguments"))
        self.records.events.append(
            Event(
                type=spec.name,
                trigger=anchor.text,
                trigger_start=anchor.start,
                trigger_end=anchor.end,
                arguments=arguments,
            )
        )

    def read_events(self, label: str, value: Any) -> None:
        roles = _Names(self.specs[label].roles)
        for position, item in enumerate(self.items(value)):
            where = f"{label!r}[{position}]"
            if not isinstance(item, dict):
                self.error(
                    f'{where}: expected {{"trigger": ..., "arguments": {{...}}}}, got {_show(item)}'
                )
                continue
            triggers = self.texts(item.get("trigger"), f"{where}.trigger")
            if not triggers:
                self.error(f"{where}: expected a trigger span, got {_show(item)}")
                continue
            for extra in [key for key in item if key not in ("trigger", "arguments")]:
                self.error(f"{where}: ignored key {extra!r} (expected trigger and arguments)")
            arguments = tuple(self.arguments(item.get("arguments"), roles, f"{where}.arguments"))
            for trigger in triggers:
                self.records.events.append(Event(type=label, trigger=trigger, arguments=arguments))

    def arguments(self, value: Any, roles: _Names, where: str) -> Iterable[EventArgument]:
        """`{role: text | [text, ...]}`, or a list of `{"role": ..., "text": ...}`."""
        if is_placeholder(value) or value == [] or value == {}:
            return
        if isinstance(value, list) and all(isinstance(item, dict) for item in value):
            pairs = [(item.get("role"), _first(item, _ARGUMENT_TEXT_KEYS)) for item in value]
        elif isinstance(value, dict):
            pairs = list(value.items())
        else:
            self.error(f"{where}: expected {{role: text or [text, ...]}}, got {_show(value)}")
            return
        for role, texts in pairs:
            name = roles.find(role) if roles else (role if isinstance(role, str) else None)
            if name is None:
                self.error(f"{where}: {_show(role)} is not a role of this event type")
                continue
            for text in self.texts(texts, f"{where}.{name}"):
                yield EventArgument(role=name, text=text)

    def read_classification(self, value: Any) -> None:
        schema = self.slice.schema
        assert isinstance(schema, ClassificationSchema)
        if isinstance(value, dict):
            chosen: list[Any] = []
            found = False
            for key, item in value.items():
                if isinstance(key, str) and key.strip().casefold() in ("label", "labels"):
                    chosen.extend(item if isinstance(item, list) else [item])
                    found = True
                else:
                    self.error(f"ignored answer key {key!r} (expected 'label' or 'labels')")
            if not found:
                self.error(f'expected {{"label": ...}} or {{"labels": [...]}}, got {_show(value)}')
                return
        elif isinstance(value, list):
            chosen = value
        else:
            chosen = [value]
        labels: list[str] = []
        for item in chosen:
            if is_placeholder(item) or (
                isinstance(item, str) and _normal(item) == _normal(schema.none_label)
            ):
                continue
            label = self.labels.find(item.strip() if isinstance(item, str) else item)
            if label is None:
                self.error(f"answer label {_show(item)} is not a label of this slice")
            elif label not in labels:
                labels.append(label)
        if not schema.multi_label and len(labels) > 1:
            self.error(f"expected one label, got {len(labels)}; kept {labels[0]!r}")
            labels = labels[:1]
        self.records.labels.extend(labels)

    def read_entity_type(self, value: Any) -> None:
        """An entity-type run-off's choice, `{"type": name}` (or the bare name), as its label."""
        chosen = value
        if isinstance(value, dict):
            chosen = _first(value, ("type", "label"))
            if chosen is None:
                self.error(f'expected {{"type": ...}}, got {_show(value)}')
                return
        if self.slice.offers_none and isinstance(chosen, str):
            if _normal(chosen) == _normal(not_an_entity(self.slice.schema.language)):
                self.records.labels.append(NOT_AN_ENTITY)
                return
        label = self.labels.find(chosen.strip() if isinstance(chosen, str) else chosen)
        if label is None:
            self.error(f"answer type {_show(chosen)} is not one of {self.slice.label_names}")
            return
        self.records.labels.append(label)


def _first(item: dict[str, Any], keys: tuple[str, ...]) -> Any:
    for key in keys:
        if key in item:
            return item[key]
    return None
