"""The JSON schema an answer to one slice must follow, for vLLM structured outputs.

Keys are exactly the slice's labels, all required, nothing else allowed: with constrained decoding
a small model cannot invent a label, skip one, or wrap the answer in prose. A run-off's answer is
a choice among its labels instead (`{"label": ...}` for classification, `{"type": ...}` for an
entity type).
"""

from __future__ import annotations

from typing import Any, Literal

from ie_batch.schema import ClassificationSchema, SchemaSlice, TaskKind

ArgumentShape = Literal["list", "string"]

#: At most this many answers per label in one slice. Small models under constrained decoding can
#: fall into repeating list items until the token limit; a cap ends the list instead, and no real
#: sentence-level document holds more mentions of one type than this.
MAX_ITEMS_PER_LABEL = 16

_STRING_LIST: dict[str, Any] = {"type": "array", "items": {"type": "string"}}
_PAIR: dict[str, Any] = {
    "type": "object",
    "properties": {"subject": {"type": "string"}, "object": {"type": "string"}},
    "required": ["subject", "object"],
    "additionalProperties": False,
}


def answer_schema(slice_: SchemaSlice, argument_shape: ArgumentShape = "list") -> dict[str, Any]:
    """JSON schema for one slice. `argument_shape="string"` is IEPile's one value per role."""
    kind = slice_.schema.kind
    if slice_.span is not None:  # an entity-type run-off: one of the candidate types
        return _object({"type": {"type": "string", "enum": list(slice_.label_names)}})
    if kind is TaskKind.CLASSIFICATION:
        return _classification_schema(slice_)
    if kind is TaskKind.NER:
        values = {name: _capped({"type": "string"}) for name in slice_.label_names}
    elif kind is TaskKind.RE:
        values = {name: _capped(_PAIR) for name in slice_.label_names}
    else:
        values = {
            event.name: _capped(_event_item(event.roles, argument_shape)) for event in slice_.labels
        }
    return _object(values)


def _capped(items: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": items, "maxItems": MAX_ITEMS_PER_LABEL}


def _object(properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


def _event_item(roles: tuple[str, ...], argument_shape: ArgumentShape) -> dict[str, Any]:
    # IEPile writes one string per role, and a list when a role has several values.
    value = (
        _STRING_LIST if argument_shape == "list" else {"anyOf": [{"type": "string"}, _STRING_LIST]}
    )
    return _object({"trigger": {"type": "string"}, "arguments": _object({r: value for r in roles})})


def _classification_schema(slice_: SchemaSlice) -> dict[str, Any]:
    schema = slice_.schema
    assert isinstance(schema, ClassificationSchema)
    choices = list(slice_.label_names)
    if slice_.offers_none:
        choices.append(schema.none_label)  # a slice may hold none of the right labels
    if schema.multi_label:
        items = {"type": "array", "items": {"type": "string", "enum": choices}, "uniqueItems": True}
        return _object({"labels": items})
    return _object({"label": {"type": "string", "enum": choices}})
