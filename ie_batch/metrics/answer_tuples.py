"""Score a model's answer text against a gold answer text, before any grounding.

Training measures a model on held-out training examples (`ie-batch train`'s dev F1): the gold is
the answer the job's parser would read, and the prediction is what the model generated for the
same prompt. Neither has been through the job's grounding or merging, so they are compared as
answers: both are read as JSON (tolerantly, as the job reads answers: `extract_json`), turned into
exact-match tuples by IEPile's rules, and matched as multisets (each gold tuple at most once).

The tuples follow the answer shapes the prompt formats ask for (`ie_batch.prompts.answer_schema`):

- NER `{type: [text]}` -> `(type, text)`; the same shape serves relation subjects and objects
  (stages "subjects", "objects": `{relation: [span]}`), event arguments (stage "arguments":
  `{role: [span]}`) and an entity-type run-off (`{"type": name}` -> `("type", name)`).
- RE `{relation: [{subject, object}]}` -> `(relation, subject, object)`.
- EE `{type: [{trigger, arguments: {role: [text] | text}}]}` -> `(type, trigger)` and
  `(type, role, argument)`; stage "triggers" `{"events": [{type, trigger}]}` -> `(type, trigger)`.
- classification `{"label": x}` / `{"labels": [x, ...]}` -> `(x,)`; a label outside the slice's
  asked labels (the schema's "none of these") is no label, so it gives no tuple.

IEPile's "NAN" placeholder is no span. A prediction that is not JSON, or not of the expected
shape, gives no tuples: it costs recall, it never raises.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from ie_batch.metrics.counts import Counts
from ie_batch.metrics.extraction import NAN_ARGUMENT, match_counts
from ie_batch.parsing.json_answer import extract_json

AnswerTuple = tuple[str, ...]

#: The stages whose answer is one list of spans per label, like NER's.
_SPAN_LIST_STAGES = frozenset({"subjects", "objects", "arguments"})


def answer_tuples(
    answer: str | Any,
    task: str,
    stage: str | None = None,
    labels: Sequence[str] | None = None,
) -> list[AnswerTuple]:
    """The exact-match tuples of one answer (text, or the JSON value already read) to a slice
    of `task` ("ner", "re", "ee", "classification") at `stage` (None or "whole" for a one-stage
    slice). `labels`: the slice's asked labels; only classification uses them."""
    value = extract_json(answer).value if isinstance(answer, str) else answer
    if not isinstance(value, dict):
        return []
    if task == "classification":
        return list(_classification(value, labels))
    if stage in _SPAN_LIST_STAGES or task == "ner":
        return list(_spans_per_key(value))
    if task == "re":
        return list(_relations(value))
    if task == "ee":
        return list(_trigger_list(value) if stage == "triggers" else _events(value))
    raise ValueError(f"unknown task {task!r}; expected ner, re, ee or classification")


def answer_counts(
    predicted: str | Any,
    gold: str | Any,
    task: str,
    stage: str | None = None,
    labels: Sequence[str] | None = None,
) -> Counts:
    """Matches between a predicted and a gold answer to the same slice."""
    return match_counts(
        answer_tuples(predicted, task, stage, labels), answer_tuples(gold, task, stage, labels)
    )


def _strings(value: Any) -> Iterator[str]:
    """The spans of a value that should be a list of strings (IEPile also writes one string)."""
    items = value if isinstance(value, list) else [value]
    for item in items:
        if isinstance(item, str) and item and item != NAN_ARGUMENT:
            yield item


def _spans_per_key(value: dict[str, Any]) -> Iterator[AnswerTuple]:
    for key, spans in value.items():
        for span in _strings(spans):
            yield (key, span)


def _relations(value: dict[str, Any]) -> Iterator[AnswerTuple]:
    for relation, pairs in value.items():
        for pair in _dicts(pairs):
            subject, obj = pair.get("subject"), pair.get("object")
            if isinstance(subject, str) and isinstance(obj, str) and subject and obj:
                yield (relation, subject, obj)


def _trigger_list(value: dict[str, Any]) -> Iterator[AnswerTuple]:
    for event in _dicts(value.get("events")):
        kind, trigger = event.get("type"), event.get("trigger")
        if isinstance(kind, str) and isinstance(trigger, str) and trigger:
            yield (kind, trigger)


def _events(value: dict[str, Any]) -> Iterator[AnswerTuple]:
    for kind, events in value.items():
        for event in _dicts(events):
            trigger = event.get("trigger")
            if isinstance(trigger, str) and trigger and trigger != NAN_ARGUMENT:
                yield (kind, trigger)
            arguments = event.get("arguments")
            if isinstance(arguments, dict):
                for role, texts in arguments.items():
                    for text in _strings(texts):
                        yield (kind, role, text)


def _classification(value: dict[str, Any], labels: Sequence[str] | None) -> Iterator[AnswerTuple]:
    asked = None if labels is None else set(labels)
    chosen: Iterable[Any] = value["labels"] if "labels" in value else [value.get("label")]
    if not isinstance(chosen, list):
        chosen = [chosen]
    for label in dict.fromkeys(item for item in chosen if isinstance(item, str)):
        if asked is None or label in asked:
            yield (label,)


def _dicts(value: Any) -> Iterator[dict[str, Any]]:
    if isinstance(value, list):
        yield from (item for item in value if isinstance(item, dict))
