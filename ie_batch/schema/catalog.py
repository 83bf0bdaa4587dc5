"""The catalog of schemas: the shipped ones by name, files by path, inline specs; one place.

Every entry point (the batch job, `Extractor`, the Serve endpoint, the CLI) resolves what its user
wrote into schema objects here, with the same rules and the same unique-name check, so a schema
that loads in a notebook loads in the job.
"""

from __future__ import annotations

import os
import sysconfig
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from ie_batch.schema.loading import SchemaError, load_schema, schema_from_data
from ie_batch.schema.model import (
    AnySchema,
    ClassificationSchema,
    EeSchema,
    NerSchema,
    ReSchema,
)


def _shipped_schemas() -> Path:
    """`schemas/` of the source tree, or the copy a wheel installs under `<prefix>/share`."""
    source = Path(__file__).resolve().parents[2] / "schemas"
    if source.is_dir():
        return source
    return Path(sysconfig.get_path("data")) / "share" / "ie_batch" / "schemas"


SHIPPED_SCHEMAS = _shipped_schemas()

#: A schema as callers give it: a shipped schema's name ("news_ner_en"), a schema file, a PP-UIE
#: schema (`["person", "location"]`, `{"person": ["works_for"]}`), a native mapping
#: (`{"task": "ner", "entities": [...]}`), or a schema object.
SchemaSpec = str | os.PathLike[str] | list[Any] | dict[str, Any] | AnySchema

_SCHEMA_TYPES = (NerSchema, ReSchema, EeSchema, ClassificationSchema)


def shipped_schema_names() -> list[str]:
    """Names of the ready-made schemas in `schemas/` (each loads by its bare name)."""
    return sorted(path.stem for path in SHIPPED_SCHEMAS.glob("*.yaml"))


def schema_path(name_or_path: str) -> Path:
    """A schema file path; a bare name means one of the schemas shipped in schemas/."""
    path = Path(name_or_path)
    if path.suffix or path.exists():
        return path
    return SHIPPED_SCHEMAS / f"{name_or_path}.yaml"


def schema_text(name_or_path: str) -> str:
    """The schema file's text (what a fingerprint hashes); the name itself when unreadable."""
    try:
        return schema_path(name_or_path).read_text(encoding="utf-8")
    except OSError:
        return name_or_path


def resolve_schema(spec: SchemaSpec, source: str = "<schema>") -> AnySchema:
    """One schema from any of the forms in `SchemaSpec`; `SchemaError` names what is wrong."""
    if isinstance(spec, _SCHEMA_TYPES):
        return spec
    if isinstance(spec, str | os.PathLike):
        path = schema_path(os.fspath(spec))
        if not path.is_file():
            raise SchemaError(
                os.fspath(spec),
                "",
                "no such schema file, and not the name of a shipped schema (one of "
                f"{', '.join(shipped_schema_names())}); a PP-UIE schema of one type is a list: "
                f"[{os.fspath(spec)!r}]",
            )
        return load_schema(path)
    if isinstance(spec, list | dict):
        return schema_from_data(spec, source=source)
    raise SchemaError(
        source,
        "",
        "expected a schema name, a file path, a PP-UIE list or dict, or a schema object, "
        f"got {type(spec).__name__}",
    )


def resolve_schemas(specs: Sequence[SchemaSpec]) -> list[AnySchema]:
    """Several schemas; at least one, with distinct names (results are keyed by them)."""
    if not specs:
        raise ValueError("at least one schema is needed")
    several = len(specs) > 1
    schemas = [
        resolve_schema(spec, f"schemas[{i}]" if several else "schema")
        for i, spec in enumerate(specs)
    ]
    check_unique_names((f"schemas[{i}]", schema) for i, schema in enumerate(schemas))
    return schemas


def check_unique_names(placed: Iterable[tuple[str, AnySchema]]) -> None:
    """Raise `DuplicateSchemaName` when two schemas share a name; each comes with where it was
    given (`schemas[1]`, a file, a request field), and the message names both places."""
    seen: dict[str, str] = {}
    for where, schema in placed:
        if schema.name in seen:
            raise DuplicateSchemaName(seen[schema.name], where, schema.name)
        seen[schema.name] = where


class DuplicateSchemaName(ValueError):
    """Two schemas of one job, extractor, service or request share a name."""

    def __init__(self, first: str, second: str, name: str) -> None:
        super().__init__(
            f"{first} and {second} are both named {name!r}; give each schema a distinct `name`"
        )
        self.first = first
        self.second = second
        self.name = name
