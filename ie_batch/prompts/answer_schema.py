"""The JSON schema an answer to one slice must follow, for vLLM structured outputs.

Keys are exactly the slice's labels, all required, nothing else allowed: with constrained decoding
a small model cannot invent a label, skip one, or wrap the answer in prose. A run-off's answer is
a choice among its labels instead (`{"label": ...}` for classification, `{"type": ...}` for an
entity type).
"""

from __future__ import annotations

from typing import Any, Literal

from ie_batch.schema import ClassificationSchema, SchemaSlice, TaskKind
from ie_batch.schema.model import not_an_entity

ArgumentShape = Literal["list", "string"]

#: At most this many answers per label in one slice. Small models under constrained decoding can
#: fall into repeating list items until the token limit; a cap ends the list instead, and no real
#: sentence-level document holds more mentions of one type than this.
MAX_ITEMS_PER_LABEL = 16
#: Values per event role, and triggers per event type in a sentence-length text: a role holds
#: one or two spans in DuEE/ACE-style data, and a model that lists more is inventing.
MAX_ITEMS_PER_ROLE = 4
#: No span is longer than this many characters (nor than the text): a small model can also loop
#: inside one string, and without a bound that string runs to the token limit.
MAX_SPAN_CHARS = 256
#: A trigger is a word, not the clause around it: DuEE's are 1-4 characters, ACE's one or two
#: words. Unbounded, a small model copies the whole clause that reports the event.
MAX_TRIGGER_CHARS = {"zh": 6, "en": 24}
#: Bounds are rounded up to one of these, so the structured-output backend compiles (and caches)
#: a few grammars per slice, not one per text length.
_BUCKETS = (4, 8, 16, 32, 64, 128, 256)


def _bucket(value: int, limit: int) -> int:
    return min(next((b for b in _BUCKETS if b >= value), _BUCKETS[-1]), limit)


def max_items(text_chars: int | None, limit: int = MAX_ITEMS_PER_LABEL) -> int:
    """Answers per label a text of `text_chars` characters can hold: about one per 12
    characters (a dense Chinese news sentence), at least 4, at most `limit`."""
    if text_chars is None:
        return limit
    return _bucket(max(4, text_chars // 12 + 1), limit)


def max_span_chars(text_chars: int | None) -> int:
    if text_chars is None:
        return MAX_SPAN_CHARS
    return _bucket(max(1, text_chars), MAX_SPAN_CHARS)


def answer_schema(
    slice_: SchemaSlice, argument_shape: ArgumentShape = "list", text_chars: int | None = None
) -> dict[str, Any]:
    """JSON schema for one slice about a text of `text_chars` characters (None: unknown, the
    widest bounds). `argument_shape="string"` is IEPile's one value per role.

    Every array has `maxItems` and every span `maxLength`, so no answer can run to the token
    limit however the model loops."""
    kind = slice_.schema.kind
    if slice_.span is not None:  # an entity-type run-off: one of the candidate types
        choices = list(slice_.label_names)
        if slice_.offers_none:
            choices.append(not_an_entity(slice_.schema.language))
        return _object({"type": {"type": "string", "enum": choices}})
    if kind is TaskKind.CLASSIFICATION:
        return _classification_schema(slice_)
    span = {"type": "string", "maxLength": max_span_chars(text_chars)}
    many = max_items(text_chars)
    if slice_.stage == "arguments":  # the roles of one detected event
        (event,) = slice_.labels
        return _object({role: _capped(span, MAX_ITEMS_PER_ROLE) for role in event.roles})
    if slice_.stage == "triggers":
        # One list of (type, trigger) pairs, not a list per type: offered a key per type, the
        # model fills every key (42 triggers for 4 gold on the demo's event texts, 5 this way).
        trigger = {"type": "string", "maxLength": MAX_TRIGGER_CHARS[slice_.schema.language]}
        event = _object(
            {"type": {"type": "string", "enum": list(slice_.label_names)}, "trigger": trigger}
        )
        return _object({"events": _capped(event, min(many, MAX_ITEMS_PER_ROLE))})
    if kind is TaskKind.NER or slice_.stage in ("subjects", "objects"):
        values = {name: _capped(span, many) for name in slice_.label_names}
    elif kind is TaskKind.RE:
        pair = _object({"subject": span, "object": span})
        values = {name: _capped(pair, many) for name in slice_.label_names}
    else:
        values = {
            event.name: _capped(_event_item(event.roles, argument_shape, span), many)
            for event in slice_.labels
        }
    return _object(values)


def _capped(items: dict[str, Any], limit: int) -> dict[str, Any]:
    return {"type": "array", "items": items, "maxItems": limit}


def _object(properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


def _event_item(
    roles: tuple[str, ...], argument_shape: ArgumentShape, span: dict[str, Any]
) -> dict[str, Any]:
    # IEPile writes one string per role, and a list when a role has several values.
    values = _capped(span, MAX_ITEMS_PER_ROLE)
    value = values if argument_shape == "list" else {"anyOf": [span, values]}
    return _object({"trigger": span, "arguments": _object({r: value for r in roles})})


def _classification_schema(slice_: SchemaSlice) -> dict[str, Any]:
    schema = slice_.schema
    assert isinstance(schema, ClassificationSchema)
    choices = list(slice_.label_names)
    if slice_.offers_none:
        choices.append(schema.none_label)  # a slice may hold none of the right labels
    if schema.multi_label:
        items = {
            "type": "array",
            "items": {"type": "string", "enum": choices},
            "uniqueItems": True,
            "maxItems": len(choices),
        }
        return _object({"labels": items})
    return _object({"label": {"type": "string", "enum": choices}})
