"""merge_slices: one result per document from all its slices, tasks and windows."""

from ie_batch.parsing import SliceRecords, merge_slices, parse_answer
from ie_batch.results import DocumentResult, Entity, Event, EventArgument, LabelScore, Relation
from ie_batch.schema.model import ClassificationSchema, NerSchema
from ie_batch.schema.rotation import entity_type_slice, final_round_slice, rotate

NEWS = ClassificationSchema(name="news", labels=["a", "b", "c", "d"], split_num=2)


def test_slices_of_several_tasks_become_one_result():
    ner = SliceRecords(entities=[Entity("person", "Allenby", 0, 7)], errors=["ner problem"])
    re_ = SliceRecords(relations=[Relation("Martin", "nationality", "Spain", 10, 16, 19, 24)])
    ee = SliceRecords(events=[Event("adverse event", "rash", 3, 7)], errors=["ee problem"])
    cls = SliceRecords(labels=["sports"])
    result = merge_slices([ner, re_, ee, cls])
    assert result == DocumentResult(
        entities=[Entity("person", "Allenby", 0, 7)],
        relations=[Relation("Martin", "nationality", "Spain", 10, 16, 19, 24)],
        events=[Event("adverse event", "rash", 3, 7)],
        labels=[LabelScore("sports", None)],
        errors=["ner problem", "ee problem"],
    )


def test_exact_duplicates_go_first_copy_stays_order_kept():
    first = SliceRecords(
        entities=[Entity("person", "Allenby", 87, 94), Entity("location", "Spain", 65, 70)]
    )
    second = SliceRecords(
        entities=[
            Entity("location", "Spain", 65, 70),
            Entity("person", "Allenby", 0, 7),  # same text, other place: a different mention
            Entity("person", "Allenby", 87, 94),
        ]
    )
    assert merge_slices([first, second]).entities == [
        Entity("person", "Allenby", 87, 94),
        Entity("location", "Spain", 65, 70),
        Entity("person", "Allenby", 0, 7),
    ]


def test_same_text_with_another_type_is_not_a_duplicate():
    parts = [
        SliceRecords(
            entities=[Entity("org", "Derbyshire", 5, 15), Entity("loc", "Derbyshire", 5, 15)]
        )
    ]
    assert len(merge_slices(parts).entities) == 2


def test_overlapping_windows_are_merged_in_document_offsets():
    text = "2月8日上午北京冬奥会自由式滑雪女子大跳台决赛中中国选手谷爱凌以188.25分获得金牌！"
    schema = NerSchema(name="体育", language="zh", entities=["时间", "选手", "赛事名称"])
    slice_ = rotate(schema)[0]
    windows = [(0, text[:32]), (20, text[20:])]
    answers = [
        '{"时间": ["2月8日上午"], "选手": ["谷爱凌"], "赛事名称": ["北京冬奥会自由式滑雪女子大跳台决赛"]}',
        '{"时间": [], "选手": ["谷爱凌"], "赛事名称": []}',
    ]
    parts = [
        parse_answer(answer, slice_, window, offset=start)
        for (start, window), answer in zip(windows, answers, strict=True)
    ]
    result = merge_slices(parts)
    assert [(e.type, e.text, e.start, e.end) for e in result.entities] == [
        ("时间", "2月8日上午", 0, 6),
        ("选手", "谷爱凌", 28, 31),
        ("赛事名称", "北京冬奥会自由式滑雪女子大跳台决赛", 6, 23),
    ]
    assert all(text[e.start : e.end] == e.text for e in result.entities)


def test_an_ungrounded_copy_of_a_grounded_record_goes():
    parts = [
        SliceRecords(entities=[Entity("person", "Allenby")]),
        SliceRecords(entities=[Entity("person", "Allenby", 87, 94), Entity("person", "Woods")]),
    ]
    assert merge_slices(parts).entities == [
        Entity("person", "Allenby", 87, 94),
        Entity("person", "Woods"),
    ]


def test_duplicate_relations_and_events_go():
    relation = Relation("Martin", "nationality", "Spain", 10, 16, 19, 24)
    event = Event("adverse event", "rash", 3, 7, (EventArgument("time", "day 2", 10, 15),))
    other_event = Event("adverse event", "rash", 3, 7, (EventArgument("time", "day 9", 30, 35),))
    parts = [
        SliceRecords(relations=[relation], events=[event]),
        SliceRecords(relations=[relation], events=[event, other_event]),
    ]
    result = merge_slices(parts)
    assert result.relations == [relation]
    assert result.events == [event, other_event]


def test_classification_labels_without_duplicates():
    parts = [SliceRecords(labels=["sports", "finance"]), SliceRecords(labels=["finance"])]
    assert merge_slices(parts).labels == [LabelScore("sports"), LabelScore("finance")]


def test_run_off_answer_replaces_the_slice_winners_of_its_schema():
    first, second = rotate(NEWS)
    run_off = final_round_slice(NEWS, ["a", "c"])
    other = ClassificationSchema(name="tone", labels=["calm", "angry"])
    parts = [
        SliceRecords(labels=["a"], slice=first),
        SliceRecords(labels=["c"], slice=second),
        SliceRecords(labels=["calm"], slice=rotate(other)[0]),
        SliceRecords(labels=["c"], slice=run_off),
    ]
    assert merge_slices(parts).labels == [LabelScore("calm"), LabelScore("c")]


def test_a_failed_run_off_leaves_the_slice_winners_standing():
    first, second = rotate(NEWS)
    run_off = final_round_slice(NEWS, ["a", "c"])
    parts = [
        SliceRecords(labels=["a"], slice=first),
        SliceRecords(labels=["c"], slice=second),
        SliceRecords(slice=run_off, errors=["slice news[final]: no JSON object in the answer"]),
    ]
    result = merge_slices(parts)
    assert result.labels == [LabelScore("a"), LabelScore("c")]
    assert result.errors == ["slice news[final]: no JSON object in the answer"]


def test_without_a_run_off_every_winner_is_listed():
    first, second = rotate(NEWS)
    parts = [SliceRecords(labels=["a"], slice=first), SliceRecords(labels=[], slice=second)]
    assert merge_slices(parts).labels == [LabelScore("a")]


def test_nothing_to_merge_is_an_empty_result():
    assert merge_slices([]) == DocumentResult()
    assert merge_slices(iter([SliceRecords()])).to_row() == {
        "entities": [],
        "relations": [],
        "events": [],
        "labels": [],
        "errors": [],
        "warnings": [],
    }


def test_an_entity_type_run_off_keeps_its_choice_for_that_mention_only():
    ner = NerSchema(name="ner", entities=["location", "organization"])
    location, organization = rotate(ner, split_num=1)
    location = SliceRecords(
        slice=location,
        entities=[Entity("location", "Essex", 0, 5), Entity("location", "Kent", 10, 14)],
    )
    organization = SliceRecords(
        slice=organization,
        entities=[Entity("organization", "Essex", 0, 5), Entity("organization", "Kent", 10, 14)],
    )
    run_off = SliceRecords(
        slice=entity_type_slice(ner, "Essex", ["location", "organization"]),
        labels=["organization"],
    )
    result = merge_slices([location, organization, run_off])
    assert result.entities == [
        Entity("organization", "Essex", 0, 5),
        Entity("location", "Kent", 10, 14),
        Entity("organization", "Kent", 10, 14),
    ]
    assert result.labels == []  # a run-off's choice is a type, not a classification label


def test_an_entity_type_run_off_may_choose_a_type_no_slice_gave():
    ner = NerSchema(name="ner", entities=["location", "organization", "person"])
    _, organization, person = rotate(ner, split_num=1)
    claims = [
        SliceRecords(slice=organization, entities=[Entity("organization", "Bonn", 0, 4)]),
        SliceRecords(slice=person, entities=[Entity("person", "Bonn", 0, 4)]),
        SliceRecords(slice=entity_type_slice(ner, "Bonn", ner.label_names), labels=["location"]),
    ]
    assert merge_slices(claims).entities == [Entity("location", "Bonn", 0, 4)]
