"""What an HTTP request to the endpoint may ask, checked before any engine time is spent.

Plain Python and pydantic (no Ray, no FastAPI, no engine), so every rule is tested in
milliseconds. A request that breaks one raises `RequestError` with the HTTP status to answer and
a message that says what to fix: 400 for a body that is not JSON, 422 for one that is JSON but
not a valid request (a field of the wrong shape, an unknown schema name, an invalid inline
schema), 413 for one over the service's limits.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictStr, ValidationError, model_validator

from ie_batch.schema import AnySchema, SchemaError, load_schema, schema_from_data
from ie_batch.schema.catalog import SHIPPED_SCHEMAS, DuplicateSchemaName, check_unique_names

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


class Limits(BaseModel):
    """How much one request may ask; beyond these the service answers 413."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_texts: int = Field(default=64, ge=1, description="Texts per request at most.")
    max_text_chars: int = Field(
        default=20_000,
        ge=1,
        description="Characters per text at most (longer texts are split into windows that fit "
        "the model's context, so this bounds the work one text can cause).",
    )
    max_schemas: int = Field(default=8, ge=1, description="Schemas per request at most.")


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
    """A request that passed every check: what to run."""

    texts: list[str]
    schemas: list[AnySchema]


def parse_extract_request(body: Any, limits: Limits, catalog: SchemaCatalog) -> ExtractCall:
    """Check a decoded JSON body against the request model, the limits and the catalog."""
    if not isinstance(body, Mapping):
        raise RequestError(
            422, f"body: expected a JSON object with `texts` and `schema`, got {_json_type(body)}"
        )
    texts = body.get("texts")
    if isinstance(texts, list) and len(texts) > limits.max_texts:  # before looking at each one
        raise RequestError(
            413, f"texts: {len(texts)} texts; the limit is {limits.max_texts} per request"
        )
    try:
        request = ExtractRequest.model_validate(body)
    except ValidationError as exc:
        raise RequestError(422, _first_error(exc)) from None
    for position, text in enumerate(request.texts):
        if len(text) > limits.max_text_chars:
            raise RequestError(
                413,
                f"texts[{position}]: {len(text)} characters; the limit is "
                f"{limits.max_text_chars} per text",
            )
    specs = request.schema_specs()
    if len(specs) > limits.max_schemas:
        raise RequestError(
            413, f"schemas: {len(specs)} schemas; the limit is {limits.max_schemas} per request"
        )
    placed = [(where, catalog.resolve(spec, where)) for where, spec in specs]
    try:
        check_unique_names(placed)
    except DuplicateSchemaName as exc:
        raise RequestError(422, str(exc)) from None
    return ExtractCall(texts=list(request.texts), schemas=[schema for _, schema in placed])


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    field = "".join(
        f"[{part}]" if isinstance(part, int) else f".{part}" for part in error["loc"]
    ).lstrip(".")
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
