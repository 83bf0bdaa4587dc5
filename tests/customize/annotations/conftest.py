"""Small hand-made exports and schemas for the import tests (written for the project)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

NER_SCHEMA = "task: ner\nname: people\nentities: [person, organization, location]\n"
RE_SCHEMA = (
    "task: re\nname: jobs\nrelations:\n"
    "  - {name: works_for, subject_types: [person], object_types: [organization]}\n"
    "  - {name: located_in}\n"
)
EE_SCHEMA = (
    "task: ee\nname: quakes\nlanguage: zh\nevents:\n"
    "  - {type: 地震, arguments: [时间, 震级]}\n  - {type: 夺冠, arguments: [冠军]}\n"
)
TOPIC_SCHEMA = "task: classification\nname: topics\nlabels: [sports, business, world]\n"
TAGS_SCHEMA = (
    "task: classification\nname: tags\nmulti_label: true\nlabels: [sports, business, world]\n"
)


@pytest.fixture
def schema_file(tmp_path: Path):
    def write(text: str, name: str = "schema.yaml") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write


@pytest.fixture
def jsonl(tmp_path: Path):
    def write(records: list, name: str = "export.jsonl") -> Path:
        path = tmp_path / name
        path.write_text(
            "".join(
                (r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)) + "\n"
                for r in records
            ),
            encoding="utf-8",
        )
        return path

    return write


@pytest.fixture
def json_file(tmp_path: Path):
    def write(value, name: str = "export.json") -> Path:
        path = tmp_path / name
        path.write_text(json.dumps(value, ensure_ascii=False), encoding="utf-8")
        return path

    return write
