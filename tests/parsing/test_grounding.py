"""ground_records: offsets into the text (end exclusive), repeated mentions, loose matches."""

from ie_batch.parsing import SliceRecords, ground_records
from ie_batch.results import Entity, Event, EventArgument, Relation

CONLL_TEXT = (
    "Robert Allenby ( Australia ) 69 71 71 73 , Miguel Angel Martin ( Spain ) 75 70 71 68 "
    "( Allenby won at first play-off hole )"
)
WINTER = "2月8日上午北京冬奥会自由式滑雪女子大跳台决赛中中国选手谷爱凌以188.25分获得金牌！"
CONTEST = (
    "2022语言与智能技术竞赛由中国中文信息学会和中国计算机学会联合主办，百度公司、中国中文信息学会评测工作委员会"
    "和中国计算机学会自然语言处理专委会承办，已连续举办4届，成为全球最热门的中文NLP赛事之一。"
)


def spans(records: SliceRecords, text: str, offset: int = 0) -> list[tuple[str, str, int, int]]:
    """(type, text, start, end) per entity, checking each offset against the text."""
    for entity in records.entities:
        if entity.start is not None:
            assert text[entity.start - offset : entity.end - offset] == entity.text
    return [(e.type, e.text, e.start, e.end) for e in records.entities]


def test_conll_entities_and_the_repeated_surname():
    records = SliceRecords(
        entities=[
            Entity("person", "Robert Allenby"),
            Entity("person", "Allenby"),
            Entity("person", "Miguel Angel Martin"),
            Entity("location", "Australia"),
            Entity("location", "Spain"),
        ]
    )
    grounded = ground_records(records, CONLL_TEXT)
    assert spans(grounded, CONLL_TEXT) == [
        ("person", "Robert Allenby", 0, 14),
        ("person", "Allenby", 87, 94),  # the later mention, not the surname inside "Robert Allenby"
        ("person", "Miguel Angel Martin", 43, 62),
        ("location", "Australia", 17, 26),
        ("location", "Spain", 65, 70),
    ]
    assert grounded.ungrounded == 0 and grounded.errors == []


def test_shorter_span_listed_first_still_avoids_the_longer_one():
    records = SliceRecords(
        entities=[Entity("person", "Allenby"), Entity("person", "Robert Allenby")]
    )
    assert spans(ground_records(records, CONLL_TEXT), CONLL_TEXT) == [
        ("person", "Allenby", 87, 94),
        ("person", "Robert Allenby", 0, 14),
    ]


def test_nested_span_grounds_inside_the_longer_one_when_nothing_else_fits():
    text = "北京大学的学生"
    records = SliceRecords(entities=[Entity("机构", "北京大学"), Entity("地点", "北京")])
    assert spans(ground_records(records, text), text) == [
        ("机构", "北京大学", 0, 4),
        ("地点", "北京", 0, 2),
    ]


def test_pp_uie_chinese_entities():
    records = SliceRecords(
        entities=[
            Entity("时间", "2月8日上午"),
            Entity("赛事名称", "北京冬奥会自由式滑雪女子大跳台决赛"),
            Entity("选手", "谷爱凌"),
        ]
    )
    assert spans(ground_records(records, WINTER), WINTER) == [
        ("时间", "2月8日上午", 0, 6),
        ("赛事名称", "北京冬奥会自由式滑雪女子大跳台决赛", 6, 23),
        ("选手", "谷爱凌", 28, 31),
    ]


def test_each_copy_of_a_repeated_mention_gets_its_own_occurrence():
    text = "Allenby birdied the 18th. Allenby then won; the crowd cheered Allenby."
    records = SliceRecords(entities=[Entity("person", "Allenby")] * 3)
    grounded = spans(ground_records(records, text), text)
    assert [start for _, _, start, _ in grounded] == [0, 26, 62]


def test_more_copies_than_occurrences_repeat_the_first():
    records = SliceRecords(entities=[Entity("location", "Spain")] * 2)
    grounded = spans(ground_records(records, CONLL_TEXT), CONLL_TEXT)
    assert grounded == [("location", "Spain", 65, 70)] * 2


def test_a_span_inside_a_longer_word_is_not_an_occurrence():
    text = "Cunningham bowled; later Cunning hams were sold"
    records = SliceRecords(entities=[Entity("person", "Cunning"), Entity("person", "Cunningham")])
    assert spans(ground_records(records, text), text) == [
        ("person", "Cunning", 25, 32),  # the whole word, not the start of "Cunningham"
        ("person", "Cunningham", 0, 10),
    ]


def test_a_span_found_only_inside_words_is_not_in_the_text():
    text = "Cunningham took 3-40 for Leicestershire"
    records = SliceRecords(entities=[Entity("person", "Cunning"), Entity("location", "LEICESTER")])
    grounded = ground_records(records, text, keep_ungrounded=False)
    assert grounded.entities == [] and grounded.dropped == 2
    assert "'Cunning', 'LEICESTER'" in grounded.warnings[0]


def test_punctuation_and_hyphens_end_words():
    text = "the U.S.-Mexican border, Clinton's plan"
    records = SliceRecords(
        entities=[
            Entity("location", "U.S."),
            Entity("misc", "Mexican"),
            Entity("person", "Clinton"),
        ]
    )
    assert [e.start for e in ground_records(records, text).entities] == [4, 9, 25]


def test_scripts_without_spaces_between_words_match_anywhere():
    for text, name in (
        ("北京大学的学生", "北京"),
        ("東京都に住む", "東京"),
        ("서울에서 만나요", "서울"),
    ):
        records = SliceRecords(entities=[Entity("地点", name)])
        assert spans(ground_records(records, text), text) == [("地点", name, 0, len(name))]


def test_case_and_whitespace_normalised_match_maps_back_to_the_original():
    text = "Report:  MIGUEL   Angel\n Martin  ( Spain )"
    records = SliceRecords(entities=[Entity("person", "Miguel Angel Martin")])
    grounded = ground_records(records, text)
    entity = grounded.entities[0]
    assert (entity.start, entity.end) == (9, 31)
    assert entity.text == text[9:31] == "MIGUEL   Angel\n Martin"


def test_spaces_the_model_dropped_in_chinese_text_are_tolerated():
    text = "中国选手 谷 爱凌以188.25分获得金牌"
    records = SliceRecords(entities=[Entity("选手", "谷爱凌")])
    entity = ground_records(records, text).entities[0]
    assert text[entity.start : entity.end] == "谷 爱凌" == entity.text


def test_full_width_characters_match_their_ascii_form():
    text = "谷爱凌以１８８．２５分获得金牌"
    records = SliceRecords(entities=[Entity("分数", "188.25分")])
    entity = ground_records(records, text).entities[0]
    assert (entity.start, entity.end) == (4, 11)
    assert entity.text == "１８８．２５分"


def test_normalised_offsets_account_for_characters_that_expand():
    text = "Die Straße in Köln"  # casefold turns ß into ss: the mapping must not drift
    records = SliceRecords(entities=[Entity("ort", "KÖLN"), Entity("ort", "strasse")])
    grounded = ground_records(records, text)
    assert [(e.start, e.end, e.text) for e in grounded.entities] == [
        (14, 18, "Köln"),
        (4, 10, "Straße"),
    ]


def test_ungrounded_spans_are_kept_with_none_offsets_and_counted():
    records = SliceRecords(entities=[Entity("person", "Tiger Woods"), Entity("location", "Spain")])
    grounded = ground_records(records, CONLL_TEXT)
    assert grounded.entities == [
        Entity("person", "Tiger Woods"),
        Entity("location", "Spain", 65, 70),
    ]
    assert grounded.ungrounded == 1 and grounded.dropped == 0
    assert grounded.errors == []


def test_dropping_ungrounded_spans_says_how_many_and_which():
    records = SliceRecords(
        entities=[Entity("person", "Tiger Woods"), Entity("location", "Spain")],
        errors=["earlier error"],
    )
    grounded = ground_records(records, CONLL_TEXT, keep_ungrounded=False)
    assert grounded.entities == [Entity("location", "Spain", 65, 70)]
    assert grounded.dropped == 1 and grounded.ungrounded == 1
    assert grounded.errors == ["earlier error"]  # a filter the job asked for is no error
    assert grounded.warnings == [
        "slice ?: dropped 1 record(s) or argument(s) whose spans are not in the text: 'Tiger Woods'",
    ]


def test_offset_maps_a_window_back_to_the_document():
    document = "Preamble. " + WINTER
    window_start = 10
    records = SliceRecords(entities=[Entity("选手", "谷爱凌")])
    grounded = ground_records(records, document[window_start:], offset=window_start)
    entity = grounded.entities[0]
    assert document[entity.start : entity.end] == "谷爱凌"
    assert (entity.start, entity.end) == (38, 41)


def test_pp_uie_relations_ground_subject_and_object():
    records = SliceRecords(
        relations=[
            Relation("2022语言与智能技术竞赛", "主办方", "中国中文信息学会"),
            Relation("2022语言与智能技术竞赛", "主办方", "中国计算机学会"),
            Relation("2022语言与智能技术竞赛", "承办方", "百度公司"),
            Relation("2022语言与智能技术竞赛", "已举办次数", "4届"),
        ]
    )
    grounded = ground_records(records, CONTEST)
    for relation in grounded.relations:
        assert CONTEST[relation.subject_start : relation.subject_end] == relation.subject
        assert CONTEST[relation.object_start : relation.object_end] == relation.object
    first = grounded.relations[0]
    assert (first.subject_start, first.subject_end, first.object_start, first.object_end) == (
        0,
        13,
        14,
        22,
    )
    # "中国计算机学会" occurs twice; the mention nearest the subject is the organiser.
    assert grounded.relations[1].object_start == 23
    assert grounded.relations[3].object_start == CONTEST.index("4届")


def test_relation_with_an_invented_object_is_kept_or_dropped():
    records = SliceRecords(relations=[Relation("Miguel Angel Martin", "nationality", "Spanish")])
    kept = ground_records(records, CONLL_TEXT)
    assert kept.relations == [
        Relation("Miguel Angel Martin", "nationality", "Spanish", 43, 62, None, None)
    ]
    assert kept.ungrounded == 1
    dropped = ground_records(records, CONLL_TEXT, keep_ungrounded=False)
    assert dropped.relations == [] and dropped.dropped == 1
    assert "'Spanish'" in dropped.warnings[0]


def test_event_trigger_and_arguments_ground_near_the_trigger():
    text = (
        "Cisplatin was well tolerated. In 12 patients, cisplatin caused renal toxicity; "
        "one patient had a rash."
    )
    event = Event(
        "adverse event",
        "toxicity",
        arguments=(
            EventArgument("subject", "12 patients"),
            EventArgument("treatment.drug", "cisplatin"),
            EventArgument("effect", "renal toxicity"),
        ),
    )
    grounded = ground_records(SliceRecords(events=[event]), text)
    result = grounded.events[0]
    assert text[result.trigger_start : result.trigger_end] == "toxicity"
    assert result.trigger_start == 69
    for argument in result.arguments:
        assert text[argument.start : argument.end] == argument.text
    # the lower-case mention next to the trigger, not "Cisplatin" at the start (exact match wins)
    assert result.arguments[1].start == 46


def test_event_arguments_not_in_the_text_are_dropped_only_when_asked():
    text = "Renal toxicity was seen in 12 patients."
    event = Event(
        "adverse event",
        "toxicity",
        arguments=(
            EventArgument("subject", "12 patients"),
            EventArgument("subject.age", "65 years"),
        ),
    )
    kept = ground_records(SliceRecords(events=[event]), text).events[0]
    assert [(a.text, a.start) for a in kept.arguments] == [("12 patients", 27), ("65 years", None)]
    strict = ground_records(SliceRecords(events=[event]), text, keep_ungrounded=False)
    assert [a.text for a in strict.events[0].arguments] == ["12 patients"]
    assert strict.dropped == 1 and "'65 years'" in strict.warnings[0]


def test_event_with_an_invented_trigger_is_dropped_only_when_asked():
    event = Event("adverse event", "nausea", arguments=(EventArgument("subject", "patients"),))
    text = "Renal toxicity was seen in 12 patients."
    kept = ground_records(SliceRecords(events=[event]), text).events[0]
    assert kept.trigger_start is None and kept.arguments[0].start == 30
    strict = ground_records(SliceRecords(events=[event]), text, keep_ungrounded=False)
    assert strict.events == [] and strict.dropped == 1


def test_repeated_triggers_are_separate_events():
    text = "A rash on day 2 and another rash on day 9."
    events = [
        Event("adverse event", "rash", arguments=(EventArgument("time", "day 2"),)),
        Event("adverse event", "rash", arguments=(EventArgument("time", "day 9"),)),
    ]
    grounded = ground_records(SliceRecords(events=events), text)
    assert [e.trigger_start for e in grounded.events] == [2, 28]
    assert [e.arguments[0].start for e in grounded.events] == [10, 36]


def test_labels_pass_through_untouched():
    records = SliceRecords(labels=["sports"])
    assert ground_records(records, "any text").labels == ["sports"]


def test_empty_text_grounds_nothing():
    grounded = ground_records(SliceRecords(entities=[Entity("person", "Allenby")]), "")
    assert grounded.entities == [Entity("person", "Allenby")] and grounded.ungrounded == 1
