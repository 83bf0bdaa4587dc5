"""Loading schema files: ie_batch's own YAML/JSON, PP-UIE Taskflow schemas, IEPile schema.json.

Every failure raises `SchemaError` naming the file, the field and what was expected, because a
schema is usually written by hand and the job that reads it may run hours later on a cluster.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from pydantic import TypeAdapter, ValidationError

from ie_batch.schema.model import (
    AnySchema,
    ClassificationSchema,
    EeSchema,
    NerSchema,
    ReSchema,
    TaskKind,
    TaskSchema,
)

_SCHEMA_ADAPTER: TypeAdapter[AnySchema] = TypeAdapter(TaskSchema)
_NATIVE_KEYS = {"task", "entities", "relations", "subjects", "events", "labels"}
#: How PP-UIE names an event type's trigger label (`地震触发词`): in its event schemas, and in the
#: trigger entities of the doccano relation projects its events are annotated in.
TRIGGER_SUFFIXES = ("触发词", " trigger", "_trigger")


class _DuplicateKey(yaml.YAMLError):
    def __init__(self, key: str, line: int) -> None:
        super().__init__(f"{key} appears twice (line {line})")
        self.key, self.line = key, line


class _StrictLoader(yaml.SafeLoader):
    """Safe YAML where a key given twice in one mapping is an error: the YAML default keeps
    the last one, and a hand-written schema would silently lose labels."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise _DuplicateKey(str(key), key_node.start_mark.line + 1)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


class SchemaError(ValueError):
    """A schema that cannot be used, with where and why."""

    def __init__(self, source: str, field: str, expected: str) -> None:
        self.source, self.field, self.expected = source, field, expected
        where = f"{source}: field '{field}'" if field else source
        super().__init__(f"{where}: {expected}")


def load_schema(path: str | Path, task: str | None = None) -> AnySchema:
    """Load one schema file; `task` disambiguates IEPile schema.json files (ner or re)."""
    path = Path(path)
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SchemaError(source, "", f"cannot read the file ({exc.strerror})") from exc
    default_name = path.stem if path.name != "schema.json" else path.parent.name.lower()
    if path.suffix == ".json" and _looks_like_iepile(text):
        return _from_iepile(text, source, task or _task_from_path(path), default_name)
    try:
        data = yaml.load(text, Loader=_StrictLoader)  # YAML is a superset of JSON
    except _DuplicateKey as exc:
        raise SchemaError(source, exc.key, f"appears twice (line {exc.line})") from None
    except yaml.YAMLError as exc:
        raise SchemaError(source, "", f"expected YAML or JSON ({exc})") from exc
    return schema_from_data(data, source=source, default_name=default_name, task=task)


def schema_from_data(
    data: Any, source: str = "<schema>", default_name: str = "", task: str | None = None
) -> AnySchema:
    """Build a schema from already-parsed data: native mapping, PP-UIE list or dict."""
    if isinstance(data, list):
        data = _from_ppuie_list(data, source, task)
    elif isinstance(data, dict) and not (_NATIVE_KEYS & data.keys()):
        data = _from_ppuie_dict(data, source)
    elif not isinstance(data, dict):
        raise SchemaError(source, "", "expected a mapping with `task`, or a PP-UIE list or dict")
    else:
        data = dict(data)
        if "task" not in data:
            data["task"] = task or _guess_task(data, source)
        if "language" not in data:  # the labels' script tells; saves a line in most files
            data["language"] = _language_of(
                {k: v for k, v in data.items() if k in _NATIVE_KEYS - {"task"}}
            )
    data.setdefault("name", default_name or str(data.get("task")))
    try:
        return _SCHEMA_ADAPTER.validate_python(data)
    except ValidationError as exc:
        raise _schema_error(exc, source) from None


def _schema_error(exc: ValidationError, source: str) -> SchemaError:
    first = exc.errors()[0]
    location = [str(part) for part in first["loc"]]
    if location and location[0] in {kind.value for kind in TaskKind}:
        location = location[1:]  # drop the discriminator branch pydantic prefixes
    message = first["msg"].removeprefix("Value error, ")
    if first["type"] == "union_tag_invalid":
        message = f"expected one of {', '.join(k.value for k in TaskKind)}"
        location = ["task"]
    field = ".".join(location)
    if ": " in message and message.split(": ", 1)[0].split(".")[0].split("[")[0] in _NATIVE_KEYS:
        field, message = message.split(": ", 1)  # our validators name the field themselves
    return SchemaError(source, field, message)


def _guess_task(data: dict[str, Any], source: str) -> str:
    for key, kind in (
        ("entities", "ner"),
        ("relations", "re"),
        ("subjects", "re"),
        ("events", "ee"),
        ("labels", "classification"),
    ):
        if key in data:
            return kind
    raise SchemaError(source, "task", "expected one of ner, re, ee, classification")


def _from_ppuie_list(items: list[Any], source: str, task: str | None) -> dict[str, Any]:
    """PP-UIE `['时间', '选手', ...]`: entity types (or classes, when `task` says so)."""
    if not all(isinstance(item, str) for item in items):
        raise SchemaError(source, "[]", "expected a list of label names (PP-UIE entity schema)")
    language = _language_of(items)
    if task == "classification":
        return {"task": "classification", "labels": items, "language": language}
    return {"task": "ner", "entities": items, "language": language}


def _from_ppuie_dict(mapping: dict[str, Any], source: str) -> dict[str, Any]:
    """PP-UIE `{subject_type: [relation, ...]}`, or `{'X触发词': [role, ...]}` for events."""
    for key, value in mapping.items():
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise SchemaError(source, str(key), "expected a list of relation (or role) names")
    if all(str(key).endswith(TRIGGER_SUFFIXES) for key in mapping):
        events = {}
        for key, roles in mapping.items():
            name = str(key)
            for suffix in TRIGGER_SUFFIXES:
                name = name.removesuffix(suffix)
            events[name] = roles
        return {"task": "ee", "events": events, "language": _language_of(mapping)}
    return {"task": "re", "subjects": mapping, "language": _language_of(mapping)}


def _language_of(data: Any) -> str:
    text = json.dumps(data, ensure_ascii=False)
    return "zh" if any("\u4e00" <= ch <= "\u9fff" for ch in text) else "en"


def _looks_like_iepile(text: str) -> bool:
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) != 3:
        return False
    try:
        parsed = [json.loads(line) for line in lines]
    except json.JSONDecodeError:
        return False
    return (
        isinstance(parsed[0], list) and isinstance(parsed[1], list) and isinstance(parsed[2], dict)
    )


def _task_from_path(path: Path) -> str | None:
    for part in reversed(path.parts[:-1]):
        lowered = part.lower()
        if lowered in {"ner", "re", "ee"}:
            return lowered
    return None


def _from_iepile(text: str, source: str, task: str | None, name: str) -> AnySchema:
    """IEPile/InstructKGC schema.json: three JSON lines — types, roles, {event type: roles}."""
    types, _roles, event_roles = (json.loads(line) for line in text.splitlines() if line.strip())
    if event_roles:
        task = "ee"
    if task is None:
        raise SchemaError(
            source, "task", "an IEPile schema.json holds no task: pass task='ner' or task='re'"
        )
    language = _language_of(types)
    schema: AnySchema
    try:
        if task == "ee":
            schema = EeSchema(
                name=name,
                language=language,
                events={t: list(event_roles.get(t, [])) for t in types},
            )
        elif task == "re":
            schema = ReSchema(name=name, language=language, relations=types)
        elif task == "ner":
            schema = NerSchema(name=name, language=language, entities=types)
        else:
            schema = ClassificationSchema(name=name, language=language, labels=types)
    except ValidationError as exc:
        raise _schema_error(exc, source) from None
    return schema
