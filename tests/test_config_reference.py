"""The configuration reference (ie_batch.config_reference): docs/config.md is what the models say,
every field is described, and the JSON Schema `ie-batch config schema` prints accepts the job files
the project ships and refuses what validation refuses."""

from __future__ import annotations

import html
import json
import subprocess
import sys
from pathlib import Path
from typing import Literal

import pytest
import yaml
from pydantic import BaseModel, ConfigDict, Field
from typer.testing import CliRunner

from ie_batch import __version__
from ie_batch.cli import app
from ie_batch.config import JobConfig, load_config
from ie_batch.config_reference import (
    REFERENCE_PATH,
    REGENERATE_COMMAND,
    job_config_schema,
    main,
    nested_models,
    render_reference,
    render_sections,
)
from ie_batch.serve.settings import AppArgs, Autoscaling, Limits

REPO = Path(__file__).resolve().parents[1]
SHIPPED_JOB_FILES = sorted([*REPO.glob("examples/*.yaml"), *REPO.glob("cluster/jobs/*.yaml")])
runner = CliRunner()


def test_the_committed_reference_is_the_generated_one():
    committed = (REPO / REFERENCE_PATH).read_text(encoding="utf-8")
    assert committed == render_reference(), (
        f"{REFERENCE_PATH} is out of date with the models; regenerate it from the "
        f"repository root with `{REGENERATE_COMMAND}` and commit it"
    )


def _undescribed(model: type[BaseModel], prefix: str = "") -> list[str]:
    """Fields without a description, sections included, walking into every nested model."""
    missing = []
    for name, info in model.model_fields.items():
        key = f"{prefix}{info.alias or name}"
        if not info.description:
            missing.append(key)
        for nested, suffix in nested_models(info.annotation):
            missing += _undescribed(nested, f"{key}{suffix}.")
    return missing


@pytest.mark.parametrize("model", [JobConfig, AppArgs, Limits, Autoscaling])
def test_every_field_and_every_section_is_described(model):
    assert _undescribed(model) == []


def test_the_description_check_finds_an_undescribed_section_and_a_nested_field():
    class Inner(BaseModel):
        described: int = Field(default=1, description="yes")
        bare: int = 2

    class Outer(BaseModel):
        inner: Inner = Field(default_factory=Inner)
        items: list[Inner] = Field(default_factory=list, description="items")

    assert _undescribed(Outer) == ["inner", "inner.bare", "items[].bare"]


def test_every_section_and_field_appears_in_the_reference_with_its_description():
    text = render_reference()
    sections = {title.replace("`", "") for title in _headings(text)}
    assert {"Top level", "input", "schemas[]", "engine", "pool", "prompt", "storage"} <= sections
    assert {"Serve app: arguments", "Serve app: limits", "Serve app: autoscaling"} <= sections
    rows = _rows(text)
    for section, model in [
        ("Top level", JobConfig),
        ("engine", JobConfig.model_fields["engine"].annotation),
        ("pool", JobConfig.model_fields["pool"].annotation),
        ("Serve app: arguments", AppArgs),
        ("Serve app: autoscaling", Autoscaling),
    ]:
        for name, info in model.model_fields.items():
            row = rows[section][info.alias or name]
            described = html.unescape(row["description"]).replace("\\|", "|")
            assert described == " ".join(info.description.split()), (section, name)


def _headings(text: str) -> list[str]:
    return [line[3:] for line in text.splitlines() if line.startswith("## ")]


def _rows(text: str) -> dict[str, dict[str, dict[str, str]]]:
    """{section: {key: {type, default, description}}} from the reference's tables."""
    tables: dict[str, dict[str, dict[str, str]]] = {}
    section = ""
    for line in text.splitlines():
        if line.startswith("## "):
            section = line[3:].replace("`", "")
            tables[section] = {}
        elif line.startswith("| `"):
            cells = [c.strip() for c in line.strip("|").split(" | ")]
            tables[section][cells[0].strip("`")] = dict(
                zip(("type", "default", "description"), cells[1:], strict=True)
            )
    return tables


class _Leaf(BaseModel):
    """A nested model with its own docstring."""

    model_config = ConfigDict(extra="forbid")
    ratio: float = Field(
        default=0.5, gt=0, le=1, description="A share | of <something> (`<kept>` in code)."
    )


class _Root(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    name_: str = Field(alias="name", description="Aliased, required.")
    mode: Literal["a", "b"] = Field(default="a", description="A closed set.")
    limit: int | None = Field(default=None, ge=1, description="Optional with a bound.")
    tags: list[str] = Field(default_factory=lambda: ["*"], description="A factory default.")
    leaf: _Leaf = Field(default_factory=_Leaf, description="A section.")
    leaves: list[_Leaf] = Field(default_factory=list, description="The same model again.")
    by_name: dict[str, _Leaf] = Field(default_factory=dict, description="A mapping of sections.")


def test_the_renderer_states_types_bounds_defaults_and_links_sections():
    text = render_sections(_Root)
    # a model met twice is one section, at its first place
    assert _headings(text) == ["Top level", "`leaf`"]
    rows = _rows(text)
    top, leaf = rows["Top level"], rows["leaf"]
    assert top["name"] == {
        "type": "string",
        "default": "**required**",
        "description": "Aliased, required.",
    }
    assert top["mode"]["type"] == 'one of `"a"`, `"b"`' and top["mode"]["default"] == '`"a"`'
    assert top["limit"]["type"] == "integer ≥ 1 or null" and top["limit"]["default"] == "`null`"
    assert top["tags"]["default"] == '`["*"]`'  # factories are called; JSON Schema omits them
    assert top["leaf"]["type"] == "section [`leaf`](#leaf)"
    assert top["leaf"]["default"] == "its fields' defaults"
    assert top["leaves"]["type"] == "list of section [`leaf`](#leaf)"
    assert top["by_name"]["type"] == "mapping of string to section [`leaf`](#leaf)"
    assert leaf["ratio"]["type"] == "number > 0, ≤ 1"
    # the table survives a `|`; `<...>` is text, not an HTML tag, except in code
    assert leaf["ratio"]["description"] == "A share \\| of &lt;something> (`<kept>` in code)."
    assert "A nested model with its own docstring." in text


def test_the_generator_writes_the_file_and_its_check_says_when_it_is_stale(tmp_path, capsys):
    target = tmp_path / "docs" / "config.md"
    assert main(["--check", str(target)]) == 1
    assert main([str(target)]) == 0
    assert target.read_text(encoding="utf-8") == render_reference()
    assert main(["--check", str(target)]) == 0
    target.write_text(target.read_text(encoding="utf-8") + "\nedited by hand\n", encoding="utf-8")
    assert main(["--check", str(target)]) == 1
    assert REGENERATE_COMMAND in capsys.readouterr().out


# --------------------------------------------------------------------------- the JSON Schema


def test_config_schema_prints_the_job_files_json_schema():
    result = runner.invoke(app, ["config", "schema"])
    assert result.exit_code == 0, result.output
    schema = json.loads(result.output)
    assert schema == job_config_schema()
    assert set(schema["required"]) == {"input", "schemas", "output"}
    engine = schema["$defs"][schema["properties"]["engine"]["$ref"].rsplit("/", 1)[-1]]
    assert engine["additionalProperties"] is False  # unknown keys are refused, as in validation
    assert engine["properties"]["tensor_parallel_size"]["minimum"] == 1


@pytest.mark.parametrize("path", SHIPPED_JOB_FILES, ids=lambda p: p.name)
def test_the_json_schema_accepts_every_shipped_job_file(path):
    jsonschema = pytest.importorskip("jsonschema")
    load_config(path)  # the model accepts it ...
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    jsonschema.validate(data, job_config_schema())  # ... and so does the schema


@pytest.mark.parametrize(
    "change",
    [
        {"engine": {"tensor_parallel_size": 0}},
        {"pool": {"num_gpus": -1}},
        {"engine": {"gpu_memory_utilisation": 0.8}},  # a misspelt key
        {"prompt": {"label_order": "random"}},
    ],
)
def test_the_json_schema_refuses_what_validation_refuses(change):
    jsonschema = pytest.importorskip("jsonschema")
    data = {"input": {"paths": "in/"}, "schemas": ["topic_en"], "output": "out/", **change}
    with pytest.raises(ValueError):
        JobConfig.model_validate(data)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, job_config_schema())


def test_the_shipped_job_files_are_checked_at_all():
    names = {path.name for path in SHIPPED_JOB_FILES}
    assert {"demo_en.yaml", "news_enrichment.yaml"} <= names


# --------------------------------------------------------------------------- version, -m


def test_version_prints_the_package_version():
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output == f"ie-batch {__version__}\n"


def test_python_dash_m_ie_batch_is_the_command():
    done = subprocess.run(
        [sys.executable, "-m", "ie_batch", "--version"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"ie-batch {__version__}\n"
