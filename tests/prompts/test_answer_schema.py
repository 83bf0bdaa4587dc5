"""answer_schema: the JSON schema an answer to one slice must follow (structured outputs)."""

import pytest

from ie_batch.prompts import answer_schema, get_format
from ie_batch.prompts.answer_schema import (
    MAX_ITEMS_PER_LABEL,
    MAX_ITEMS_PER_ROLE,
    MAX_SPAN_CHARS,
    MAX_TRIGGER_CHARS,
    max_items,
    max_span_chars,
)
from ie_batch.prompts.staging import staged
from ie_batch.schema import (
    ClassificationSchema,
    EeSchema,
    NerSchema,
    ReSchema,
    entity_type_slice,
    final_round_slice,
    rotate,
)

NER = NerSchema(name="ner", entities=["person", "location", "organization"])
RE = ReSchema(name="re", relations=["founded by", "located in"])
EE = EeSchema(
    name="ee",
    events=[
        {"type": "acquisition", "arguments": ["buyer", "target"]},
        {"type": "layoff", "arguments": ["company"]},
    ],
)
TOPIC = ClassificationSchema(name="topic", labels=["world", "sports", "business", "sci_tech"])
TOPIC_MULTI = ClassificationSchema(
    name="tags", labels=["world", "sports", "business"], multi_label=True
)
TOPIC_ZH = ClassificationSchema(name="主题", language="zh", labels=["体育", "财经"])


SPAN = {"type": "string", "maxLength": MAX_SPAN_CHARS}


def _is_closed_object(schema, keys):
    return (
        schema["type"] == "object"
        and list(schema["properties"]) == list(keys)
        and schema["required"] == list(keys)
        and schema["additionalProperties"] is False
    )


def _validator(schema):
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_ner_keys_are_exactly_the_slice_labels_each_an_array_of_strings():
    schema = NerSchema(name="ner", entities=[f"t{i:02d}" for i in range(13)], split_num=6)
    for slice_ in rotate(schema):
        result = answer_schema(slice_)
        assert _is_closed_object(result, slice_.label_names)
        for value in result["properties"].values():
            assert value == {"type": "array", "items": SPAN, "maxItems": MAX_ITEMS_PER_LABEL}


def test_a_list_longer_than_the_cap_does_not_validate():
    jsonschema = pytest.importorskip("jsonschema")
    (slice_,) = rotate(NerSchema(name="ner", entities=["person"]))
    looping = {"person": ["Tim Cook"] * (MAX_ITEMS_PER_LABEL + 1)}
    assert not jsonschema.Draft202012Validator(answer_schema(slice_)).is_valid(looping)


def test_ner_slices_together_ask_every_label_once():
    schema = NerSchema(name="ner", entities=[f"t{i:02d}" for i in range(13)], split_num=6)
    keys = [key for s in rotate(schema) for key in answer_schema(s)["properties"]]
    assert sorted(keys) == schema.label_names


def test_re_values_are_arrays_of_closed_subject_object_pairs():
    slice_ = rotate(RE)[0]
    result = answer_schema(slice_)
    assert _is_closed_object(result, ["founded by", "located in"])
    for value in result["properties"].values():
        assert value["type"] == "array"
        assert _is_closed_object(value["items"], ["subject", "object"])
        assert value["items"]["properties"]["subject"] == SPAN


def test_ee_values_are_arrays_of_trigger_and_role_lists():
    result = answer_schema(rotate(EE)[0])
    assert _is_closed_object(result, ["acquisition", "layoff"])
    item = result["properties"]["acquisition"]["items"]
    assert _is_closed_object(item, ["trigger", "arguments"])
    assert item["properties"]["trigger"] == SPAN
    arguments = item["properties"]["arguments"]
    assert _is_closed_object(arguments, ["buyer", "target"])
    assert arguments["properties"]["buyer"] == {
        "type": "array",
        "items": SPAN,
        "maxItems": MAX_ITEMS_PER_ROLE,
    }


def test_ee_string_argument_shape_gives_one_string_per_role():
    result = answer_schema(rotate(EE)[0], argument_shape="string")
    arguments = result["properties"]["layoff"]["items"]["properties"]["arguments"]
    assert _is_closed_object(arguments, ["company"])
    assert arguments["properties"]["company"] == {
        "anyOf": [SPAN, {"type": "array", "items": SPAN, "maxItems": MAX_ITEMS_PER_ROLE}]
    }


def test_iepile_format_uses_string_arguments_and_document_first_uses_lists():
    slice_ = rotate(EE)[0]
    iepile = get_format("iepile").answer_schema(slice_)
    document_first = get_format("document_first").answer_schema(slice_)
    role = ["properties", "acquisition", "items", "properties", "arguments", "properties", "buyer"]
    for key in role:
        iepile, document_first = iepile[key], document_first[key]
    assert iepile["anyOf"][0] == SPAN
    assert document_first["type"] == "array"


def test_classification_enum_is_slice_labels_plus_none():
    slices = rotate(ClassificationSchema(name="c", labels=list("abcdefg"), split_num=4))
    assert len(slices) == 2
    for slice_ in slices:
        result = answer_schema(slice_)
        assert _is_closed_object(result, ["label"])
        assert result["properties"]["label"] == {
            "type": "string",
            "enum": [*slice_.label_names, "none"],
        }


def test_chinese_classification_none_label_is_wu():
    rotated = TOPIC_ZH.model_copy(update={"split_num": 1})  # several slices: "none" is allowed
    result = answer_schema(rotate(rotated)[0])
    assert result["properties"]["label"]["enum"] == ["体育", "无"]


def test_a_single_multi_class_slice_must_pick_one_of_its_labels():
    (slice_,) = rotate(TOPIC_ZH)
    assert not slice_.offers_none
    assert answer_schema(slice_)["properties"]["label"]["enum"] == ["体育", "财经"]


def test_final_round_enum_has_no_none_label():
    slice_ = final_round_slice(TOPIC, ["sports", "business"])
    result = answer_schema(slice_)
    assert result["properties"]["label"]["enum"] == ["sports", "business"]


def test_multi_label_is_a_unique_array_of_the_enum():
    result = answer_schema(rotate(TOPIC_MULTI)[0])
    assert _is_closed_object(result, ["labels"])
    labels = result["properties"]["labels"]
    assert labels["type"] == "array"
    assert labels["uniqueItems"] is True
    assert labels["items"] == {"type": "string", "enum": ["business", "sports", "world", "none"]}


def test_real_ner_answer_validates_and_wrong_ones_do_not():
    validator = _validator(answer_schema(rotate(NER)[0]))
    good = {"location": ["Berlin"], "organization": [], "person": ["Tim Cook", "Angela Merkel"]}
    assert validator.is_valid(good)
    assert not validator.is_valid({"location": ["Berlin"], "person": []})  # missing a label
    assert not validator.is_valid({**good, "date": ["Monday"]})  # invented label
    assert not validator.is_valid({**good, "person": "Tim Cook"})  # not a list


def test_real_re_answer_validates_and_extra_keys_do_not():
    validator = _validator(answer_schema(rotate(RE)[0]))
    good = {"founded by": [{"subject": "Apple", "object": "Steve Jobs"}], "located in": []}
    assert validator.is_valid(good)
    bad = {"founded by": [{"subject": "Apple", "object": "Jobs", "note": "x"}], "located in": []}
    assert not validator.is_valid(bad)
    assert not validator.is_valid({"founded by": [{"subject": "Apple"}], "located in": []})


def test_real_ee_answers_validate_in_both_argument_shapes():
    slice_ = rotate(EE)[0]
    lists = _validator(answer_schema(slice_))
    strings = _validator(answer_schema(slice_, argument_shape="string"))
    as_lists = {
        "acquisition": [{"trigger": "bought", "arguments": {"buyer": ["Apple"], "target": []}}],
        "layoff": [],
    }
    as_strings = {
        "acquisition": [{"trigger": "bought", "arguments": {"buyer": "Apple", "target": "NAN"}}],
        "layoff": [],
    }
    assert lists.is_valid(as_lists) and not lists.is_valid(as_strings)
    # IEPile: one string per role, or a list when a role has several values
    assert strings.is_valid(as_strings) and strings.is_valid(as_lists)


def test_real_classification_answers_validate():
    single = _validator(answer_schema(rotate(TOPIC)[0]))
    assert single.is_valid({"label": "sports"})
    assert not single.is_valid({"label": "none"})  # one slice holds every label
    assert not single.is_valid({"label": "weather"})
    sliced = _validator(answer_schema(rotate(TOPIC.model_copy(update={"split_num": 2}))[0]))
    assert sliced.is_valid({"label": "none"})
    multi = _validator(answer_schema(rotate(TOPIC_MULTI)[0]))
    assert multi.is_valid({"labels": ["sports", "business"]})
    assert not multi.is_valid({"labels": ["sports", "sports"]})
    final = _validator(answer_schema(final_round_slice(TOPIC, ["sports", "world"])))
    assert final.is_valid({"label": "world"})
    assert not final.is_valid({"label": "none"})


def test_bounds_follow_the_text_length_in_a_few_steps():
    assert max_items(10) == 4 and max_items(100) == 16 and max_items(10_000) == MAX_ITEMS_PER_LABEL
    assert max_span_chars(3) == 4 and max_span_chars(60) == 64
    assert max_span_chars(100_000) == MAX_SPAN_CHARS
    lengths = range(1, 5000)
    assert len({max_items(n) for n in lengths}) <= 3  # few grammars to compile and cache
    assert len({max_span_chars(n) for n in lengths}) <= 7


def test_no_span_longer_than_the_text_validates():
    jsonschema = pytest.importorskip("jsonschema")
    (slice_,) = rotate(NerSchema(name="ner", entities=["person"]))
    schema = answer_schema(slice_, text_chars=20)
    assert jsonschema.Draft202012Validator(schema).is_valid({"person": ["Tim Cook"]})
    assert not jsonschema.Draft202012Validator(schema).is_valid({"person": ["x" * 33]})


def test_every_array_and_string_of_every_task_is_bounded():
    """No answer can run to the token limit: each array has maxItems, each string maxLength
    or an enum."""

    def unbounded(node, path="$"):
        if isinstance(node, dict):
            if node.get("type") == "array" and "maxItems" not in node:
                yield path
            if node.get("type") == "string" and "maxLength" not in node and "enum" not in node:
                yield path
            for key, value in node.items():
                yield from unbounded(value, f"{path}.{key}")
        elif isinstance(node, list):
            for position, value in enumerate(node):
                yield from unbounded(value, f"{path}[{position}]")

    slices = [s for schema in (NER, RE, EE, TOPIC, TOPIC_MULTI) for s in rotate(schema)]
    slices += staged(rotate(EE)) + staged(rotate(RE))
    for shape in ("list", "string"):
        for slice_ in slices:
            assert list(unbounded(answer_schema(slice_, shape, text_chars=80))) == [], slice_.key


def test_staged_slices_ask_short_lists_of_spans():
    (triggers,) = staged(rotate(EE))
    result = answer_schema(triggers, text_chars=40)
    assert _is_closed_object(result, ["events"])
    events = result["properties"]["events"]
    assert events["maxItems"] == MAX_ITEMS_PER_ROLE
    assert events["items"]["properties"] == {
        "type": {"type": "string", "enum": ["acquisition", "layoff"]},
        "trigger": {"type": "string", "maxLength": MAX_TRIGGER_CHARS["en"]},
    }
    (subjects,) = staged(rotate(RE))
    assert _is_closed_object(answer_schema(subjects), ["founded by", "located in"])


def test_a_mention_check_may_answer_none_of_these():
    slice_ = entity_type_slice(NER, "Paris", ["location"], check=True)
    assert answer_schema(slice_)["properties"]["type"]["enum"] == ["location", "none of these"]
    assert entity_type_slice(NER, "Paris", ["location"]) is None  # a run-off needs two types
    contested = entity_type_slice(NER, "Paris", ["location", "person"])
    assert answer_schema(contested)["properties"]["type"]["enum"] == ["location", "person"]
