"""What an HTTP request to the endpoint may ask, checked before any engine time is spent.

Plain Python and pydantic (no Ray, no FastAPI, no engine), so every rule is tested in
milliseconds. A request that breaks one raises `RequestError` with the HTTP status to answer and
a message that says what to fix: 400 for a body that is not JSON (or nested deeper than any
request needs), 422 for one that is JSON but not a valid request (a field of the wrong shape, a
string that cannot be encoded as UTF-8, an unknown schema name, an invalid inline schema), 413
(`OverLimit`, naming the limit and its value) for one over the service's `Limits`.

The checks run cheapest first and each bounds the next: the body's size before it is decoded,
its depth before it is walked, the raw size of an inline schema before it is built, the
prompts a request expands to before any of them is rendered.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictStr, ValidationError, model_validator

from ie_batch.prompts import PromptFormat, get_format
from ie_batch.schema import AnySchema, SchemaError, load_schema, schema_from_data
from ie_batch.schema.catalog import SHIPPED_SCHEMAS, DuplicateSchemaName, check_unique_names
from ie_batch.schema.rotation import LabelOrder
from ie_batch.serve.settings import Limits

#: Arrays and objects a body may nest. A request needs about six (body, `schemas`, a schema,
#: `events`, an event, its `arguments`); past this it is no request, and the decoder and every
#: walk over the value stay far from Python's recursion limit.
MAX_JSON_DEPTH = 32

#: A schema in a request: a served schema's name, or an inline schema (a native mapping such as
#: `{"task": "ner", "entities": [...]}`, a PP-UIE list of entity types, or a PP-UIE dict).
_SCHEMA_DOC = {
    "anyOf": [
        {"type": "string", "description": "Name of a served schema (GET /v1/schemas)."},
        {"type": "object", "description": "An inline schema (task, entities/relations/...)."},
        {"type": "array", "items": {"type": "string"}, "description": "PP-UIE entity types."},
    ]
}


class RequestError(Exception):
    """A request the service refuses: `status` is the HTTP status, `message` says why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message

    def content(self) -> dict[str, Any]:
        """The JSON body of the answer."""
        return {"detail": self.message}


class OverLimit(RequestError):
    """A request over one of the `Limits`: 413, and the answer names the limit and its value
    (in the message, as the `limits.<name>` argument that raises it, and as `limit`), so a
    client can split its request and an operator knows what to raise."""

    def __init__(self, where: str, amount: str, limit: str, value: int, per: str) -> None:
        super().__init__(413, f"{where}: {amount}; the limit is {value} {per} (limits.{limit})")
        self.limit = limit
        self.value = value

    def content(self) -> dict[str, Any]:
        return {**super().content(), "limit": {"name": self.limit, "value": self.value}}


class ExtractRequest(BaseModel):
    """The body of `POST /v1/extract`."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    texts: list[StrictStr] = Field(min_length=1, description="The texts, one result each.")
    schema_: Any = Field(
        default=None,
        alias="schema",
        description="One schema: a served schema's name or an inline schema.",
        json_schema_extra=_SCHEMA_DOC,
    )
    schemas: list[Any] | None = Field(
        default=None,
        description="Several schemas (names or inline), asked together; with `schema`, it "
        "comes first.",
        json_schema_extra={"items": _SCHEMA_DOC},
    )

    @model_validator(mode="after")
    def _some_schema(self) -> ExtractRequest:
        if self.schema_ is None and not self.schemas:
            raise ValueError("give `schema` (a name or an inline schema) or `schemas` (a list)")
        return self

    def schema_specs(self) -> list[tuple[str, Any]]:
        """Each asked schema with where it sits in the request, for error messages."""
        specs: list[tuple[str, Any]] = []
        if self.schema_ is not None:
            specs.append(("schema", self.schema_))
        specs.extend((f"schemas[{i}]", spec) for i, spec in enumerate(self.schemas or ()))
        return specs


class SchemaCatalog:
    """The schemas the service knows by name: the shipped ones plus any it was started with."""

    def __init__(self, schemas: Iterable[AnySchema]) -> None:
        served = list(schemas)
        check_unique_names((f"served schemas[{i}]", schema) for i, schema in enumerate(served))
        self._schemas = {schema.name: schema for schema in served}

    @classmethod
    def load(cls, extra_files: Sequence[str | Path] = ()) -> SchemaCatalog:
        """The shipped schemas (schemas/*.yaml) and the schema files in `extra_files`."""
        paths = [*sorted(SHIPPED_SCHEMAS.glob("*.yaml")), *map(Path, extra_files)]
        return cls(load_schema(path) for path in paths)

    def names(self) -> list[str]:
        return sorted(self._schemas)

    def describe(self) -> list[dict[str, Any]]:
        """What `GET /v1/schemas` lists: each schema's name, task, language and labels."""
        return [
            {
                "name": schema.name,
                "task": schema.kind.value,
                "language": schema.language,
                "description": schema.description,
                "labels": schema.label_names,
            }
            for schema in sorted(self._schemas.values(), key=lambda schema: schema.name)
        ]

    def resolve(self, spec: Any, where: str) -> AnySchema:
        """A request's schema: a name from the catalog (never a server path) or inline."""
        if isinstance(spec, str):
            try:
                return self._schemas[spec]
            except KeyError:
                raise RequestError(
                    422,
                    f"{where}: unknown schema {spec!r}; the served schemas are "
                    f"{', '.join(self.names())} (or send the schema inline)",
                ) from None
        if isinstance(spec, dict | list):
            try:
                return schema_from_data(spec, source=where)
            except SchemaError as exc:
                raise RequestError(422, str(exc)) from None
        raise RequestError(
            422,
            f"{where}: expected a schema name or an inline schema (an object, or a list of "
            f"entity types), got {_json_type(spec)}",
        )


@dataclass(frozen=True)
class ExtractCall:
    """A request that passed every check: what to run, and the prompts it expands to."""

    texts: list[str]
    schemas: list[AnySchema]
    prompts: int = 0


async def read_body(
    chunks: AsyncIterable[bytes], declared_length: str | None, limits: Limits
) -> bytes:
    """The request body, refused (413) as soon as it is known to exceed `max_body_bytes`: by
    its declared Content-Length before anything is read, else while it streams in, so an
    oversized body is never held whole."""
    limit = limits.max_body_bytes
    declared = (declared_length or "").strip()
    if declared.isascii() and declared.isdigit():
        # more digits than any real length: over every limit, and int() would refuse it
        huge = len(declared) > 18
        if huge or int(declared) > limit:
            amount = f"more than {limit} bytes" if huge else f"{int(declared)} bytes"
            raise OverLimit("body", amount, "max_body_bytes", limit, "per request")
    body = bytearray()
    async for chunk in chunks:
        body += chunk
        if len(body) > limit:
            amount = f"more than {limit} bytes"
            raise OverLimit("body", amount, "max_body_bytes", limit, "per request")
    return bytes(body)


def decode_body(raw: bytes) -> Any:
    """The JSON value of a body; 400 when it is not JSON, or nests arrays and objects deeper
    than `MAX_JSON_DEPTH` (the decoder's own recursion error included: a body of 100,000 `[`
    is the client's mistake, not the server's)."""
    too_deep = RequestError(
        400,
        "the body is nested too deeply: a request nests arrays and objects at most "
        f"{MAX_JSON_DEPTH} levels",
    )
    try:
        value = json.loads(raw)
    except RecursionError:
        raise too_deep from None
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, an integer of 5000 digits
        raise RequestError(400, f"the body is not valid JSON ({exc})") from None
    if _deeper_than(value, MAX_JSON_DEPTH):
        raise too_deep
    return value


def count_prompts(
    texts: int,
    schemas: Sequence[AnySchema],
    prompt_format: PromptFormat,
    label_order: LabelOrder = "sorted",
) -> int:
    """The stage-1 prompts a request expands to, as `BatchExtractor` plans them: every text
    asks every slice of every schema, the slices being the prompt format's rotation of the
    schema's labels. Rotation only reorders labels, so one document's slice count is every
    document's. Windows of a text longer than the context and run-off rounds come on top."""
    return texts * sum(len(prompt_format.slices(schema, "0", label_order)) for schema in schemas)


def parse_extract_request(
    body: Any,
    limits: Limits,
    catalog: SchemaCatalog,
    prompt_format: PromptFormat | None = None,
    label_order: LabelOrder = "sorted",
) -> ExtractCall:
    """Check a decoded JSON body against the request model, the limits and the catalog.
    `prompt_format` and `label_order` are the service's (default: the default format), since
    they decide the slices and so the prompts a request costs."""
    if not isinstance(body, Mapping):
        raise RequestError(
            422, f"body: expected a JSON object with `texts` and `schema`, got {_json_type(body)}"
        )
    texts = body.get("texts")
    if isinstance(texts, list) and len(texts) > limits.max_texts:  # before looking at each one
        raise OverLimit(
            "texts", f"{len(texts)} texts", "max_texts", limits.max_texts, "per request"
        )
    listed = body.get("schemas")
    if isinstance(listed, list) and len(listed) > limits.max_schemas:  # the same for schemas
        count = len(listed) + (body.get("schema") is not None)
        raise OverLimit(
            "schemas", f"{count} schemas", "max_schemas", limits.max_schemas, "per request"
        )
    _check_utf8(body)
    try:
        request = ExtractRequest.model_validate(body)
    except ValidationError as exc:
        raise RequestError(422, _first_error(exc)) from None
    for position, text in enumerate(request.texts):
        if len(text) > limits.max_text_chars:
            raise OverLimit(
                f"texts[{position}]",
                f"{len(text)} characters",
                "max_text_chars",
                limits.max_text_chars,
                "per text",
            )
    specs = request.schema_specs()
    if len(specs) > limits.max_schemas:
        raise OverLimit(
            "schemas", f"{len(specs)} schemas", "max_schemas", limits.max_schemas, "per request"
        )
    placed = []
    for where, spec in specs:
        inline = not isinstance(spec, str)
        if inline:
            _check_inline_size(spec, where, limits)
        schema = catalog.resolve(spec, where)
        if inline:
            _check_inline_schema(schema, where, limits)
        placed.append((where, schema))
    try:
        check_unique_names(placed)
    except DuplicateSchemaName as exc:
        raise RequestError(422, str(exc)) from None
    schemas = [schema for _, schema in placed]
    prompts = count_prompts(len(request.texts), schemas, prompt_format or get_format(), label_order)
    if prompts > limits.max_prompts:
        raise OverLimit(
            "texts x schema slices",
            f"{prompts} prompts ({len(request.texts)} texts x "
            f"{prompts // len(request.texts)} slices)",
            "max_prompts",
            limits.max_prompts,
            "per request",
        )
    return ExtractCall(texts=list(request.texts), schemas=schemas, prompts=prompts)


def _deeper_than(value: Any, limit: int) -> bool:
    """Whether arrays and objects nest more than `limit` levels (iterative: no recursion)."""
    stack = [(value, 1)] if isinstance(value, dict | list) else []
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        children = item.values() if isinstance(item, dict) else item
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def _check_utf8(body: Mapping[str, Any]) -> None:
    """422 naming the first string (or key) that cannot be encoded as UTF-8: JSON lets a body
    carry a lone surrogate (`"\\ud800"`), which the tokenizer and the JSON answer would
    each fail on later, as a 500. Each value is checked whole at C speed; the walk only goes
    down into the one that fails, to name it."""
    item: Any = body
    path: list[str | int] = []
    while not _encodes(item):
        if isinstance(item, str):
            problem = _unencodable(item)
            raise RequestError(422, f"{_field(path)}: cannot be encoded as UTF-8 ({problem})")
        children = item.items() if isinstance(item, dict) else enumerate(item)
        for key, child in children:
            if isinstance(key, str) and not _encodes(key):
                where = _field(path) or "body"
                problem = _unencodable(key)
                raise RequestError(422, f"{where}: a key cannot be encoded as UTF-8 ({problem})")
            if not _encodes(child):
                path.append(key)
                item = child
                break
        else:  # only a string can fail to encode, so some child did: never reached
            return


def _encodes(value: Any) -> bool:
    try:
        if isinstance(value, str):
            value.encode("utf-8")
        elif isinstance(value, dict | list):
            json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _unencodable(text: str) -> str | None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return f"a lone surrogate {text[exc.start]!r} at character {exc.start}"
    return None


def _check_inline_size(spec: Any, where: str, limits: Limits) -> None:
    """413 when a list or mapping of an inline schema holds more than `max_labels` items,
    before the schema is built: building a million labels takes seconds of the replica's
    event loop, and no valid schema within the limits needs a longer list."""
    limit = limits.max_labels
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(spec, ())]
    while stack:
        item, path = stack.pop()
        if not isinstance(item, dict | list):
            continue
        if len(item) > limit:
            raise OverLimit(
                _field((where, *path)),
                f"{len(item)} items",
                "max_labels",
                limit,
                "per list or mapping of an inline schema",
            )
        children = item.items() if isinstance(item, dict) else enumerate(item)
        stack.extend((child, (*path, key)) for key, child in children)


def _check_inline_schema(schema: AnySchema, where: str, limits: Limits) -> None:
    """413 for an inline schema with more labels, or longer names or descriptions, than the
    limits allow: every label, with its description, is repeated in the prompts of its slice."""
    labels = schema.label_specs
    if len(labels) > limits.max_labels:
        raise OverLimit(
            where, f"{len(labels)} labels", "max_labels", limits.max_labels, "per inline schema"
        )
    names: list[tuple[str, str]] = [(f"name {_short(schema.name)}", schema.name)]
    for label in labels:
        names.append((f"label {_short(label.name)}", label.name))
        names += [
            (f"role {_short(role)} of {label.name!r}", role) for role in getattr(label, "roles", ())
        ]
        names += [
            (f"subject type {_short(subject)}", subject)
            for subject in getattr(label, "subject_types", ())
        ]
    for what, name in names:
        if len(name) > limits.max_label_chars:
            raise OverLimit(
                where,
                f"{what} has {len(name)} characters",
                "max_label_chars",
                limits.max_label_chars,
                "per name",
            )
    descriptions = [("its description", schema.description)]
    descriptions += [
        (f"the description of {_short(label.name)}", label.description) for label in labels
    ]
    for what, description in descriptions:
        if description is not None and len(description) > limits.max_description_chars:
            raise OverLimit(
                where,
                f"{what} has {len(description)} characters",
                "max_description_chars",
                limits.max_description_chars,
                "per description",
            )


def _short(name: str, keep: int = 10) -> str:
    return repr(name if len(name) <= keep else name[:keep] + "…")


def _field(path: Sequence[str | int]) -> str:
    return "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in path).lstrip(
        "."
    )


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    field = _field(error["loc"])
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        message = "unknown field; a request has `texts`, `schema` and `schemas`"
    return f"{field}: {message}" if field else message


def _json_type(value: Any) -> str:
    names = {str: "a string", bool: "a boolean", int: "a number", float: "a number"}
    if value is None:
        return "null"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list):
        return "an array"
    return names.get(type(value), type(value).__name__)
