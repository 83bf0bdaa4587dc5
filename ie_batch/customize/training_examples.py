"""One gold document as training examples: the prompts the job sends for it, each with the
answer a perfect model would give, checked by reading it back with the job's own parser.

The slices are the job's: `PromptFormat.slices` (schema rotation, the format's labels per slice,
the job's label order), in stages where the format stages the task (`prompts.staging`), with the
second-stage slices built by the job's own `second_stage` from the gold triggers and subjects
as anchors, where the gold places them. Prompts are rendered by the format with no few-shot
examples; the answer is `PromptFormat.example_answer` written by `answer_text`: JSON with
Python's default separators (`{"person": ["Ann"]}`), the way the model writes it unprompted, the
way the format's few-shot answers show it, and what a JSON grammar gives when whitespace is not
left to the model. Compact JSON (`{"person":["Ann"]}`) taught the model to stop answering: its
tokenizer writes `":["` as one token, which the base model never emits after a key (probability
0.0 on CoNLL-2003 prompts; `":` has 1.0), while the empty list `":[]}` starts with that `":`; so
the examples taught "after `":` comes `[]}`" and the tuned model, still writing `":` out of habit,
answered most slices with an empty list (bench/README.md, LoRA section).

Each answer is checked twice before it may become an example: against the JSON schema the job
constrains that slice's answer to (a model decoding under it could not write a longer span or
more items), and by `PromptFormat.parse`, which must read back exactly the gold records of the
slice (`(type, text)` pairs, triples, events: what the job's metrics compare). A gold record the
job could never produce (a span the grounding cannot find as a whole word, a placeholder such as
"none", a mention the proper-name rule drops) fails the second check, and the example is
reported instead of teaching the model an answer the job throws away.
"""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from ie_batch.extraction.extractor import ExtractionSettings
from ie_batch.parsing import SliceRecords, ground_records
from ie_batch.prompts import Prompt, PromptFormat, render_entity_type
from ie_batch.prompts.staging import second_stage, staged
from ie_batch.results import DocumentResult
from ie_batch.schema import Anchor, AnySchema, NerSchema, SchemaSlice, TaskKind
from ie_batch.schema.rotation import entity_type_slice

#: The field of each task's schema that holds its labels.
_LABEL_FIELD = {
    TaskKind.NER: "entities",
    TaskKind.RE: "relations",
    TaskKind.EE: "events",
    TaskKind.CLASSIFICATION: "labels",
}


@dataclass(frozen=True)
class SliceExample:
    """One (document, slice) example: `key` places it among the document's ("2" is the second
    first-stage slice, "2.1" the first second-stage slice that followed it)."""

    key: str
    slice: SchemaSlice
    prompt: Prompt
    answer: str


@dataclass(frozen=True)
class ExampleProblem:
    """An example that was not exported, and why."""

    doc_id: str
    slice_key: str
    reason: str

    def __str__(self) -> str:
        return f"document {self.doc_id!r}, slice {self.slice_key}: {self.reason}"


#: The separators of every training answer: json.dumps' own, `", "` and `": "` (see the module).
ANSWER_SEPARATORS = (", ", ": ")


def answer_text(value: Any) -> str:
    """The answer as the examples write it: one line of JSON with spaced separators, key order as
    the format gives it (the slice's label order, which the answer schema's keys follow)."""
    return json.dumps(value, ensure_ascii=False, separators=ANSWER_SEPARATORS)


def gold_labels(gold: DocumentResult, schema: AnySchema) -> set[str]:
    """The schema's labels the document's gold uses (its positive labels)."""
    kind = schema.kind
    if kind is TaskKind.NER:
        used = {e.type for e in gold.entities}
    elif kind is TaskKind.RE:
        used = {r.relation for r in gold.relations}
    elif kind is TaskKind.EE:
        used = {e.type for e in gold.events}
    else:
        used = {label.label for label in gold.labels}
    return used & set(schema.label_names)


def first_slices(
    schema: AnySchema, fmt: PromptFormat, settings: ExtractionSettings, doc_id: str
) -> list[SchemaSlice]:
    """The first-round slices the job asks of the document (before any stage)."""
    in_stages = settings.staged and schema.kind in fmt.stages
    return fmt.slices(schema, doc_id, settings.label_order, staged=in_stages)


def document_examples(
    doc_id: str,
    text: str,
    gold: DocumentResult,
    schema: AnySchema,
    fmt: PromptFormat,
    settings: ExtractionSettings,
    asked: Collection[str] | None = None,
) -> tuple[list[SliceExample], list[ExampleProblem]]:
    """The document's examples over the labels `asked` (None: every label, as the job asks),
    and the examples left out with why."""
    in_stages = settings.staged and schema.kind in fmt.stages
    full = first_slices(schema, fmt, settings, doc_id)
    if asked is None or set(asked) >= set(schema.label_names):
        slices = full
    else:  # the job's rotation over fewer labels; `count` stays the job's, as prompts show it
        fewer = _restricted(schema, asked)
        slices = [
            dataclasses.replace(s, schema=schema, count=len(full))
            for s in fmt.slices(fewer, doc_id, settings.label_order, staged=in_stages)
        ]
    if in_stages:
        slices = staged(slices)
    placed = _placed(gold, text)
    examples: list[SliceExample] = []
    problems: list[ExampleProblem] = []
    for number, first in enumerate(slices, start=1):
        planned = [(str(number), first)]
        planned += [
            (f"{number}.{follow}", s) for follow, s in enumerate(_second(first, placed), start=1)
        ]
        for key, slice_ in planned:
            example, reason = _example(key, slice_, text, placed, fmt, settings)
            if example is not None:
                examples.append(example)
            else:
                problems.append(ExampleProblem(doc_id, slice_.key, reason or ""))
    return _one_answer_per_prompt(doc_id, examples, problems)


def run_off_examples(
    doc_id: str,
    text: str,
    gold: DocumentResult,
    schema: AnySchema,
    fmt: PromptFormat,
    settings: ExtractionSettings,
) -> tuple[list[SliceExample], list[ExampleProblem]]:
    """The entity-type run-off (`prompts.entity_type`) about each gold mention the text holds as
    a whole word, answered with its gold type: the job asks it about the mentions that several
    one-type slices claimed, with every type of the schema as candidates in the order the slices
    ask them, so the prompt is the job's whichever slices claimed the mention. A mention whose
    text the gold gives two types has no one answer and is reported; nothing for other tasks."""
    if not isinstance(schema, NerSchema):
        return [], []
    order = [name for s in first_slices(schema, fmt, settings, doc_id) for name in s.label_names]
    grounded = ground_records(
        SliceRecords(entities=list(gold.entities)), text, keep_ungrounded=False
    ).entities
    types: dict[str, list[str]] = {}
    for entity in grounded:
        if entity.start is not None and entity.type in order:
            types.setdefault(entity.text, []).append(entity.type)
    examples: list[SliceExample] = []
    problems: list[ExampleProblem] = []
    for number, (span, found) in enumerate(types.items(), start=1):
        key = f"type.{number}"
        slice_ = entity_type_slice(schema, span, order, check=schema.verify_mentions)
        if slice_ is None:  # one type and nothing to check: the job never asks
            continue
        if len(set(found)) > 1:
            problems.append(
                ExampleProblem(
                    doc_id, key, f"the gold gives {span!r} the types {sorted(set(found))}"
                )
            )
            continue
        value = {"type": found[0]}
        prompt = render_entity_type(text, slice_)
        broken = _schema_violation(value, prompt.answer_schema)
        if broken:
            problems.append(ExampleProblem(doc_id, key, f"the run-off answer {value}: {broken}"))
            continue
        examples.append(SliceExample(key, slice_, prompt, answer_text(value)))
    return examples, problems


def _one_answer_per_prompt(
    doc_id: str, examples: list[SliceExample], problems: list[ExampleProblem]
) -> tuple[list[SliceExample], list[ExampleProblem]]:
    """Each prompt once. Two second stages can render the same prompt (a trigger or subject
    that occurs twice: the prompt quotes the word, not where it is); with the same answer one
    example says it all, with different answers no answer is right for the prompt, and both
    are reported instead of teaching the model to contradict itself."""
    by_prompt: dict[str, list[SliceExample]] = {}
    for example in examples:
        key = json.dumps(example.prompt.chat(), ensure_ascii=False)
        by_prompt.setdefault(key, []).append(example)
    kept: list[SliceExample] = []
    for same in by_prompt.values():
        answers = list(dict.fromkeys(example.answer for example in same))
        if len(answers) == 1:
            kept.append(same[0])
            continue
        anchor = same[0].slice.anchor
        for example in same:
            problems.append(
                ExampleProblem(
                    doc_id,
                    example.slice.key,
                    f"{len(same)} second-stage prompts about {anchor.text if anchor else '?'!r} "
                    f"read the same but their gold answers differ ({', '.join(answers)}); the "
                    "prompt cannot say which occurrence it means",
                )
            )
    order = {id(example): position for position, example in enumerate(examples)}
    kept.sort(key=lambda example: order[id(example)])
    return kept, problems


def _restricted(schema: AnySchema, asked: Collection[str]) -> AnySchema:
    """The schema with only the `asked` labels (same order, same descriptions)."""
    name = _LABEL_FIELD[schema.kind]
    kept = tuple(spec for spec in schema.label_specs if spec.name in asked)
    return schema.model_copy(update={name: kept})


def _placed(gold: DocumentResult, text: str) -> DocumentResult:
    """The gold with each trigger and subject placed in the text (the gold's own offsets where
    it has them, else where the job's grounding finds them): what second stages anchor on."""
    grounded = ground_records(
        SliceRecords(relations=list(gold.relations), events=list(gold.events)),
        text,
        keep_ungrounded=True,
    )
    return dataclasses.replace(gold, relations=grounded.relations, events=grounded.events)


def _second(first: SchemaSlice, gold: DocumentResult) -> list[SchemaSlice]:
    """The second-stage slices the job asks after a perfect first-stage answer."""
    if first.stage not in ("triggers", "subjects"):
        return []
    names = set(first.label_names)
    part = SliceRecords(
        slice=first,
        events=[e for e in gold.events if e.type in names],
        anchors=[
            Anchor(r.relation, r.subject, r.subject_start, r.subject_end)
            for r in gold.relations
            if r.relation in names
        ],
    )
    return list(dict.fromkeys(second_stage(part)))  # two gold events on one trigger: one slice


def _example(
    key: str,
    slice_: SchemaSlice,
    text: str,
    gold: DocumentResult,
    fmt: PromptFormat,
    settings: ExtractionSettings,
) -> tuple[SliceExample | None, str | None]:
    prompt = fmt.render(text, slice_)
    value = fmt.example_answer(gold, slice_)
    answer = answer_text(value)
    broken = _schema_violation(value, prompt.answer_schema)
    if broken:
        return None, f"the answer {answer} breaks the slice's answer schema: {broken}"
    parsed = fmt.parse(answer, slice_, text, keep_ungrounded=settings.keep_ungrounded)
    expected, read = Counter(_expected(slice_, gold)), Counter(_read(parsed))
    if parsed.errors or expected != read:
        missing, extra = sorted(expected - read), sorted(read - expected)
        detail = "; ".join(
            part
            for part in (
                f"missing {missing}" if missing else "",
                f"extra {extra}" if extra else "",
                "; ".join(parsed.errors + parsed.warnings),
            )
            if part
        )
        return None, f"the parser does not read back the gold from {answer}: {detail}"
    return SliceExample(key, slice_, prompt, answer), None


@lru_cache(maxsize=256)
def _validator(schema_json: str) -> Any:
    import jsonschema

    return jsonschema.Draft202012Validator(json.loads(schema_json))


def _schema_violation(value: Any, answer_schema: dict[str, Any]) -> str | None:
    validator = _validator(json.dumps(answer_schema, sort_keys=True))
    error = next(iter(validator.iter_errors(value)), None)
    if error is None:
        return None
    where = "/".join(str(part) for part in error.absolute_path) or "the answer"
    return f"at {where}: {error.message}"


def _at_anchor(anchor: Anchor | None, start: int | None) -> bool:
    return anchor is not None and start is not None and start == anchor.start


def _expected(slice_: SchemaSlice, gold: DocumentResult) -> list[tuple]:
    """The gold records of the slice, as the job's metrics compare them."""
    names = set(slice_.label_names)
    anchor = slice_.anchor
    if slice_.stage == "triggers":
        return [(e.type, e.trigger) for e in gold.events if e.type in names]
    if slice_.stage == "subjects":
        return sorted({(r.relation, r.subject) for r in gold.relations if r.relation in names})
    if slice_.stage == "arguments":
        return [
            (a.role, a.text)
            for e in gold.events
            if e.type in names and _at_anchor(anchor, e.trigger_start)
            for a in e.arguments
        ]
    if slice_.stage == "objects":
        return [
            (r.relation, r.object)
            for r in gold.relations
            if r.relation in names and _at_anchor(anchor, r.subject_start)
        ]
    kind = slice_.schema.kind
    if kind is TaskKind.NER:
        return [(e.type, e.text) for e in gold.entities if e.type in names]
    if kind is TaskKind.RE:
        return [(r.subject, r.relation, r.object) for r in gold.relations if r.relation in names]
    if kind is TaskKind.EE:
        return [
            (e.type, e.trigger, tuple(sorted((a.role, a.text) for a in e.arguments)))
            for e in gold.events
            if e.type in names
        ]
    return [(label.label,) for label in gold.labels if label.label in names]


def _read(parsed: SliceRecords) -> list[tuple]:
    """The records the parser read from one answer, in `_expected`'s terms."""
    slice_ = parsed.slice
    assert slice_ is not None
    if slice_.stage == "triggers":
        return [(e.type, e.trigger) for e in parsed.events]
    if slice_.stage == "subjects":
        return sorted({(a.label, a.text) for a in parsed.anchors})
    if slice_.stage == "arguments":
        return [(a.role, a.text) for e in parsed.events for a in e.arguments]
    if slice_.stage == "objects":
        return [(r.relation, r.object) for r in parsed.relations]
    kind = slice_.schema.kind
    if kind is TaskKind.NER:
        return [(e.type, e.text) for e in parsed.entities]
    if kind is TaskKind.RE:
        return [(r.subject, r.relation, r.object) for r in parsed.relations]
    if kind is TaskKind.EE:
        return [
            (e.type, e.trigger, tuple(sorted((a.role, a.text) for a in e.arguments)))
            for e in parsed.events
        ]
    return [(label,) for label in parsed.labels]
