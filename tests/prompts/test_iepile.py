"""IEPileFormat: IEPile/OneKE's instruction JSON string, its schema items, and its answers."""

import json

import pytest

from ie_batch.prompts import Example, IEPileFormat
from ie_batch.prompts.iepile import SYSTEM
from ie_batch.results import DocumentResult, Event, EventArgument
from ie_batch.schema import (
    ClassificationSchema,
    EeSchema,
    NerSchema,
    ReSchema,
    final_round_slice,
    rotate,
)

FORMAT = IEPileFormat()
CONLL = NerSchema(name="conll", entities=["person", "organization", "else", "location"])
CONLL_INPUT = (
    "284 Robert Allenby ( Australia ) 69 71 71 73 , Miguel Angel Martin ( Spain ) 75 70 71 68 "
    "( Allenby won at first play-off hole )"
)
NER_INSTRUCTION = (
    "You are an expert in named entity recognition. Please extract entities that match the schema "
    "definition from the input. Return an empty list if the entity type does not exist. Please "
    "respond in the format of a JSON string."
)
ACQUISITION = EeSchema(
    name="finance",
    events=[{"type": "acquisition", "arguments": ["buyer", "target", "time"]}],
)


def _user(prompt) -> dict:
    return json.loads(prompt.messages[1].content)


def test_user_message_is_a_json_string_with_instruction_schema_input_in_order():
    prompt = FORMAT.render("Tim Cook works for Apple.", rotate(CONLL, order="given")[0])
    assert [m.role for m in prompt.messages] == ["system", "user"]
    assert prompt.messages[0].content == SYSTEM
    assert list(_user(prompt)) == ["instruction", "schema", "input"]
    assert _user(prompt)["input"] == "Tim Cook works for Apple."


def test_english_ner_instruction_is_iepiles():
    prompt = FORMAT.render(CONLL_INPUT, rotate(CONLL)[0])
    assert _user(prompt)["instruction"] == NER_INSTRUCTION


def test_iepile_readme_conll_example_renders_byte_for_byte():
    prompt = FORMAT.render(CONLL_INPUT, rotate(CONLL, order="given")[0])
    assert prompt.messages[1].content == (
        '{"instruction": "' + NER_INSTRUCTION + '", '
        '"schema": ["person", "organization", "else", "location"], '
        '"input": "' + CONLL_INPUT + '"}'
    )


def test_sorted_order_sorts_the_schema_items():
    prompt = FORMAT.render(CONLL_INPUT, rotate(CONLL)[0])
    assert _user(prompt)["schema"] == ["else", "location", "organization", "person"]


def test_chinese_text_stays_unescaped():
    schema = NerSchema(name="ner_zh", language="zh", entities=["人名", "地名"])
    content = FORMAT.render("谷爱凌获得金牌", rotate(schema)[0]).messages[1].content
    assert "谷爱凌获得金牌" in content and '"人名"' in content
    assert _user(FORMAT.render("x", rotate(schema)[0]))["instruction"].startswith(
        "你是专门进行实体抽取的专家"
    )


def test_re_schema_items_are_relation_names():
    schema = ReSchema(name="re", relations=["founded by", "located in"])
    user = _user(FORMAT.render("x", rotate(schema)[0]))
    assert user["schema"] == ["founded by", "located in"]
    assert user["instruction"].startswith("You are an expert in relationship extraction.")


def test_ee_schema_items_are_event_type_trigger_arguments():
    user = _user(FORMAT.render("x", rotate(ACQUISITION)[0]))
    assert user["schema"] == [
        {"event_type": "acquisition", "trigger": True, "arguments": ["buyer", "target", "time"]}
    ]
    assert "return NAN for arguments that do not exist" in user["instruction"]


def test_classification_schema_items_add_the_none_label_except_in_a_final_round():
    schema = ClassificationSchema(
        name="topic", labels=["world", "sports", "business", "science"], split_num=2
    )
    assert _user(FORMAT.render("x", rotate(schema)[0]))["schema"] == ["business", "science", "none"]
    final = final_round_slice(schema, ["world", "sports"])
    assert _user(FORMAT.render("x", final))["schema"] == ["world", "sports"]


def test_examples_go_between_schema_and_input_with_string_arguments():
    example = Example(
        "Apple bought Beats.",
        DocumentResult(
            events=[Event("acquisition", "bought", arguments=(EventArgument("buyer", "Apple"),))]
        ),
    )
    user = _user(FORMAT.render("x", rotate(ACQUISITION)[0], [example]))
    assert list(user) == ["instruction", "schema", "example", "input"]
    assert user["example"] == [
        {
            "input": "Apple bought Beats.",
            "output": {
                "acquisition": [
                    {
                        "trigger": "bought",
                        "arguments": {"buyer": "Apple", "target": "NAN", "time": "NAN"},
                    }
                ]
            },
        }
    ]


def test_parse_of_an_iepile_answer_with_nan_arguments_gives_grounded_events():
    text = "In 2014 Apple bought Beats for $3 billion."
    answer = json.dumps(
        {
            "acquisition": [
                {
                    "trigger": "bought",
                    "arguments": {"buyer": "Apple", "target": "Beats", "time": "NAN"},
                }
            ]
        }
    )
    records = FORMAT.parse(answer, rotate(ACQUISITION)[0], text)
    assert records.errors == []
    assert records.events == [
        Event(
            "acquisition",
            "bought",
            14,
            20,
            (EventArgument("buyer", "Apple", 8, 13), EventArgument("target", "Beats", 21, 26)),
        )
    ]
    event = records.events[0]
    assert text[event.trigger_start : event.trigger_end] == "bought"


def test_parse_of_the_readme_conll_answer_grounds_every_entity():
    answer = (
        '{"person": ["Robert Allenby", "Allenby", "Miguel Angel Martin"], '
        '"organization": [], "else": [], "location": ["Australia", "Spain"]}'
    )
    records = FORMAT.parse(answer, rotate(CONLL, order="given")[0], CONLL_INPUT)
    assert records.errors == []
    assert [(e.type, CONLL_INPUT[e.start : e.end]) for e in records.entities] == [
        ("person", "Robert Allenby"),
        ("person", "Allenby"),
        ("person", "Miguel Angel Martin"),
        ("location", "Australia"),
        ("location", "Spain"),
    ]


def test_parse_with_an_offset_shifts_spans():
    records = FORMAT.parse('{"person": ["Allenby"]}', rotate(CONLL)[0], "( Allenby )", offset=100)
    assert [(e.start, e.end) for e in records.entities] == [(102, 109)]


def test_iepile_example_answer_with_two_values_for_a_role_fits_its_answer_schema():
    jsonschema = pytest.importorskip("jsonschema")
    slice_ = rotate(ACQUISITION)[0]
    result = DocumentResult(
        events=[
            Event(
                "acquisition",
                "bought",
                arguments=(EventArgument("buyer", "Apple"), EventArgument("buyer", "Google")),
            )
        ]
    )
    answer = FORMAT.example_answer(result, slice_)
    assert answer["acquisition"][0]["arguments"]["buyer"] == ["Apple", "Google"]
    jsonschema.validate(answer, FORMAT.answer_schema(slice_))
