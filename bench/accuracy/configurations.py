"""Named configurations: each is one lever, a bundle of overrides of the job configuration and of
the schema file, compared against `defaults` (ie_batch's defaults) and `plain` (a plain prompt:
what the defaults must beat). Names join with `+` to combine levers (`defaults+few-shot-k3`,
`no-run-off+keep-ungrounded`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ie_batch.config import deep_merge

LABEL_KEYS = ("entities", "relations", "events", "labels")


@dataclass(frozen=True)
class Configuration:
    name: str
    summary: str
    job: dict[str, Any] = field(default_factory=dict)  # merged into the job configuration
    schema: dict[str, Any] = field(default_factory=dict)  # top-level keys set in the schema file
    strip_descriptions: bool = False
    any_case: bool = False  # NER schemas: proper_names false (mentions need no capital letter)
    few_shot_k: int = 0  # examples drawn from the data set's few-shot pool (its train split)

    def combine(self, other: Configuration) -> Configuration:
        return Configuration(
            name=f"{self.name}+{other.name}",
            summary=f"{self.summary}; {other.summary}",
            job=deep_merge(self.job, other.job),
            schema={**self.schema, **other.schema},
            strip_descriptions=self.strip_descriptions or other.strip_descriptions,
            any_case=self.any_case or other.any_case,
            few_shot_k=other.few_shot_k or self.few_shot_k,
        )

    @property
    def changes_schema(self) -> bool:
        return bool(self.schema) or self.strip_descriptions or self.any_case


CONFIGURATIONS: dict[str, Configuration] = {
    c.name: c
    for c in (
        Configuration(
            "defaults",
            "ie_batch's defaults: document_first prompt, shipped schema with descriptions, one "
            "entity type per prompt, entity-type run-off, structured outputs, ungrounded spans "
            "dropped, zero-shot, 0.5B model",
        ),
        Configuration(
            "plain",
            "the plain prompt the defaults are measured against: every entity type in one "
            "prompt (schema split_num 6), no entity-type run-off, ungrounded spans kept, no "
            "proper-name rule",
            job={"prompt": {"entity_type_run_off": False, "keep_ungrounded": True}},
            schema={"split_num": 6},
            any_case=True,
        ),
        Configuration(
            "all-types-per-prompt",
            "schema split_num 6: every entity type in one prompt",
            schema={"split_num": 6},
        ),
        Configuration(
            "no-run-off",
            "prompt.entity_type_run_off false: a mention keeps every type its slices gave it",
            job={"prompt": {"entity_type_run_off": False}},
        ),
        Configuration(
            "keep-ungrounded",
            "prompt.keep_ungrounded true: spans not found in the text are kept (null offsets)",
            job={"prompt": {"keep_ungrounded": True}},
        ),
        Configuration(
            "any-case",
            "NER schemas' proper_names false: mentions without a capital letter are kept",
            any_case=True,
        ),
        Configuration(
            "no-descriptions",
            "schema labels without descriptions (names only)",
            strip_descriptions=True,
        ),
        Configuration(
            "iepile-format",
            "prompt.format iepile (IEPile/OneKE instruction JSON)",
            job={"prompt": {"format": "iepile"}},
        ),
        Configuration(
            "no-structured-outputs",
            "engine.structured_outputs false (free text, parsed tolerantly)",
            job={"engine": {"structured_outputs": False}},
        ),
        Configuration(
            "few-shot-k3",
            "prompt.few_shot_k 3, examples chosen deterministically from the train split",
            few_shot_k=3,
        ),
        Configuration(
            "model-1.5b",
            "engine.model embedded:1.5b (Qwen2.5-Coder-1.5B-Instruct)",
            job={"engine": {"model": "embedded:1.5b"}},
        ),
    )
}


def get_configuration(name: str) -> Configuration:
    """A named configuration, or several joined with `+` (later ones win on conflicts)."""
    parts = [part.strip() for part in name.split("+") if part.strip()]
    unknown = [part for part in parts if part not in CONFIGURATIONS]
    if not parts or unknown:
        raise SystemExit(
            f"unknown configuration {name!r}; known: {', '.join(CONFIGURATIONS)} "
            "(join several with '+')"
        )
    combined = CONFIGURATIONS[parts[0]]
    for part in parts[1:]:
        combined = combined.combine(CONFIGURATIONS[part])
    return combined


def schema_variant(schema: Path, configuration: Configuration, directory: Path) -> Path:
    """The schema file a configuration runs with: the original when it changes nothing, else a
    rewritten copy in `directory` (same name, so results and metrics read the same)."""
    if not configuration.changes_schema:
        return schema
    data = yaml.safe_load(schema.read_text(encoding="utf-8"))
    data = strip_descriptions(data) if configuration.strip_descriptions else data
    data.update(configuration.schema)
    if configuration.any_case and data.get("task") == "ner":
        data["proper_names"] = False
    directory.mkdir(parents=True, exist_ok=True)
    out = directory / schema.name
    out.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return out


def strip_descriptions(data: dict[str, Any]) -> dict[str, Any]:
    """A schema document whose label mappings (name -> description) become plain name lists."""
    stripped = dict(data)
    for key in LABEL_KEYS:
        value = stripped.get(key)
        if isinstance(value, dict) and all(v is None or isinstance(v, str) for v in value.values()):
            stripped[key] = list(value)
        elif isinstance(stripped.get(key), list):
            stripped[key] = [
                item["name"]
                if isinstance(item, dict) and set(item) <= {"name", "description"}
                else item
                for item in stripped[key]
            ]
    return stripped
