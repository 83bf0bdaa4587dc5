"""An annotated document under a schema: the gold row the job and `ie-batch eval` read.

The row is `{id, text, <gold column>}` with the column in ie_batch's result shape
(`ie_batch.results`), offsets included, so it is job input as it is (`entities`, `relations`,
`events` or `labels`, per the schema's task). What each task makes of the tool's spans, links
and choices:

- NER: every span is an entity; its label must be one of the schema's entity types.
- RE: every link is a relation from its source span (the subject) to its target (the object);
  its label must be one of the schema's relations, and where the schema says which entity types
  a relation takes (PP-UIE's `subjects`, or `object_types`) the two spans' labels must fit.
- EE, as PP-UIE annotates events in doccano: a trigger is a span labelled with its event type,
  or with the type and a trigger suffix (`地震触发词`, `earthquake trigger`); each link from a
  trigger is one of the event's arguments, labelled with the role, to the span that fills it.
- classification: the record's choices; one per text for a single-label schema.

Whitespace at a span's edges is trimmed (the job's parser strips it from answers, so a trained
model could never give it back), and exact duplicates (two annotators marking the same span in a
collaborative export) are kept once. Annotations that mean nothing under the schema (entities no
relation uses, under RE; choices, under NER) are counted in `notes`, not imported.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from ie_batch.customize.annotations.model import AnnotatedDocument, Link, Span
from ie_batch.metrics.gold import GOLD_COLUMNS
from ie_batch.schema import (
    AnySchema,
    ClassificationSchema,
    EeSchema,
    EventSpec,
    NerSchema,
    ReSchema,
    TaskKind,
)
from ie_batch.schema.loading import TRIGGER_SUFFIXES

#: What a record must be able to hold for each task.
_NEEDS = {
    TaskKind.NER: {"spans"},
    TaskKind.RE: {"spans", "links"},
    TaskKind.EE: {"spans", "links"},
    TaskKind.CLASSIFICATION: {"choices"},
}
_PROJECT = {
    "spans": "a sequence-labelling project",
    "links": "a sequence-labelling project with relations",
    "choices": "a text-classification project",
}


def gold_column(schema: AnySchema) -> str:
    """The column the job reads this task's gold from (the first name `metrics.gold` accepts)."""
    return GOLD_COLUMNS[schema.kind][0]


def gold_row(document: AnnotatedDocument, schema: AnySchema, notes: Counter[str]) -> dict[str, Any]:
    """The gold row of `document` under `schema`; `AnnotationError` for an annotation that does
    not fit it."""
    missing = _NEEDS[schema.kind] - document.holds
    if missing:
        needed = _PROJECT[sorted(missing)[0]]
        raise document.error(
            "",
            f"the record holds no {' or '.join(sorted(missing))}, which a {schema.kind.value} "
            f"schema needs: export {needed}",
        )
    if isinstance(schema, NerSchema):
        value: list[dict[str, Any]] = _entities(document, schema, notes)
    elif isinstance(schema, ReSchema):
        value = _relations(document, schema, notes)
    elif isinstance(schema, EeSchema):
        value = _events(document, schema, notes)
    else:
        value = _labels(document, schema, notes)
    return {"id": document.id, "text": document.text, gold_column(schema): value}


def _spans(
    document: AnnotatedDocument, notes: Counter[str], by_content: bool = False
) -> list[Span]:
    """The document's spans, trimmed of edge whitespace, exact duplicates once: the same span
    under one key, or (`by_content`, where nothing refers to spans by key) the same label and
    offsets under any."""
    kept: dict[tuple[object, ...], Span] = {}
    for span in document.spans:
        piece = document.text[span.start : span.end]
        if not piece.strip():
            raise document.error(span.field, f"the span [{span.start}, {span.end}) is blank")
        start = span.start + len(piece) - len(piece.lstrip())
        end = span.end - (len(piece) - len(piece.rstrip()))
        if (start, end) != (span.start, span.end):
            notes["spans trimmed of whitespace at their edges"] += 1
            span = Span(span.key, start, end, span.label, span.field)
        identity = (span.label, span.start, span.end)
        if not by_content:
            identity = (span.key, *identity)
        if identity in kept:
            notes["duplicate spans (kept once)"] += 1
            continue
        kept[identity] = span
    return list(kept.values())


def _known(label: str, names: list[str], what: str, schema: AnySchema) -> str | None:
    """Why `label` is not acceptable, or None."""
    if label in names:
        return None
    return f"{label!r} is not {what} of schema {schema.name!r} (expected one of {', '.join(names)})"


def _entities(
    document: AnnotatedDocument, schema: NerSchema, notes: Counter[str]
) -> list[dict[str, Any]]:
    names = schema.label_names
    entities = []
    for span in _spans(document, notes, by_content=True):
        problem = _known(span.label, names, "an entity type", schema)
        if problem:
            raise document.error(span.field, problem)
        entities.append(
            {
                "type": span.label,
                "text": document.text[span.start : span.end],
                "start": span.start,
                "end": span.end,
            }
        )
    if document.links:
        notes["relations (the schema is NER; not imported)"] += len(document.links)
    if document.choices:
        notes["choices (the schema is NER; not imported)"] += len(document.choices)
    entities.sort(key=lambda e: (e["start"], e["end"], e["type"]))
    return entities


def _by_key(document: AnnotatedDocument, spans: list[Span]) -> dict[str, Span]:
    """Spans by the key links use; a key with two different spans has no single end."""
    by_key: dict[str, Span] = {}
    for span in spans:
        if span.key in by_key:
            raise document.error(
                span.field,
                f"region {span.key!r} has two labels or spans ({by_key[span.key].label!r}, "
                f"{span.label!r}); a relation's end must be one labelled span",
            )
        by_key[span.key] = span
    return by_key


def _end(document: AnnotatedDocument, link: Link, by_key: dict[str, Span], which: str) -> Span:
    key = link.source if which == "from" else link.target
    span = by_key.get(key)
    if span is None:
        raise document.error(
            link.field, f"{which}_id {key!r}: no entity with that id in this record"
        )
    return span


def _relations(
    document: AnnotatedDocument, schema: ReSchema, notes: Counter[str]
) -> list[dict[str, Any]]:
    by_key = _by_key(document, _spans(document, notes))
    specs = {spec.name: spec for spec in schema.relations}
    text = document.text
    relations: dict[tuple[int, int, str, int, int], dict[str, Any]] = {}
    used: set[str] = set()
    for link in document.links:
        problem = _known(link.label, list(specs), "a relation", schema)
        if problem:
            raise document.error(link.field, problem)
        subject = _end(document, link, by_key, "from")
        obj = _end(document, link, by_key, "to")
        spec = specs[link.label]
        for role, span, types in (
            ("subject", subject, spec.subject_types),
            ("object", obj, spec.object_types),
        ):
            if types and span.label not in types:
                raise document.error(
                    link.field,
                    f"relation {spec.name!r} takes a {role} of type {', '.join(types)}, but "
                    f"entity {span.key!r} is a {span.label!r}",
                )
        used |= {subject.key, obj.key}
        identity = (subject.start, subject.end, spec.name, obj.start, obj.end)
        if identity in relations:
            notes["duplicate relations (kept once)"] += 1
            continue
        relations[identity] = {
            "subject": text[subject.start : subject.end],
            "relation": spec.name,
            "object": text[obj.start : obj.end],
            "subject_start": subject.start,
            "subject_end": subject.end,
            "object_start": obj.start,
            "object_end": obj.end,
        }
    unused = len(set(by_key) - used)
    if unused:
        notes["entities in no relation (the schema is RE; not imported)"] += unused
    if document.choices:
        notes["choices (the schema is RE; not imported)"] += len(document.choices)
    return [relations[key] for key in sorted(relations)]


def _event_type(label: str, specs: dict[str, EventSpec]) -> str | None:
    """The event type a trigger label names, if it names one."""
    if label in specs:
        return label
    for suffix in TRIGGER_SUFFIXES:
        if label.endswith(suffix) and label.removesuffix(suffix) in specs:
            return label.removesuffix(suffix)
    return None


def _events(
    document: AnnotatedDocument, schema: EeSchema, notes: Counter[str]
) -> list[dict[str, Any]]:
    by_key = _by_key(document, _spans(document, notes))
    specs = {spec.name: spec for spec in schema.events}
    text = document.text
    triggers: dict[str, str] = {}  # span key -> event type
    for span in by_key.values():
        event_type = _event_type(span.label, specs)
        if event_type is not None:
            triggers[span.key] = event_type
        elif span.label.endswith(TRIGGER_SUFFIXES):
            raise document.error(
                span.field,
                f"{span.label!r} is labelled as a trigger of an event type schema "
                f"{schema.name!r} does not have (expected one of {', '.join(specs)})",
            )
    arguments: dict[str, list[dict[str, Any]]] = {key: [] for key in triggers}
    used = set(triggers)
    for link in document.links:
        source = _end(document, link, by_key, "from")
        if source.key not in triggers:
            raise document.error(
                link.field,
                f"it starts at entity {source.key!r} ({source.label!r}), which is no trigger: "
                "an event's roles are links from its trigger (labelled with the event type, "
                "or '<type>触发词') to the spans that fill them",
            )
        spec = specs[triggers[source.key]]
        if link.label not in spec.roles:
            raise document.error(
                link.field,
                f"{link.label!r} is not a role of event type {spec.name!r} (expected one of "
                f"{', '.join(spec.roles) or 'none: it has no roles'})",
            )
        target = _end(document, link, by_key, "to")
        used.add(target.key)
        argument = {
            "role": link.label,
            "text": text[target.start : target.end],
            "start": target.start,
            "end": target.end,
        }
        if argument in arguments[source.key]:
            notes["duplicate arguments (kept once)"] += 1
            continue
        arguments[source.key].append(argument)
    unused = len(set(by_key) - used)
    if unused:
        notes["entities that are neither a trigger nor an argument (not imported)"] += unused
    if document.choices:
        notes["choices (the schema is EE; not imported)"] += len(document.choices)
    events = []
    for key, event_type in triggers.items():
        span = by_key[key]
        events.append(
            {
                "type": event_type,
                "trigger": text[span.start : span.end],
                "trigger_start": span.start,
                "trigger_end": span.end,
                "arguments": sorted(arguments[key], key=lambda a: (a["start"], a["role"])),
            }
        )
    events.sort(key=lambda e: (e["trigger_start"], e["type"]))
    return events


def _labels(
    document: AnnotatedDocument, schema: ClassificationSchema, notes: Counter[str]
) -> list[dict[str, Any]]:
    names = schema.label_names
    labels: list[str] = []
    for choice in document.choices:
        problem = _known(choice.label, names, "a class", schema)
        if problem:
            raise document.error(choice.field, problem)
        if choice.label not in labels:
            labels.append(choice.label)
    if not schema.multi_label and len(labels) != 1:
        field_name = document.choices[-1].field if document.choices else document.choices_field
        found = f"{len(labels)} classes ({', '.join(labels)})" if labels else "no class"
        hint = (
            "; was the text annotated? export only the examples annotators confirmed"
            if not labels
            else ""
        )
        raise document.error(
            field_name, f"{found} for single-label schema {schema.name!r}, which needs one{hint}"
        )
    if document.spans or document.links:
        notes["spans and relations (the schema is a classification; not imported)"] += len(
            document.spans
        ) + len(document.links)
    return [{"label": label} for label in labels]
