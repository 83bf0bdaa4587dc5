"""The proper-name rule: a schema of proper names drops mentions without a capital letter."""

import json

from ie_batch.parsing import SliceRecords, parse_answer
from ie_batch.parsing.proper_names import apply_proper_name_rule
from ie_batch.results import Entity
from ie_batch.schema.model import NerSchema
from ie_batch.schema.rotation import rotate

TYPES = ["person", "organization"]
NAMES = NerSchema(name="news", entities=TYPES, proper_names=True)
ANY_CASE = NerSchema(name="news", entities=TYPES)
TEXT = "The police said the trader, Nick Leeson of Barings, was held; iPhone sales fell 6-2."


def mentions(schema: NerSchema, answer: dict, text: str = TEXT) -> tuple[list[str], list[str]]:
    records = parse_answer(json.dumps(answer), rotate(schema)[0], text)
    return [e.text for e in records.entities], records.warnings


def test_mentions_without_a_capital_letter_are_dropped_with_a_warning():
    answer = {"person": ["Nick Leeson", "trader", "police"], "organization": ["Barings", "iPhone"]}
    kept, warnings = mentions(NAMES, answer)
    assert kept == ["Nick Leeson", "Barings", "iPhone"]
    assert warnings == [
        "slice news[1/1]: dropped 2 mention(s) without a capital letter (the schema's entity "
        "types are proper names): 'trader', 'police'"
    ]


def test_the_rule_reads_the_texts_own_spelling():
    # Grounding gives a mention the text's spelling: a capital at the start of a sentence counts.
    kept, warnings = mentions(NAMES, {"person": ["the police"], "organization": []})
    assert (kept, warnings) == (["The police"], [])


def test_the_rule_is_the_schemas_choice():
    answer = {"person": ["Nick Leeson", "trader"], "organization": []}
    assert mentions(ANY_CASE, answer) == (["Nick Leeson", "trader"], [])


def test_mentions_without_cased_letters_are_left_alone():
    text = "Results 6-2 ; 北京 beat Shanghai"
    answer = {"person": ["6-2"], "organization": ["北京", "Shanghai"]}
    assert mentions(NAMES, answer, text) == (["6-2", "北京", "Shanghai"], [])


def test_a_text_written_without_capitals_keeps_every_mention():
    text = "lol nick leeson and the trader at barings"
    answer = {"person": ["nick leeson", "trader"], "organization": ["barings"]}
    assert mentions(NAMES, answer, text) == (["nick leeson", "trader", "barings"], [])


def test_an_all_capitals_headline_loses_nothing():
    text = "SOCCER - LEEDS BEAT CHELSEA"
    answer = {"person": [], "organization": ["LEEDS", "CHELSEA"]}
    assert mentions(NAMES, answer, text) == (["LEEDS", "CHELSEA"], [])


def test_in_chinese_pronouns_single_characters_and_phrases_with_particles_are_dropped():
    schema = NerSchema(name="ner", language="zh", entities=["人名"], proper_names=True)
    text = "这个年近五十的汉子说他认识王小明和李。"
    (slice_,) = rotate(schema)
    mentions = ["这个年近五十的汉子", "他", "王小明", "李"]
    records = SliceRecords(entities=[Entity("人名", m) for m in mentions], slice=slice_)
    kept = apply_proper_name_rule(records, text)
    assert [e.text for e in kept.entities] == ["王小明"]
    assert len(kept.warnings) == 1 and "'他'" in kept.warnings[0]


def test_chinese_mentions_are_kept_without_the_proper_name_rule():
    schema = NerSchema(name="ner", language="zh", entities=["人名"])
    (slice_,) = rotate(schema)
    records = SliceRecords(entities=[Entity("人名", "他")], slice=slice_)
    assert apply_proper_name_rule(records, "他来了。") is records
