"""The schema catalog: shipped names, files, PP-UIE and native specs, the unique-name check."""

import json

import pytest

from ie_batch.schema import NerSchema, SchemaError, load_schema
from ie_batch.schema.catalog import (
    SHIPPED_SCHEMAS,
    resolve_schema,
    resolve_schemas,
    schema_path,
    shipped_schema_names,
)


def test_schema_path_of_a_bare_name_is_the_shipped_schema():
    path = schema_path("news_ner_en")
    assert path == SHIPPED_SCHEMAS / "news_ner_en.yaml"
    assert path.is_file()
    assert load_schema(path).name == "news_ner_en"


def test_schema_path_of_a_file_is_that_file(tmp_path):
    assert str(schema_path("my/own.yaml")) == "my/own.yaml"
    existing = tmp_path / "noext"
    existing.write_text("task: ner\nentities: [a]\n", encoding="utf-8")
    assert schema_path(str(existing)) == existing


def test_every_shipped_schema_resolves_and_loads():
    names = sorted(p.stem for p in SHIPPED_SCHEMAS.glob("*.yaml"))
    assert "news_ner_en" in names
    for name in names:
        assert load_schema(schema_path(name)).name


def test_schemas_resolve_from_names_files_ppuie_mappings_and_objects(schemas_dir, tmp_path):
    assert resolve_schema("news_ner_en").name == "news_ner_en"
    assert resolve_schema(schemas_dir / "topic_en.yaml").kind == "classification"
    assert resolve_schema(str(schemas_dir / "re_zh_duie.yaml")).kind == "re"
    assert resolve_schema(["时间", "选手"]).label_names == ["时间", "选手"]
    assert resolve_schema({"竞赛名称": ["主办方", "承办方"]}).kind == "re"
    custom = tmp_path / "mine.json"
    custom.write_text(json.dumps({"task": "ner", "entities": ["drug"]}), encoding="utf-8")
    assert resolve_schema(custom).name == "mine"
    schema = NerSchema(name="x", entities=["a"])
    assert resolve_schema(schema) is schema
    assert {"news_ner_en", "topic_en"} <= set(shipped_schema_names())


def test_an_unknown_schema_name_lists_the_shipped_ones():
    with pytest.raises(SchemaError, match="not the name of a shipped schema.*news_ner_en"):
        resolve_schema("no_such_schema")


def test_an_invalid_inline_schema_names_the_field():
    with pytest.raises(SchemaError, match=r"field 'entities\[1\]'"):
        resolve_schemas([{"task": "ner", "entities": ["a", 3]}])
    with pytest.raises(SchemaError, match="got int"):
        resolve_schema(3)


def test_schema_names_must_be_distinct():
    with pytest.raises(ValueError, match=r"schemas\[0\] and schemas\[1\] are both named 'ner'"):
        resolve_schemas([["a"], ["b"]])
    with pytest.raises(ValueError, match="at least one schema"):
        resolve_schemas([])
