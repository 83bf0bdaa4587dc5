"""What every prompt format provides: a rendered prompt, its answer schema, and its parser.

One format object both renders prompts and parses their answers, so the two cannot drift apart.
Prompts are chat messages; the engine applies the model's own chat template.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ie_batch.parsing import SliceRecords, parse_answer
from ie_batch.prompts.answer_schema import ArgumentShape, answer_schema
from ie_batch.results import DocumentResult
from ie_batch.schema import Anchor, AnySchema, SchemaSlice, TaskKind, rotate
from ie_batch.schema.rotation import LabelOrder


@dataclass(frozen=True)
class Message:
    role: str
    content: str


@dataclass(frozen=True)
class Example:
    """A solved document shown to the model (few-shot); its answer is cut to each slice."""

    text: str
    result: DocumentResult


@dataclass(frozen=True)
class Prompt:
    messages: tuple[Message, ...]
    answer_schema: dict[str, Any]
    slice: SchemaSlice = field(compare=False)
    #: How many characters of the last message are the same in every prompt of its document
    #: (the text, up to the blank line after it): an engine tokenizes that part once per document
    #: (`engines.prompt_tokens`). 0 when the format shares no such prefix.
    shared_prefix_chars: int = field(default=0, compare=False)

    def chat(self) -> list[dict[str, str]]:
        """The messages in the shape chat templates and OpenAI-compatible servers take."""
        return [{"role": m.role, "content": m.content} for m in self.messages]


class PromptFormat(ABC):
    """A way of asking a model for one slice of a schema, and of reading its answer."""

    name: ClassVar[str]
    argument_shape: ClassVar[ArgumentShape] = "list"
    #: Labels per slice for a task when the schema sets no `split_num` (else IEPile's defaults).
    default_split_num: ClassVar[Mapping[TaskKind, int]] = {}
    #: The tasks this format asks in two stages (`prompts.staging`) unless the job says not to.
    stages: ClassVar[frozenset[TaskKind]] = frozenset()
    #: Labels per first-stage slice of a staged task when the schema sets no `split_num`.
    staged_split_num: ClassVar[Mapping[TaskKind, int]] = {}

    def slices(
        self,
        schema: AnySchema,
        doc_id: str | None = None,
        order: LabelOrder = "sorted",
        staged: bool = False,
    ) -> list[SchemaSlice]:
        """The slices this format asks of one document: the schema's rotation, in slices of its
        own `split_num`, else of this format's default for the task (its staged default when
        the task is asked in stages, see `prompts.staging`)."""
        defaults = self.staged_split_num if staged else self.default_split_num
        return rotate(schema, doc_id, order, defaults.get(schema.kind))

    @abstractmethod
    def render(self, text: str, slice_: SchemaSlice, examples: Sequence[Example] = ()) -> Prompt:
        """The prompt for one (document, slice)."""

    def answer_schema(self, slice_: SchemaSlice, text_chars: int | None = None) -> dict[str, Any]:
        return answer_schema(slice_, self.argument_shape, text_chars)

    def parse(
        self,
        answer: str,
        slice_: SchemaSlice,
        text: str,
        *,
        keep_ungrounded: bool = True,
        offset: int = 0,
    ) -> SliceRecords:
        """The grounded records of one answer about `text`; never raises on model output."""
        return parse_answer(answer, slice_, text, keep_ungrounded=keep_ungrounded, offset=offset)

    @staticmethod
    def usable_examples(examples: Sequence[Example], slice_: SchemaSlice) -> list[Example]:
        """The examples whose answer fits the slice: a slice without a "none" answer (a run-off,
        a single multi-class slice) only shows examples whose gold label is among its labels. A
        second-stage slice asks about one trigger or subject of this document: no other
        document's answer shows that, so it shows none."""
        if slice_.anchor is not None:
            return []
        if slice_.schema.kind is not TaskKind.CLASSIFICATION or slice_.offers_none:
            return list(examples)
        names = set(slice_.label_names)
        return [ex for ex in examples if any(lab.label in names for lab in ex.result.labels)]

    def example_answer(self, result: DocumentResult, slice_: SchemaSlice) -> dict[str, Any]:
        """The answer object a perfect model gives for `result`, cut to the slice's labels; for
        a second stage, to the event or subject its anchor points at (training data needs
        those answers too, few-shot examples never do)."""
        kind = slice_.schema.kind
        names = slice_.label_names
        anchor = slice_.anchor
        if slice_.stage == "arguments" and anchor is not None:  # the roles of one event
            (spec,) = slice_.labels
            events = [
                e
                for e in result.events
                if e.type == spec.name and _at(anchor, e.trigger, e.trigger_start)
            ]
            return {
                role: [a.text for e in events for a in e.arguments if a.role == role]
                for role in spec.roles
            }
        if slice_.stage == "objects" and anchor is not None:  # one subject's objects
            return {
                n: [
                    r.object
                    for r in result.relations
                    if r.relation == n and _at(anchor, r.subject, r.subject_start)
                ]
                for n in names
            }
        if slice_.stage == "triggers":
            return {
                "events": [
                    {"type": e.type, "trigger": e.trigger} for e in result.events if e.type in names
                ]
            }
        if slice_.stage == "subjects":
            return {
                n: list(dict.fromkeys(r.subject for r in result.relations if r.relation == n))
                for n in names
            }
        if kind is TaskKind.NER:
            return {n: [e.text for e in result.entities if e.type == n] for n in names}
        if kind is TaskKind.RE:
            return {
                n: [
                    {"subject": r.subject, "object": r.object}
                    for r in result.relations
                    if r.relation == n
                ]
                for n in names
            }
        if kind is TaskKind.EE:
            return {
                event.name: [
                    {"trigger": e.trigger, "arguments": self._example_arguments(e, event.roles)}
                    for e in result.events
                    if e.type == event.name
                ]
                for event in slice_.labels
            }
        return self._example_classification(result, slice_)

    def _example_arguments(self, event: Any, roles: Sequence[str]) -> dict[str, Any]:
        values = {role: [a.text for a in event.arguments if a.role == role] for role in roles}
        if self.argument_shape == "list":
            return values
        return {
            role: (texts[0] if len(texts) == 1 else texts or "NAN")
            for role, texts in values.items()
        }

    @staticmethod
    def _example_classification(result: DocumentResult, slice_: SchemaSlice) -> dict[str, Any]:
        schema = slice_.schema
        gold = [label.label for label in result.labels if label.label in slice_.label_names]
        if schema.multi_label:  # type: ignore[union-attr]
            return {"labels": gold or [schema.none_label]}  # type: ignore[union-attr]
        return {"label": gold[0] if gold else schema.none_label}  # type: ignore[union-attr]


def _at(anchor: Anchor, text: str, start: int | None) -> bool:
    """Whether a record's trigger or subject is the anchor a second stage asks about: the same
    occurrence where both are placed (a name can be the subject twice), else the same text."""
    if anchor.start is not None and start is not None:
        return start == anchor.start
    return text == anchor.text
