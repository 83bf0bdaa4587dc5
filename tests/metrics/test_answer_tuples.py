"""Answer texts -> exact-match tuples, and their counts: what `ie-batch train`'s dev F1 uses."""

import pytest

from ie_batch.metrics.answer_tuples import answer_counts, answer_tuples
from ie_batch.metrics.counts import Counts


def test_ner_answers_give_type_text_pairs_and_a_repeated_mention_counts_once_per_gold():
    gold = '{"person":["Tim Cook","Tim Cook"],"location":[]}'
    predicted = '{"person":["Tim Cook","Tim Cook","Tim Cook"],"location":["Paris"]}'
    assert answer_tuples(gold, "ner") == [("person", "Tim Cook"), ("person", "Tim Cook")]
    assert answer_counts(predicted, gold, "ner") == Counts(tp=2, pred=4, gold=2)


def test_relations_events_and_their_stages():
    relation = '{"works_for":[{"subject":"Tim Cook","object":"Apple"}]}'
    assert answer_tuples(relation, "re") == [("works_for", "Tim Cook", "Apple")]
    assert answer_tuples('{"works_for":["Tim Cook"]}', "re", "subjects") == [
        ("works_for", "Tim Cook")
    ]
    event = (
        '{"attack":[{"trigger":"bombed","arguments":{"attacker":["rebels"],"target":"NAN",'
        '"place":"Kabul"}}]}'
    )
    assert answer_tuples(event, "ee") == [
        ("attack", "bombed"),
        ("attack", "attacker", "rebels"),
        ("attack", "place", "Kabul"),
    ]
    triggers = '{"events":[{"type":"attack","trigger":"bombed"}]}'
    assert answer_tuples(triggers, "ee", "triggers") == [("attack", "bombed")]
    assert answer_tuples('{"attacker":["rebels"]}', "ee", "arguments") == [("attacker", "rebels")]


def test_classification_ignores_the_none_label_when_the_asked_labels_are_known():
    labels = ["sports", "world"]
    assert answer_tuples('{"label":"sports"}', "classification", labels=labels) == [("sports",)]
    assert answer_tuples('{"label":"none"}', "classification", labels=labels) == []
    assert answer_counts(
        '{"labels":["world","sports","world"]}', '{"labels":["world"]}', "classification"
    ) == Counts(tp=1, pred=2, gold=1)


@pytest.mark.parametrize(
    "predicted",
    ["", "I do not know", "[1, 2]", '{"person": [1, {"x": 2}, null]}', '{"person": "', None],
)
def test_an_unreadable_or_misshapen_prediction_gives_no_tuples(predicted):
    assert answer_tuples(predicted, "ner") == []
    assert answer_counts(predicted, '{"person":["Tim"]}', "ner") == Counts(tp=0, pred=0, gold=1)


def test_a_prediction_wrapped_in_prose_or_cut_off_is_read_as_the_job_reads_it():
    predicted = 'Sure: ```json\n{"person": ["Tim Cook", "Ma'
    assert answer_tuples(predicted, "ner") == [("person", "Tim Cook")]


def test_an_unknown_task_is_an_error():
    with pytest.raises(ValueError, match="unknown task 'pos'"):
        answer_tuples("{}", "pos")
