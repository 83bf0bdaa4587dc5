"""Fan-in: the records of all slices (and tasks, and text windows) of a document become one result.

Slices of one schema never overlap in labels, but overlapping text windows and repeated copies in
an answer produce the same record twice; a duplicate would be counted twice by the metrics and
written twice to the output, so exact duplicates go (the first copy stays, order is kept). An
ungrounded copy of a record that is grounded elsewhere (a window that saw the span cut off, say)
goes too: it says nothing the grounded one does not.

For classification, a run-off slice (`final_round`) decides between the labels that won their
slices, so when one chose a label its answer replaces the slice winners of the same schema. A
run-off that failed or chose nothing leaves the winners standing (its errors say why): several
candidates are more use to a reader of the output than none.

For EE in stages, the second stage's event (a trigger with its arguments) replaces the first
stage's trigger-only copy of the same event; a trigger whose second stage failed keeps its event
without arguments.

For NER, an entity-type run-off (`final_round` with a `span`) decides the type of one mention
that several slices claimed: every record of that mention in the schema takes the chosen type,
which may be one no slice gave it, and the copies that become identical go. A mention check
(`verify_mentions`) that found it none of the types drops it, with a warning. The decision is per
mention text within the document; a failed run-off again leaves all standing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Hashable, Iterable
from typing import TypeVar

from ie_batch.parsing.records import NOT_AN_ENTITY, SliceRecords, listed
from ie_batch.results import DocumentResult, Entity, Event, LabelScore, Relation
from ie_batch.schema.model import TaskKind

R = TypeVar("R", Entity, Relation, Event)


def merge_slices(parts: Iterable[SliceRecords]) -> DocumentResult:
    """One document's result from the records of all its slices; errors are kept in order."""
    parts = list(parts)
    decided = {
        part.slice.schema
        for part in parts
        if part.slice is not None
        and part.slice.final_round
        and part.slice.span is None
        and part.labels
    }
    types = _entity_types(parts)
    argued = {
        (event.type, event.trigger_start)
        for part in parts
        if part.slice is not None and part.slice.stage == "arguments"
        for event in part.events
    }
    result = DocumentResult()
    labels: list[str] = []
    rejected: list[str] = []
    for part in parts:
        for entity in part.entities:
            chosen = types.get((part.schema, entity.text), entity.type)
            if chosen == NOT_AN_ENTITY:
                rejected.append(entity.text)
            else:
                result.entities.append(dataclasses.replace(entity, type=chosen))
        result.relations.extend(part.relations)
        result.events.extend(
            event
            for event in part.events
            if not (_is_trigger_stage(part) and (event.type, event.trigger_start) in argued)
        )
        result.errors.extend(part.errors)
        result.warnings.extend(part.warnings)
        if not _superseded(part, decided) and not _is_entity_type_run_off(part):
            labels.extend(part.labels)
    if rejected:
        result.warnings.append(
            f"dropped {len(rejected)} mention(s) the mention check found to be none of the "
            f"schema's types: {listed(list(dict.fromkeys(rejected)))}"
        )
    result.entities = _unique(result.entities, _entity_content, lambda e: e.start is not None)
    result.relations = _unique(result.relations, _relation_content, _relation_grounded)
    result.events = _unique(result.events, _event_content, _event_grounded)
    result.labels = [LabelScore(label) for label in dict.fromkeys(labels)]
    return result


def _is_trigger_stage(part: SliceRecords) -> bool:
    return part.slice is not None and part.slice.stage == "triggers"


def _is_entity_type_run_off(part: SliceRecords) -> bool:
    return part.slice is not None and part.slice.span is not None


def _entity_types(parts: list[SliceRecords]) -> dict[tuple[object, str], str]:
    """(schema, mention text) -> the type its run-off chose."""
    return {
        (part.slice.schema, part.slice.span): part.labels[0]
        for part in parts
        if part.slice is not None and part.slice.span is not None and part.labels
    }


def _superseded(part: SliceRecords, decided: set) -> bool:
    """A classification slice whose winners a run-off of the same schema has already judged."""
    slice = part.slice
    return (
        slice is not None
        and not slice.final_round
        and slice.schema.kind is TaskKind.CLASSIFICATION
        and slice.schema in decided
    )


def _unique(
    records: list[R], content: Callable[[R], Hashable], grounded: Callable[[R], bool]
) -> list[R]:
    placed = {content(record) for record in records if grounded(record)}
    seen: set[R] = set()
    kept: list[R] = []
    for record in records:
        if record in seen:
            continue
        seen.add(record)
        if not grounded(record) and content(record) in placed:
            continue
        kept.append(record)
    return kept


def _entity_content(entity: Entity) -> Hashable:
    return (entity.type, entity.text)


def _relation_content(relation: Relation) -> Hashable:
    return (relation.subject, relation.relation, relation.object)


def _relation_grounded(relation: Relation) -> bool:
    return relation.subject_start is not None or relation.object_start is not None


def _event_content(event: Event) -> Hashable:
    return (event.type, event.trigger, tuple((a.role, a.text) for a in event.arguments))


def _event_grounded(event: Event) -> bool:
    return event.trigger_start is not None or any(a.start is not None for a in event.arguments)
