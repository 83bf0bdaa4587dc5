"""Events and relations in two stages: find what the record hangs on, then ask about each one.

Asked to fill a whole event object (`{type: [{trigger, arguments: {role: [...]}}]}`) for four
event types at once, a 0.5B model invents events until the token limit: the answer shape invites
content, and "none" is the hardest thing for it to say. IEPile splits events the same way (EET:
event type and trigger; EEA: the arguments of one given event) and PP-UIE asks relations per
subject. So:

- EE, stage "triggers": per slice of event types, `{type: [trigger, ...]}` — short lists of
  words copied from the text, an empty list the easy answer. Stage "arguments": one prompt per
  detected (event type, trigger), `{role: [span, ...]}` for that type's roles only. A document
  with no event costs one short prompt per slice; an event type without roles costs no second.
- RE, stage "subjects": per slice of relations, `{relation: [subject, ...]}`. Stage "objects":
  one prompt per subject, `{relation: [object, ...]}` over the relations it was listed for.

Both second stages put the text first, so they share the document's cached prefix with the
first. The anchor (trigger or subject) keeps the offsets the first stage grounded it at, so the
second stage's records sit on that occurrence, not on the first copy of the same word.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from ie_batch.parsing import SliceRecords
from ie_batch.schema import Anchor, SchemaSlice, Stage, TaskKind

#: The first stage of each staged task.
FIRST_STAGE: dict[TaskKind, Stage] = {TaskKind.EE: "triggers", TaskKind.RE: "subjects"}


def staged(slices: Sequence[SchemaSlice]) -> list[SchemaSlice]:
    """The first-stage form of a task's slices (unchanged for a task that has no stages)."""
    return [
        dataclasses.replace(s, stage=FIRST_STAGE[s.schema.kind])
        if s.schema.kind in FIRST_STAGE and s.stage == "whole" and s.span is None
        else s
        for s in slices
    ]


def second_stage(part: SliceRecords) -> list[SchemaSlice]:
    """The slices to ask after a first-stage answer: one per grounded trigger of an event type
    with roles, one per grounded subject. An anchor not found in the text is not asked about
    (there is nothing to point the model at); a trigger keeps its event without arguments."""
    slice_ = part.slice
    if slice_ is None:
        return []
    if slice_.stage == "triggers":
        specs = {event.name: event for event in slice_.labels}
        slices = []
        for event in part.events:
            spec = specs.get(event.type)
            if spec is None or not spec.roles or event.trigger_start is None:
                continue
            anchor = Anchor(event.type, event.trigger, event.trigger_start, event.trigger_end)
            slices.append(_follow_up(slice_, (spec,), "arguments", anchor))
        return slices
    if slice_.stage == "subjects":
        specs = {relation.name: relation for relation in slice_.labels}
        by_subject: dict[tuple[str, int], tuple[Anchor, list]] = {}
        for anchor in part.anchors:
            if anchor.start is None or anchor.label not in specs:
                continue
            key = (anchor.text, anchor.start)
            _, relations = by_subject.setdefault(key, (anchor, []))
            if specs[anchor.label] not in relations:
                relations.append(specs[anchor.label])
        return [
            _follow_up(slice_, tuple(relations), "objects", anchor)
            for anchor, relations in by_subject.values()
        ]
    return []


def _follow_up(first: SchemaSlice, labels: tuple, stage: Stage, anchor: Anchor) -> SchemaSlice:
    return dataclasses.replace(first, labels=labels, stage=stage, anchor=anchor)
