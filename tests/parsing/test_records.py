"""records_from_answer: IEPile/PP-UIE answer shapes per task, and what is skipped and why."""

import pytest

from ie_batch.parsing import SliceRecords, records_from_answer
from ie_batch.results import Entity, Event, EventArgument, Relation
from ie_batch.schema.model import ClassificationSchema, EeSchema, NerSchema, ReSchema
from ie_batch.schema.rotation import entity_type_slice, final_round_slice, rotate

CONLL = NerSchema(name="conll", entities=["person", "organization", "else", "location"])
NYT = ReSchema(
    name="nyt", relations=["neighborhood of", "nationality", "children", "place of death"]
)
PHEE = EeSchema(
    name="phee",
    events=[
        {"type": "potential therapeutic event", "arguments": ["subject", "treatment"]},
        {
            "type": "adverse event",
            "arguments": [
                "subject",
                "subject.race",
                "subject.population",
                "subject.age",
                "effect",
                "treatment",
                "treatment.drug",
            ],
        },
    ],
)
NEWS = ClassificationSchema(name="news", labels=["sports", "finance", "politics"])
TOPICS = ClassificationSchema(
    name="topics", labels=["sports", "finance", "politics"], multi_label=True
)


def only_slice(schema):
    slices = rotate(schema)
    assert len(slices) == 1
    return slices[0]


def test_conll_ner_answer():
    answer = {
        "person": ["Robert Allenby", "Allenby", "Miguel Angel Martin"],
        "organization": [],
        "else": [],
        "location": ["Australia", "Spain"],
    }
    records = records_from_answer(answer, only_slice(CONLL))
    assert records.entities == [
        Entity("person", "Robert Allenby"),
        Entity("person", "Allenby"),
        Entity("person", "Miguel Angel Martin"),
        Entity("location", "Australia"),
        Entity("location", "Spain"),
    ]
    assert records.errors == []
    assert records.key == "conll[1/1]"


def test_pp_uie_chinese_ner_answer():
    schema = NerSchema(name="体育", language="zh", entities=["时间", "选手", "赛事名称"])
    answer = {
        "时间": ["2月8日上午"],
        "选手": ["谷爱凌"],
        "赛事名称": ["北京冬奥会自由式滑雪女子大跳台决赛"],
    }
    records = records_from_answer(answer, only_slice(schema))
    assert {(e.type, e.text) for e in records.entities} == {
        ("时间", "2月8日上午"),
        ("选手", "谷爱凌"),
        ("赛事名称", "北京冬奥会自由式滑雪女子大跳台决赛"),
    }


@pytest.mark.parametrize("nothing", ["NAN", "nan", "none", "None", "无", "", None, []])
def test_ner_placeholders_mean_nothing(nothing):
    records = records_from_answer({"person": nothing, "location": ["Spain"]}, only_slice(CONLL))
    assert records.entities == [Entity("location", "Spain")]
    assert records.errors == []


def test_ner_string_value_is_one_span_and_placeholders_in_lists_are_skipped():
    answer = {"person": " Allenby ", "location": ["Spain", "NAN", 2022]}
    records = records_from_answer(answer, only_slice(CONLL))
    assert records.entities == [
        Entity("person", "Allenby"),
        Entity("location", "Spain"),
        Entity("location", "2022"),
    ]


def test_label_keys_match_ignoring_case_and_spacing():
    records = records_from_answer(
        {"Person": ["Allenby"], "LOCATION ": ["Spain"]}, only_slice(CONLL)
    )
    assert records.entities == [Entity("person", "Allenby"), Entity("location", "Spain")]
    assert records.errors == []


def test_unknown_keys_are_ignored_and_noted():
    slices = rotate(NerSchema(name="ner", entities=["a", "b", "c", "d"], split_num=2))
    records = records_from_answer({"a": ["x"], "c": ["y"], "foo": ["z"]}, slices[0])
    assert records.entities == [Entity("a", "x")]
    assert records.errors == [
        "answer key 'c' is not a label of slice ner[1/2]",
        "answer key 'foo' is not a label of slice ner[1/2]",
    ]


def test_wrong_types_are_skipped_with_what_was_expected():
    answer = {"person": [{"name": "Allenby"}, "Spain", ["x"]], "location": {"city": "Madrid"}}
    records = records_from_answer(answer, only_slice(CONLL))
    assert records.entities == [Entity("person", "Spain")]
    assert len(records.errors) == 3
    assert all(error.startswith("slice conll[1/1]: ") for error in records.errors)
    assert "expected a span string" in records.errors[0]
    assert "'location'" in records.errors[2]


@pytest.mark.parametrize("answer", ["just text", 42, ["a", "b"], True])
def test_an_answer_that_is_not_an_object_is_an_error(answer):
    records = records_from_answer(answer, only_slice(CONLL))
    assert records.entities == []
    assert records.errors and "expected a JSON object keyed by label" in records.errors[0]


def test_no_answer_is_an_error():
    records = records_from_answer(None, only_slice(CONLL))
    assert records == SliceRecords(
        slice=only_slice(CONLL), errors=["slice conll[1/1]: no answer to read"]
    )


def test_nyt_relations_with_subject_object_and_head_tail():
    answer = {
        "neighborhood of": [],
        "nationality": [{"subject": "Miguel Angel Martin", "object": "Spain"}],
        "children": "NAN",
        "place of death": [{"head": "Robert Allenby", "tail": "Australia"}],
    }
    records = records_from_answer(answer, only_slice(NYT))
    assert records.relations == [
        Relation("Miguel Angel Martin", "nationality", "Spain"),
        Relation("Robert Allenby", "place of death", "Australia"),
    ]
    assert records.errors == []


def test_pp_uie_chinese_relations():
    schema = ReSchema(
        name="竞赛", language="zh", subjects={"竞赛名称": ["主办方", "承办方", "已举办次数"]}
    )
    answer = {
        "主办方": [
            {"subject": "2022语言与智能技术竞赛", "object": "中国中文信息学会"},
            {"subject": "2022语言与智能技术竞赛", "object": "中国计算机学会"},
        ],
        "已举办次数": {"subject": "2022语言与智能技术竞赛", "object": "4届"},
        "承办方": [
            {
                "subject": "2022语言与智能技术竞赛",
                "object": ["百度公司", "中国中文信息学会评测工作委员会"],
            }
        ],
    }
    records = records_from_answer(answer, only_slice(schema))
    assert [(r.relation, r.object) for r in records.relations] == [
        ("主办方", "中国中文信息学会"),
        ("主办方", "中国计算机学会"),
        ("已举办次数", "4届"),
        ("承办方", "百度公司"),
        ("承办方", "中国中文信息学会评测工作委员会"),
    ]
    assert {r.subject for r in records.relations} == {"2022语言与智能技术竞赛"}


def test_malformed_relations_are_skipped_with_an_error():
    answer = {
        "nationality": [
            {"subject": "Miguel Angel Martin"},
            "Spain",
            {"subject": "Allenby", "object": "NAN"},
            {"subject": "Martin", "object": "Spain"},
        ]
    }
    records = records_from_answer(answer, only_slice(NYT))
    assert records.relations == [Relation("Martin", "nationality", "Spain")]
    assert len(records.errors) == 3
    assert all('expected {"subject": ..., "object": ...}' in error for error in records.errors)


def test_phee_event_with_nan_arguments():
    answer = {
        "potential therapeutic event": [],
        "adverse event": [
            {
                "trigger": "toxicity",
                "arguments": {
                    "subject.race": "NAN",
                    "subject.population": "NAN",
                    "subject.age": "NAN",
                    "effect": "NAN",
                    "subject": "patients",
                    "treatment.drug": ["cisplatin", "etoposide"],
                },
            }
        ],
    }
    records = records_from_answer(answer, only_slice(PHEE))
    assert records.events == [
        Event(
            type="adverse event",
            trigger="toxicity",
            arguments=(
                EventArgument("subject", "patients"),
                EventArgument("treatment.drug", "cisplatin"),
                EventArgument("treatment.drug", "etoposide"),
            ),
        )
    ]
    assert records.errors == []


def test_event_arguments_as_a_list_of_role_text_objects():
    answer = {
        "adverse event": [{"trigger": "rash", "arguments": [{"role": "effect", "text": "rash"}]}]
    }
    records = records_from_answer(answer, only_slice(PHEE))
    assert records.events[0].arguments == (EventArgument("effect", "rash"),)


def test_malformed_events_and_unknown_roles_are_noted():
    answer = {
        "adverse event": [
            {"arguments": {"effect": "rash"}},
            "toxicity",
            {"trigger": "rash", "arguments": {"dose": "10 mg", "effect": "rash"}, "time": "day 3"},
            {"trigger": "fever", "arguments": "NAN"},
        ]
    }
    records = records_from_answer(answer, only_slice(PHEE))
    assert records.events == [
        Event("adverse event", "rash", arguments=(EventArgument("effect", "rash"),)),
        Event("adverse event", "fever"),
    ]
    errors = "\n".join(records.errors)
    assert "expected a trigger span" in errors
    assert '"dose" is not a role of this event type' in errors
    assert "ignored key 'time'" in errors
    assert len(records.errors) == 4


@pytest.mark.parametrize(
    ("answer", "labels"),
    [
        ({"label": "sports"}, ["sports"]),
        ({"label": "Sports "}, ["sports"]),
        ("finance", ["finance"]),
        (["politics"], ["politics"]),
        ({"label": "none"}, []),
        ({"label": "NAN"}, []),
    ],
)
def test_multi_class_choices(answer, labels):
    records = records_from_answer(answer, only_slice(NEWS))
    assert records.labels == labels
    assert records.errors == []


def test_multi_class_with_several_labels_keeps_the_first_and_says_so():
    records = records_from_answer({"label": ["finance", "sports"]}, only_slice(NEWS))
    assert records.labels == ["finance"]
    assert records.errors == ["slice news[1/1]: expected one label, got 2; kept 'finance'"]


def test_multi_label_choices_without_duplicates_or_none():
    records = records_from_answer(
        {"labels": ["sports", "finance", "sports", "none"]}, only_slice(TOPICS)
    )
    assert records.labels == ["sports", "finance"]
    assert records.errors == []


def test_a_label_outside_the_slice_is_an_error_not_a_result():
    slices = rotate(ClassificationSchema(name="news", labels=["a", "b", "c", "d"], split_num=2))
    records = records_from_answer({"label": "c"}, slices[0])
    assert records.labels == []
    assert records.errors == ['slice news[1/2]: answer label "c" is not a label of this slice']


def test_run_off_slice_only_accepts_the_finalists():
    run_off = final_round_slice(NEWS, ["sports", "finance"])
    assert records_from_answer({"label": "finance"}, run_off).labels == ["finance"]
    rejected = records_from_answer({"label": "politics"}, run_off)
    assert rejected.labels == [] and "news[final]" in rejected.errors[0]


def test_classification_object_without_label_key():
    records = records_from_answer({"category": "sports"}, only_slice(NEWS))
    assert records.labels == []
    assert len(records.errors) == 2
    assert 'expected {"label": ...}' in records.errors[1]


def test_chinese_none_label():
    schema = ClassificationSchema(name="意图", language="zh", labels=["病情诊断", "治疗方案"])
    assert records_from_answer({"label": "无"}, only_slice(schema)).labels == []
    assert records_from_answer({"label": "治疗方案"}, only_slice(schema)).labels == ["治疗方案"]


def test_entity_type_run_off_answer_is_its_label():
    slice_ = entity_type_slice(CONLL, "Essex", ["location", "organization"])
    assert records_from_answer({"type": "Organization "}, slice_).labels == ["organization"]
    assert records_from_answer("location", slice_).labels == ["location"]


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        ({"type": "person"}, "answer type \"person\" is not one of ['location', 'organization']"),
        ({"kind": "location"}, 'expected {"type": ...}, got {"kind": "location"}'),
    ],
)
def test_entity_type_run_off_answer_outside_its_candidates_is_an_error(answer, error):
    slice_ = entity_type_slice(CONLL, "Essex", ["location", "organization"])
    records = records_from_answer(answer, slice_)
    assert records.labels == []
    assert records.errors == [f"slice conll[final 'Essex']: {error}"]
