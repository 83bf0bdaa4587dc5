"""Schema rotation: ask a label set in slices of `split_num`, as IEPile trains its models.

A small model given 13 entity types at once forgets some; given slices of 6 and 7 it answers each
slice well. Rotation is deterministic: sorted by default, or shuffled with a seed derived from the
document id, so a rerun of the same document builds the same prompts.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from ie_batch.schema.model import AnySchema, ClassificationSchema, NerSchema

LabelOrder = Literal["sorted", "given", "shuffled"]

#: What a slice asks. "whole" fills the task's whole answer object in one step. Events and
#: relations are asked in two stages (`prompts.staging`): "triggers" finds the events of each
#: type by their trigger words, then "arguments" fills the roles of one detected event;
#: "subjects" finds the subjects of each relation, then "objects" asks one subject's objects.
Stage = Literal["whole", "triggers", "arguments", "subjects", "objects"]


@dataclass(frozen=True)
class Anchor:
    """The span a second-stage slice asks about (an event's trigger, a relation's subject),
    where the first stage found it: offsets are into the whole document."""

    label: str  # the event type, or the relation the subject was listed for
    text: str
    start: int | None = None
    end: int | None = None


@dataclass(frozen=True)
class SchemaSlice:
    """The labels of one prompt. `final_round` marks a run-off: between the labels that won
    their classification slices, or (with `span`) between the entity types the slices of a NER
    schema gave one mention."""

    schema: AnySchema
    labels: tuple[Any, ...]  # LabelSpec | RelationSpec | EventSpec, per the schema's task
    index: int
    count: int
    final_round: bool = False
    span: str | None = None  # the mention whose type an entity-type run-off asks
    check: bool = False  # an entity-type run-off that may answer "none of these"
    stage: Stage = "whole"
    anchor: Anchor | None = None  # the trigger or subject a second stage asks about

    @property
    def label_names(self) -> list[str]:
        return [label.name for label in self.labels]

    @property
    def offers_none(self) -> bool:
        """Whether a classification answer may be "none of these": when the right label may be
        in another slice, or (multi-label) when no label may apply. A single-slice multi-class
        question and a run-off must pick one of their labels."""
        if self.span is not None:
            return self.check
        if getattr(self.schema, "multi_label", False):
            return not self.final_round
        return not self.final_round and self.count > 1

    @property
    def key(self) -> str:
        """Identifies the slice within its document, for error records and logs."""
        suffix = "final" if self.final_round else f"{self.index + 1}/{self.count}"
        if self.span is not None:
            suffix += f" {self.span!r}"
        if self.stage != "whole":
            suffix += f" {self.stage}"
        if self.anchor is not None:
            where = f"@{self.anchor.start}" if self.anchor.start is not None else ""
            suffix += f" {self.anchor.text!r}{where}"
        return f"{self.schema.name}[{suffix}]"


def split_labels(labels: Sequence[Any], split_num: int) -> list[list[Any]]:
    """Chunks of `split_num`; a remainder smaller than `split_num // 2` joins the last chunk."""
    if split_num < 1:
        raise ValueError(f"split_num must be >= 1, got {split_num}")
    chunks = [list(labels[i : i + split_num]) for i in range(0, len(labels), split_num)]
    if len(chunks) > 1 and len(chunks[-1]) < split_num // 2:
        chunks[-2].extend(chunks.pop())
    return chunks


def document_seed(doc_id: str) -> int:
    """A seed that is the same on every machine and Python process (unlike `hash`)."""
    return int.from_bytes(hashlib.sha256(doc_id.encode("utf-8")).digest()[:8], "big")


def rotate(
    schema: AnySchema,
    doc_id: str | None = None,
    order: LabelOrder = "sorted",
    split_num: int | None = None,
) -> list[SchemaSlice]:
    """The slices one document is asked, in the order they are asked. `split_num` is the labels
    per slice when the schema does not set its own (a prompt format's default)."""
    labels = list(schema.label_specs)
    if order == "sorted":
        labels.sort(key=lambda label: label.name)
    elif order == "shuffled":
        if doc_id is None:
            raise ValueError("order='shuffled' needs the document id to derive its seed")
        random.Random(document_seed(doc_id)).shuffle(labels)
    elif order != "given":
        raise ValueError(f"order must be sorted, given or shuffled, got {order!r}")
    chunks = split_labels(labels, schema.split_num or split_num or schema.effective_split_num)
    if isinstance(schema, ClassificationSchema) and len(chunks) > 1 and len(chunks[-1]) == 1:
        if len(chunks[-2]) > 1:  # one class left over is no choice: it joins the slice before
            chunks[-2].extend(chunks.pop())
    return [
        SchemaSlice(schema=schema, labels=tuple(chunk), index=i, count=len(chunks))
        for i, chunk in enumerate(chunks)
    ]


def final_round_slice(schema: ClassificationSchema, winners: Sequence[str]) -> SchemaSlice | None:
    """A run-off among the labels that won their slices; None when no run-off is needed."""
    unique = list(dict.fromkeys(winners))
    if len(unique) < 2:
        return None
    by_name = {label.name: label for label in schema.labels}
    labels = tuple(by_name[name] for name in unique if name in by_name)
    return SchemaSlice(schema=schema, labels=labels, index=0, count=1, final_round=True)


def entity_type_slice(
    schema: NerSchema, span: str, types: Sequence[str], check: bool = False
) -> SchemaSlice | None:
    """A run-off that asks which of `types` the mention `span` is; None for fewer than two.
    With `check` the answer may also be that it is none of them (`offers_none`): one type is
    then enough to ask.

    Asked one type at a time, a small model says yes to a mention under several types (a county
    cricket side is a location, an organisation and "miscellaneous"); one question that puts the
    candidates side by side lets it choose.
    """
    by_name = {label.name: label for label in schema.entities}
    labels = tuple(by_name[name] for name in dict.fromkeys(types) if name in by_name)
    if len(labels) < (1 if check else 2):
        return None
    return SchemaSlice(
        schema=schema, labels=labels, index=0, count=1, final_round=True, span=span, check=check
    )
