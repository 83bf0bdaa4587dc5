"""extract_json: valid, wrapped, sloppy and truncated answers; never raises."""

import pytest

from ie_batch.parsing import JsonAnswer, extract_json

CONLL_ANSWER = (
    '{"person": ["Robert Allenby", "Allenby", "Miguel Angel Martin"], "organization": [], '
    '"else": [], "location": ["Australia", "Spain"]}'
)
CONLL_VALUE = {
    "person": ["Robert Allenby", "Allenby", "Miguel Angel Martin"],
    "organization": [],
    "else": [],
    "location": ["Australia", "Spain"],
}


def test_valid_json_is_read_as_is():
    found = extract_json(CONLL_ANSWER)
    assert found == JsonAnswer(CONLL_VALUE, None, repaired=False, truncated=False)


def test_chinese_answer_keeps_its_characters():
    found = extract_json(
        '{"时间": ["2月8日上午"], "选手": ["谷爱凌"], "赛事名称": ["北京冬奥会自由式滑雪女子大跳台决赛"]}'
    )
    assert found.value == {
        "时间": ["2月8日上午"],
        "选手": ["谷爱凌"],
        "赛事名称": ["北京冬奥会自由式滑雪女子大跳台决赛"],
    }
    assert not found.repaired


@pytest.mark.parametrize(
    "answer",
    [
        f"```json\n{CONLL_ANSWER}\n```",
        f"```\n{CONLL_ANSWER}\n```",
        f"Sure! Here are the entities:\n```json\n{CONLL_ANSWER}\n```\nLet me know if you need more.",
        f"Here is the result: {CONLL_ANSWER} I hope this helps.",
        f"{CONLL_ANSWER}\n\nExplanation: Allenby won the play-off [hole 1].",
    ],
)
def test_fences_and_prose_around_the_json_are_ignored(answer):
    found = extract_json(answer)
    assert found.value == CONLL_VALUE
    assert found.error is None


def test_a_bracket_in_the_prose_does_not_win_over_the_answer():
    found = extract_json('I found [2] people: {"person": ["Robert Allenby", "Allenby"],}')
    assert found.value == {"person": ["Robert Allenby", "Allenby"]}
    assert found.repaired


def test_python_literals_single_quotes_and_trailing_commas_are_repaired():
    found = extract_json("{'person': ['Allenby',], 'location': None, 'ok': True,}")
    assert found.value == {"person": ["Allenby"], "location": None, "ok": True}
    assert found.repaired and not found.truncated


def test_apostrophe_inside_a_single_quoted_string_survives():
    found = extract_json("{'person': ['Tim O'Gorman', 'Chris Adams']}")
    assert found.value == {"person": ["Tim O'Gorman", "Chris Adams"]}


def test_unescaped_quotes_inside_a_string_are_kept():
    found = extract_json('{"work of art": ["The "Sun" Also Rises"]}')
    assert found.value == {"work of art": ['The "Sun" Also Rises']}


def test_escapes_are_decoded_in_repaired_strings():
    found = extract_json("{'person': ['Ren\\u00e9e', 'it\\'s'],}")
    assert found.value == {"person": ["Renée", "it's"]}


@pytest.mark.parametrize(
    ("answer", "value"),
    [
        ('{"person": ["John", "Ma', {"person": ["John"]}),
        ('{"person": ["John", "Mary"', {"person": ["John", "Mary"]}),
        ('{"person": ["John"], "loc', {"person": ["John"]}),
        ('{"person": ["John"], "location":', {"person": ["John"]}),
        ('{"person": ["John"], "location": ["Pa', {"person": ["John"], "location": []}),
        ('{"时间": ["2月8日上午"], "选手": ["谷爱', {"时间": ["2月8日上午"], "选手": []}),
        ('```json\n{"person": ["John", "Ma', {"person": ["John"]}),
        ("{'person': ['John', 'Ma", {"person": ["John"]}),
        ('{"person": "Jo', {}),
    ],
)
def test_truncated_answers_keep_only_complete_items(answer, value):
    found = extract_json(answer)
    assert found.value == value
    assert found.repaired and found.truncated
    assert found.error is None


def test_truncated_event_keeps_its_complete_arguments():
    answer = (
        '{"adverse event": [{"trigger": "toxicity", "arguments": '
        '{"subject.race": "NAN", "effect": "liver dam'
    )
    found = extract_json(answer)
    assert found.value == {
        "adverse event": [{"trigger": "toxicity", "arguments": {"subject.race": "NAN"}}]
    }
    assert found.truncated


def test_truncated_relation_never_keeps_a_half_object():
    found = extract_json(
        '{"founded by": [{"subject": "Apple", "object": "Steve Jobs"}, '
        '{"subject": "Apple", "object": "Steve Woz'
    )
    relations = found.value["founded by"]
    assert relations[0] == {"subject": "Apple", "object": "Steve Jobs"}
    assert all(item.get("object") != "Steve Woz" for item in relations)


def test_a_bare_json_string_is_a_value():
    assert extract_json('"sports"').value == "sports"
    assert extract_json('["sports", "finance"]').value == ["sports", "finance"]


def test_json_encoded_as_a_json_string_is_unwrapped():
    assert extract_json('"{\\"person\\": [\\"Allenby\\"]}"').value == {"person": ["Allenby"]}


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        ("", "empty answer"),
        ("   \n", "empty answer"),
        ("I could not find any entities in this text.", "no JSON object in the answer"),
        ("null", "the answer is null"),
        (None, "expected the answer as text, got NoneType"),
    ],
)
def test_answers_without_json_give_a_reason_not_an_exception(answer, error):
    found = extract_json(answer)
    assert found.value is None
    assert found.error == error


@pytest.mark.parametrize(
    "answer", ["{{{{", "]]]", "{'a': }", '{"a": [1, 2', "```json\n```", "{" * 200, "'" * 300]
)
def test_garbage_never_raises(answer):
    found = extract_json(answer)
    assert isinstance(found, JsonAnswer)
    assert (found.value is None) == (found.error is not None)
