"""The configuration reference, generated from the job file's and the Serve app's pydantic models.

    python -m ie_batch.config_reference                   # rewrites docs/config.md
    python -m ie_batch.config_reference --check           # exit 1 when docs/config.md is stale
    ie-batch config schema                                # the same models as JSON Schema

`docs/config.md` lists every section and field of a job file with its type, bounds, default and
description exactly as `ie_batch.config` declares them, so the reference cannot drift from what
validation accepts: a test regenerates it and fails when the committed copy differs. A second
part does the same for the Serve app's `app_builder` arguments (`ie_batch.serve.settings`). Types
and bounds come from the models' JSON Schema (what `config schema` prints); defaults from the
fields themselves, since the JSON Schema leaves out defaults made by factories.
"""

from __future__ import annotations

import argparse
import inspect
import json
import re
import sys
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from ie_batch.config import JobConfig
from ie_batch.serve.settings import AppArgs, Autoscaling, Limits

#: Where the reference lives in the repository (relative to its root).
REFERENCE_PATH = Path("docs") / "config.md"
#: The command that rewrites it, named in the file and in the test that compares it.
REGENERATE_COMMAND = ".venv/bin/python -m ie_batch.config_reference"

_HEADER = f"""\
# Configuration reference

<!-- Generated from the pydantic models in ie_batch/config.py and ie_batch/serve/settings.py
     by `{REGENERATE_COMMAND}`.
     Edit the models' descriptions, not this file. -->

A job file is YAML (`ie-batch run --config JOB.yaml`, `jobs/extract.py --config JOB.yaml`),
validated before anything runs: a key no section has, a value of the wrong type or out of its
bounds fails with the file and the field (`JOB.yaml: field 'engine.max_tokens': ...`).
`ie-batch config schema` prints the same models as JSON Schema, for editors and validators.
Command-line flags of `ie-batch run` (`--input`, `--schema`, `--output`, `--model`, `--limit`,
`--ray-address`) override the file's values.
"""

_SERVE_HEADER = """\
# The Serve app's arguments

The HTTP endpoint (`ie_batch/serve/app.py`) takes these as `key=value` pairs of
`serve run ie_batch.serve.app:app_builder ...` (`limits.max_texts=32`, `engine.max_model_len=4096`)
or as the `args:` mapping of an application in a Serve config file (nested mappings for the
sections; `cluster/kuberay/rayservice.yaml`). The `engine` and `prompt` sections take the fields
of the job file's [`engine`](#engine) and [`prompt`](#prompt); a bad argument is refused, naming it.
"""


def job_config_schema() -> dict[str, Any]:
    """The JSON Schema of a job file, with keys as a file spells them (`schema`, not `schema_`)."""
    return JobConfig.model_json_schema(by_alias=True)


@dataclass(frozen=True)
class _Section:
    """One model, at the key path where a file holds it."""

    path: str  # "" for the top level, "engine", "schemas[]", ...
    model: type[BaseModel]
    intro: str
    heading: str = ""  # the title, when not the path's

    @property
    def title(self) -> str:
        return self.heading or (f"`{self.path}`" if self.path else "Top level")


def render_reference() -> str:
    """docs/config.md as it should read for the models as they are now: the job file, then the
    Serve app's arguments."""
    serve = [
        _Section("", AppArgs, _docstring(AppArgs), "Serve app: arguments"),
        _Section("limits", Limits, _docstring(Limits), "Serve app: `limits`"),
        _Section("autoscaling", Autoscaling, _docstring(Autoscaling), "Serve app: `autoscaling`"),
    ]
    job = render_sections(list(_sections(JobConfig)))
    return "\n".join([_HEADER, job, _SERVE_HEADER, render_sections(serve)])


def render_sections(sections: list[_Section] | type[BaseModel]) -> str:
    """One heading and table per section (a model: it and every model nested in its fields);
    a field whose type is a section links to it."""
    if isinstance(sections, type):
        sections = list(_sections(sections))
    links = {
        section.model.__name__: f"[{section.title}](#{_anchor(section.title)})"
        for section in sections
    }
    parts = []
    for section in sections:
        parts.append(f"## {section.title}\n")
        if section.intro:
            parts.append(section.intro + "\n")
        parts.append(_table(section, links))
    return "\n".join(parts)


def _sections(root: type[BaseModel]) -> Iterator[_Section]:
    """`root` and every model nested in its fields, depth first, each once."""
    seen: set[type[BaseModel]] = set()

    def walk(model: type[BaseModel], path: str, described: str) -> Iterator[_Section]:
        if model in seen:
            return
        seen.add(model)
        intro = _docstring(model) or described
        yield _Section(path, model, intro)
        for name, info in model.model_fields.items():
            key = info.alias or name
            for nested, suffix in nested_models(info.annotation):
                child = f"{path}.{key}" if path else key
                yield from walk(nested, child + suffix, info.description or "")

    yield from walk(root, "", "")


def nested_models(annotation: Any, suffix: str = "") -> Iterator[tuple[type[BaseModel], str]]:
    """The pydantic models an annotation holds, each with the key suffix of where it sits: ""
    for the field itself, "[]" for the items of a list, ".<key>" for the values of a mapping."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation, suffix
        return
    origin = typing.get_origin(annotation)
    arguments = typing.get_args(annotation)
    if origin is dict:
        arguments, suffix = arguments[1:], suffix + ".<key>"  # a mapping's values, not its keys
    elif origin in (list, tuple, set, frozenset):
        suffix += "[]"
    for argument in arguments:
        yield from nested_models(argument, suffix)


def _docstring(model: type[BaseModel]) -> str:
    """The model's own docstring, on one paragraph (pydantic's BaseModel doc does not count)."""
    doc = model.__dict__.get("__doc__")
    return " ".join(inspect.cleandoc(doc).split()) if doc else ""


def _table(section: _Section, links: dict[str, str]) -> str:
    schema = section.model.model_json_schema(by_alias=True)
    properties = schema.get("properties", {})
    lines = ["| key | type | default | description |", "| --- | --- | --- | --- |"]
    for name, info in section.model.model_fields.items():
        key = info.alias or name
        prop = properties.get(key, {})
        if info.is_required():
            default = "**required**"
        else:
            value = info.get_default(call_default_factory=True)
            if isinstance(value, BaseModel):
                default = "its fields' defaults"
            else:
                default = f"`{json.dumps(value, ensure_ascii=False)}`"
        lines.append(
            "| "
            + " | ".join(
                _cell(text)
                for text in (f"`{key}`", _type(prop, links), default, info.description or "")
            )
            + " |"
        )
    return "\n".join(lines) + "\n"


def _type(prop: dict[str, Any], links: dict[str, str]) -> str:
    """A JSON Schema property in words: `integer ≥ 1`, `list of string`, a link to a section."""
    if "$ref" in prop:
        name = prop["$ref"].rsplit("/", 1)[-1]
        return f"section {links[name]}" if name in links else name
    if "anyOf" in prop:
        text = " or ".join(_type(option, links) for option in prop["anyOf"])
    elif "enum" in prop:
        text = "one of " + ", ".join(f"`{json.dumps(v, ensure_ascii=False)}`" for v in prop["enum"])
    elif "const" in prop:
        text = f"`{json.dumps(prop['const'], ensure_ascii=False)}`"
    else:
        kind = prop.get("type", "any")
        if kind == "array":
            items = prop.get("items")
            text = f"list of {_type(items, links)}" if items else "list"
        elif kind == "object":
            values = prop.get("additionalProperties")
            text = (
                f"mapping of string to {_type(values, links)}"
                if isinstance(values, dict) and values
                else "mapping"
            )
        else:
            text = str(kind)
    bounds = _bounds(prop)
    return f"{text} {bounds}" if bounds else text


_BOUNDS = (
    ("minimum", "≥ {}"),
    ("exclusiveMinimum", "> {}"),
    ("maximum", "≤ {}"),
    ("exclusiveMaximum", "< {}"),
    ("minLength", "at least {} characters"),
    ("maxLength", "at most {} characters"),
    ("minItems", "at least {} item(s)"),
    ("maxItems", "at most {} item(s)"),
)


def _bounds(prop: dict[str, Any]) -> str:
    return ", ".join(template.format(prop[key]) for key, template in _BOUNDS if key in prop)


def _cell(text: str) -> str:
    """Text safe inside one Markdown table cell: on one line, `|` escaped, and `<` outside code
    spans as an entity (a description's `<shard>` would otherwise be read as an HTML tag)."""
    spans = " ".join(text.split()).split("`")
    for index in range(0, len(spans), 2):  # the even parts lie outside code spans
        spans[index] = spans[index].replace("<", "&lt;")
    return "`".join(spans).replace("|", "\\|")


def _anchor(title: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", title.lower()).replace(" ", "-")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ie_batch.config_reference", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "path", nargs="?", type=Path, default=REFERENCE_PATH, help="default: docs/config.md"
    )
    parser.add_argument(
        "--check", action="store_true", help="exit 1 when the file differs, write nothing"
    )
    args = parser.parse_args(argv)
    text = render_reference()
    if args.check:
        current = args.path.read_text(encoding="utf-8") if args.path.exists() else None
        if current != text:
            print(f"{args.path} is out of date; regenerate it with `{REGENERATE_COMMAND}`")
            return 1
        return 0
    args.path.parent.mkdir(parents=True, exist_ok=True)
    args.path.write_text(text, encoding="utf-8")
    print(f"wrote {args.path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
