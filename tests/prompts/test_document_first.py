"""DocumentFirstFormat: the document before the slice, so slices of a document share a prefix."""

import dataclasses
import json
import os

import pytest

from ie_batch.prompts import DocumentFirstFormat, Example
from ie_batch.prompts.staging import staged
from ie_batch.results import DocumentResult, Entity, Event, EventArgument, LabelScore, Relation
from ie_batch.schema import (
    Anchor,
    ClassificationSchema,
    EeSchema,
    NerSchema,
    ReSchema,
    final_round_slice,
    load_schema,
    rotate,
)

FORMAT = DocumentFirstFormat()
TEXT = "On Monday, Apple Inc. opened a new office in Berlin, its CEO Tim Cook said."
NER13 = NerSchema(name="ner13", entities=[f"type{i:02d}" for i in range(13)], split_num=6)


def _flat(prompt) -> str:
    return "\n".join(f"{m['role']}: {m['content']}" for m in prompt.chat())


def test_chat_is_a_system_then_a_user_message():
    prompt = FORMAT.render(TEXT, rotate(NER13)[0])
    assert [m["role"] for m in prompt.chat()] == ["system", "user"]
    assert prompt.slice == rotate(NER13)[0]
    assert prompt.answer_schema == FORMAT.answer_schema(rotate(NER13)[0], len(TEXT))


def test_text_comes_before_the_labels():
    slice_ = rotate(NER13)[1]
    user = FORMAT.render(TEXT, slice_).messages[1].content
    text_at = user.index(TEXT)
    for name in slice_.label_names:
        assert user.index(f"- {name}") > text_at + len(TEXT)


def test_two_slices_of_one_document_share_a_prefix_holding_the_whole_text():
    first, second = (_flat(FORMAT.render(TEXT, s)) for s in rotate(NER13))
    assert first != second
    shared = os.path.commonprefix([first, second])
    assert TEXT in shared
    assert not any(name in shared for name in NER13.label_names)


def test_slices_share_the_prefix_with_few_shot_examples_too():
    example = Example("Angela Merkel met Apple.", DocumentResult(entities=[]))
    first, second = (_flat(FORMAT.render(TEXT, s, [example])) for s in rotate(NER13))
    assert TEXT in os.path.commonprefix([first, second])


def test_only_the_slice_labels_are_listed():
    first, second = rotate(NER13)
    user = FORMAT.render(TEXT, first).messages[1].content
    assert all(f"- {name}" in user for name in first.label_names)
    assert not any(f"- {name}" in user for name in second.label_names)


def test_label_descriptions_are_shown_next_to_labels(schemas_dir):
    schema = load_schema(schemas_dir / "news_ner_en.yaml")
    user = FORMAT.render(TEXT, rotate(schema)[0]).messages[1].content
    assert (
        "- person: names of people, including fictional characters "
        "(first names, surnames, full names)" in user
    )
    assert "- location: countries, cities" in user


def test_event_roles_and_relation_subject_types_are_shown():
    ee = EeSchema(name="ee", events=[{"type": "acquisition", "arguments": ["buyer", "target"]}])
    assert (
        "- acquisition (roles: buyer, target)"
        in FORMAT.render(TEXT, rotate(ee)[0]).messages[1].content
    )
    re_ = ReSchema(name="re", subjects={"company": ["founded by"]})
    assert (
        "- founded by (subject is a company)"
        in FORMAT.render(TEXT, rotate(re_)[0]).messages[1].content
    )


def test_english_schema_renders_english_instructions():
    prompt = FORMAT.render(TEXT, rotate(NER13)[0])
    assert prompt.messages[0].content.startswith("You extract structured information")
    user = prompt.messages[1].content
    assert user.startswith("Text:\n" + TEXT)
    assert "Find the mentions of these entity types in the text:" in user


def test_chinese_schema_renders_chinese_instructions(schemas_dir):
    schema = load_schema(schemas_dir / "ner_zh.yaml")
    text = "2月8日上午北京冬奥会自由式滑雪女子大跳台决赛中中国选手谷爱凌以188.25分获得金牌！"
    prompt = FORMAT.render(text, rotate(schema)[0])
    assert prompt.messages[0].content.startswith("你负责从文本中抽取结构化信息")
    user = prompt.messages[1].content
    assert user.startswith("文本：\n" + text)
    assert "找出文本中属于以下实体类型的片段：" in user
    assert "用JSON对象回答" in user
    assert "Find the" not in user and "Answer with" not in user


def test_classification_offers_the_none_label_except_in_the_final_round():
    schema = ClassificationSchema(
        name="topic", labels=["world", "sports", "business", "science"], split_num=2
    )
    user = FORMAT.render(TEXT, rotate(schema)[0]).messages[1].content
    assert "Classify the text. The possible labels are:" in user
    assert 'answer "none" if none fits.' in user
    single = ClassificationSchema(name="topic", labels=["world", "sports", "business"])
    assert "none" not in FORMAT.render(TEXT, rotate(single)[0]).messages[1].content
    final = final_round_slice(schema, ["sports", "business"])
    final_user = FORMAT.render(TEXT, final).messages[1].content
    assert "none" not in final_user
    assert "- world" not in final_user and "- sports" in final_user


def test_chinese_multi_label_classification_instruction():
    schema = ClassificationSchema(
        name="标签", language="zh", labels=["体育", "财经"], multi_label=True
    )
    user = FORMAT.render("谷爱凌获得金牌", rotate(schema)[0]).messages[1].content
    assert "对文本进行分类。可选的标签有：" in user
    assert '用{"labels": [...]}回答' in user and '["无"]' in user


def _answer_line(user: str) -> dict:
    line = next(line for line in user.splitlines() if line.startswith("Answer: "))
    return json.loads(line.removeprefix("Answer: "))


def test_few_shot_example_answer_is_cut_to_the_slice_labels():
    schema = NerSchema(
        name="ner", entities=["person", "location", "organization", "date"], split_num=2
    )
    first, second = rotate(schema)  # [date, location], [organization, person]
    example = Example(
        "Angela Merkel met Apple in Paris.",
        DocumentResult(
            entities=[
                Entity("person", "Angela Merkel", 0, 13),
                Entity("organization", "Apple", 18, 23),
                Entity("location", "Paris", 27, 32),
            ]
        ),
    )
    user = FORMAT.render(TEXT, first, [example]).messages[1].content
    assert "Solved examples:" in user
    assert "Text: Angela Merkel met Apple in Paris." in user
    assert _answer_line(user) == {"date": [], "location": ["Paris"]}
    user = FORMAT.render(TEXT, second, [example]).messages[1].content
    assert _answer_line(user) == {"organization": ["Apple"], "person": ["Angela Merkel"]}
    # the examples come after the document and before the task
    assert user.index(TEXT) < user.index("Solved examples:") < user.index("- organization")


def test_few_shot_classification_example_outside_the_slice_answers_none():
    schema = ClassificationSchema(name="topic", labels=list("abcd"), split_num=2)
    first, second = rotate(schema)
    example = Example("x", DocumentResult(labels=[LabelScore("c")]))
    assert _answer_line(FORMAT.render(TEXT, first, [example]).messages[1].content) == {
        "label": "none"
    }
    assert _answer_line(FORMAT.render(TEXT, second, [example]).messages[1].content) == {
        "label": "c"
    }


def test_no_examples_means_no_examples_section():
    user = FORMAT.render(TEXT, rotate(NER13)[0]).messages[1].content
    assert "Solved examples:" not in user and "Answer: " not in user


def test_final_round_few_shot_answer_fits_the_final_round_answer_schema():
    jsonschema = pytest.importorskip("jsonschema")
    schema = ClassificationSchema(name="topic", labels=["world", "sports", "business"])
    final = final_round_slice(schema, ["sports", "business"])
    off_list = Example("The UN met in Geneva.", DocumentResult(labels=[LabelScore("world")]))
    finalist = Example("Shares rose in Tokyo.", DocumentResult(labels=[LabelScore("business")]))
    prompt = FORMAT.render(TEXT, final, [off_list, finalist])
    user = prompt.messages[1].content
    assert "The UN met in Geneva." not in user  # its answer would be outside the run-off
    assert "Shares rose in Tokyo." in user
    jsonschema.validate(_answer_line(user), prompt.answer_schema)


def test_a_one_type_ner_slice_asks_which_names_of_the_type_occur():
    news = NerSchema(name="news", entities={"person": "names of people", "location": None})
    person, location = FORMAT.slices(news, order="given")
    user = FORMAT.render(TEXT, person).messages[1].content
    assert user.endswith(
        'Which names of the type "person" (names of people) occur in the text?\n'
        "A name is a proper noun, copied exactly as written, without titles, roles or other "
        "words around it.\n"
        'Answer with {"person": [names]}; an empty list if there is none.'
    )
    assert 'the type "location" occur' in FORMAT.render(TEXT, location).messages[1].content
    zh = NerSchema(name="zh", language="zh", entities={"人名": "人物姓名"})
    (slice_,) = FORMAT.slices(zh)
    assert (
        "文本中出现了哪些“人名”（人物姓名）类型的名称？"
        in FORMAT.render("张三", slice_).messages[1].content
    )


def test_second_stage_example_answers_are_those_of_the_anchored_occurrence():
    # "Ann hired Bob. Ann hired Cy.": two events on two occurrences of one trigger word
    result = DocumentResult(
        events=[
            Event(
                "hiring",
                "hired",
                4,
                9,
                (EventArgument("employer", "Ann"), EventArgument("employee", "Bob")),
            ),
            Event("hiring", "hired", 19, 24, (EventArgument("employee", "Cy"),)),
        ],
        relations=[
            Relation("Ann", "employs", "Bob", 0, 3, 10, 13),
            Relation("Ann", "employs", "Cy", 15, 18, 25, 27),
        ],
    )
    events = EeSchema(name="ev", events=[{"type": "hiring", "arguments": ["employer", "employee"]}])
    (triggers,) = staged(rotate(events))
    second = dataclasses.replace(
        triggers, stage="arguments", anchor=Anchor("hiring", "hired", 19, 24)
    )
    assert FORMAT.example_answer(result, second) == {"employer": [], "employee": ["Cy"]}
    relations = ReSchema(name="rel", relations=["employs"])
    (subjects,) = staged(rotate(relations))
    objects = dataclasses.replace(subjects, stage="objects", anchor=Anchor("employs", "Ann", 0, 3))
    assert FORMAT.example_answer(result, objects) == {"employs": ["Bob"]}
    unplaced = dataclasses.replace(objects, anchor=Anchor("employs", "Ann"))
    assert FORMAT.example_answer(result, unplaced) == {"employs": ["Bob", "Cy"]}
