import json

import pytest

from ie_batch.schema import (
    ClassificationSchema,
    EeSchema,
    NerSchema,
    ReSchema,
    SchemaError,
    load_schema,
    schema_from_data,
)


def test_every_shipped_schema_loads(schemas_dir):
    files = sorted(schemas_dir.glob("*.yaml"))
    assert len(files) >= 6
    for path in files:
        schema = load_schema(path)
        assert schema.name == path.stem
        assert len(schema.label_specs) >= 2


def test_shipped_medical_intent_schema_has_the_eleven_kuake_qic_intents(schemas_dir):
    schema = load_schema(schemas_dir / "medical_intent_zh.yaml")
    assert isinstance(schema, ClassificationSchema)
    assert schema.label_names == [
        "病情诊断",
        "病因分析",
        "治疗方案",
        "就医建议",
        "指标解读",
        "疾病表述",
        "后果表述",
        "注意事项",
        "功效作用",
        "医疗费用",
        "其他",
    ]


def test_ppuie_list_is_a_chinese_ner_schema():
    schema = schema_from_data(["时间", "选手", "赛事名称"])
    assert isinstance(schema, NerSchema)
    assert schema.language == "zh"
    assert schema.label_names == ["时间", "选手", "赛事名称"]


def test_ppuie_dict_is_a_relation_schema_with_subject_types():
    schema = schema_from_data({"竞赛名称": ["主办方", "承办方", "已举办次数"]})
    assert isinstance(schema, ReSchema)
    assert schema.label_names == ["主办方", "承办方", "已举办次数"]
    assert all(r.subject_types == ("竞赛名称",) for r in schema.relations)


def test_ppuie_trigger_dict_is_an_event_schema():
    schema = schema_from_data({"地震触发词": ["地震强度", "时间", "震中位置", "震源深度"]})
    assert isinstance(schema, EeSchema)
    assert schema.events[0].name == "地震"
    assert schema.events[0].roles == ("地震强度", "时间", "震中位置", "震源深度")


def test_language_is_detected_from_labels_when_omitted():
    assert schema_from_data({"task": "ner", "entities": ["人名"]}).language == "zh"
    assert schema_from_data({"task": "ner", "entities": ["person"]}).language == "en"


def test_task_is_inferred_from_the_label_field(tmp_path):
    path = tmp_path / "topics.yaml"
    path.write_text("labels: [sports, business]\nmulti_label: true\n", encoding="utf-8")
    schema = load_schema(path)
    assert isinstance(schema, ClassificationSchema)
    assert schema.multi_label and schema.name == "topics"


def test_iepile_schema_json_for_events(tmp_path):
    path = tmp_path / "EE" / "schema.json"
    path.parent.mkdir()
    lines = [
        ["potential therapeutic event", "adverse event"],
        ["subject.age", "effect"],
        {"potential therapeutic event": ["effect"], "adverse event": ["subject.age", "effect"]},
    ]
    path.write_text("\n".join(json.dumps(line) for line in lines), encoding="utf-8")
    schema = load_schema(path)
    assert isinstance(schema, EeSchema)
    assert schema.name == "ee"
    assert schema.events[1].roles == ("subject.age", "effect")


def test_iepile_schema_json_takes_its_task_from_the_folder_or_the_caller(tmp_path):
    lines = [["person", "organization", "else", "location"], [], {}]
    text = "\n".join(json.dumps(line) for line in lines)
    ner_dir = tmp_path / "NER"
    ner_dir.mkdir()
    (ner_dir / "schema.json").write_text(text, encoding="utf-8")
    assert isinstance(load_schema(ner_dir / "schema.json"), NerSchema)
    (tmp_path / "schema.json").write_text(text, encoding="utf-8")
    with pytest.raises(SchemaError, match="pass task='ner' or task='re'"):
        load_schema(tmp_path / "schema.json")
    assert isinstance(load_schema(tmp_path / "schema.json", task="re"), ReSchema)


@pytest.mark.parametrize(
    ("content", "field", "expected"),
    [
        ("task: ner\nentities: [person, 3]\n", "entities[1]", "expected a label name"),
        ("task: nre\nentities: [person]\n", "task", "expected one of ner, re, ee, classification"),
        ("task: ner\nentities: []\n", "entities", "at least 1"),
        ("task: ee\nevents: [{arguments: [a]}]\n", "events[0].type", "expected an event type name"),
        ("task: ner\nentities: [a]\nsplit_num: 0\n", "split_num", "greater than or equal to 1"),
        ("task: ner\nentities: [a]\ncolour: red\n", "colour", "Extra inputs are not permitted"),
        ("task: re\n", "relations", "at least one relation"),
        ("task: classification\nlabels: [a, b]\nmulti_label: maybe\n", "multi_label", "boolean"),
    ],
)
def test_invalid_schema_names_file_field_and_expectation(tmp_path, content, field, expected):
    path = tmp_path / "bad.yaml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(SchemaError) as caught:
        load_schema(path)
    error = caught.value
    assert error.source == str(path)
    assert error.field == field
    assert expected in error.expected
    assert str(path) in str(error) and field in str(error)


def test_unreadable_and_unparsable_files_are_schema_errors(tmp_path):
    with pytest.raises(SchemaError, match="cannot read"):
        load_schema(tmp_path / "missing.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("task: [ner\n", encoding="utf-8")
    with pytest.raises(SchemaError, match="expected YAML or JSON"):
        load_schema(broken)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "task: ner\nentities:\n  person: a\n  person: b\n",
            "field 'person': appears twice (line 4)",
        ),
        ("task: ner\nentities: [person, '  ']\n", "a label name must not be blank"),
        ("task: ner\nentities:\n  yes: agreement\n", "True is a YAML boolean, not a label name"),
        ("task: ner\nentities: [person, no]\n", "got bool"),
        ("task: classification\nlabels: [sports, none]\n", "'none' is the answer of a slice"),
        (
            "task: ee\nevents:\n  - type: attack\n    arguments: [place, 3]\n",
            "expected a label name (a string), got int",
        ),
        ("task: ee\nevents:\n  attack: [place, true]\n", "True is a YAML boolean"),
    ],
)
def test_a_strict_schema_file_names_what_is_wrong(tmp_path, text, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SchemaError) as refused:
        load_schema(path)
    assert message in str(refused.value) and str(path) in str(refused.value)
