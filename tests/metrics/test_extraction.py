from ie_batch.metrics import (
    Counts,
    argument_tuples,
    ee_counts,
    extraction_counts,
    match_counts,
    ner_counts,
    re_counts,
)
from ie_batch.results import DocumentResult, Entity, Event, EventArgument, Relation


def entities(mapping):
    return [Entity(type=t, text=x) for t, texts in mapping.items() for x in texts]


def test_ner_iepile_counting_by_hand():
    gold = entities({"person": ["Robert Allenby", "Allenby"], "location": ["Australia"]})
    predicted = entities(
        {"person": ["Robert Allenby", "Allenby", "Allenby"], "location": ["Australia", "Spain"]}
    )
    # (Robert Allenby, person) matches; (Allenby, person) is predicted twice but gold has it
    # once, so one match and one false positive; (Australia, location) matches;
    # (Spain, location) is a false positive.
    # tp = 3, pred = 5, gold = 3 -> P = 3/5 = 0.6, R = 3/3 = 1.0, F1 = 2*3/(5+3) = 0.75
    counts = ner_counts(predicted, gold)
    assert counts == Counts(tp=3, pred=5, gold=3)
    assert (counts.precision, counts.recall, counts.f1) == (0.6, 1.0, 0.75)


def test_each_gold_tuple_is_matched_at_most_once_in_both_directions():
    assert match_counts(["a", "a", "a"], ["a"]) == Counts(1, 3, 1)
    assert match_counts(["a"], ["a", "a"]) == Counts(1, 1, 2)
    assert match_counts(["a", "a"], ["a", "a"]) == Counts(2, 2, 2)


def test_no_normalisation_case_whitespace_and_type_must_match_exactly():
    gold = [Entity(type="person", text="Allenby")]
    for wrong in (
        Entity(type="person", text="allenby"),
        Entity(type="person", text="Allenby "),
        Entity(type="Person", text="Allenby"),
        Entity(type="location", text="Allenby"),
    ):
        assert ner_counts([wrong], gold) == Counts(0, 1, 1)


def test_offsets_do_not_matter_only_the_text():
    gold = [Entity(type="person", text="Allenby", start=0, end=7)]
    predicted = [Entity(type="person", text="Allenby", start=40, end=47)]
    assert ner_counts(predicted, gold) == Counts(1, 1, 1)


def test_re_counting_by_hand():
    # NYT11 example from IEPile's README, with two gold triples.
    gold = [
        Relation("Thomas Edison", "place of death", "West Orange"),
        Relation("Joe DiMaggio", "place of death", "Holy Cross Cemetery"),
    ]
    predicted = [
        Relation("Thomas Edison", "place of death", "West Orange"),  # match
        Relation("Thomas Edison", "place of death", "West Orange"),  # duplicate: gold used up
        Relation("West Orange", "place of death", "Thomas Edison"),  # reversed: no match
        Relation("Wyatt Earp", "place of death", "Hills of Eternity"),  # not in gold
    ]
    # tp = 1, pred = 4, gold = 2 -> P = 0.25, R = 0.5, F1 = 2*1/(4+2) = 1/3
    counts = re_counts(predicted, gold)
    assert counts == Counts(tp=1, pred=4, gold=2)
    assert (counts.precision, counts.recall, counts.f1) == (0.25, 0.5, 2 / 6)


def phee_gold():
    # IEPile README's PHEE example; the gold trigger really is "cause " with a trailing space,
    # and every "NAN" role has no argument.
    return [
        Event(
            type="adverse event",
            trigger="cause ",
            arguments=(
                EventArgument("Subject.Population", "NAN"),
                EventArgument("Effect", "cortical negative myoclonus"),
                EventArgument("Treatment.Drug", "pregabalin"),
                EventArgument("Subject", "patients without a history of seizures"),
                EventArgument("Treatment", "pregabalin"),
                EventArgument("Subject.Age", "NAN"),
            ),
        )
    ]


def test_ee_counting_by_hand_on_iepile_phee_example():
    predicted = [
        Event(
            type="adverse event",
            trigger="cause",  # stripped: no longer equal to gold's "cause "
            arguments=(
                EventArgument("Effect", "cortical negative myoclonus"),  # match
                EventArgument("Treatment.Drug", "pregabalin"),  # match
                EventArgument("Subject", "patients"),  # partial span: no match
                EventArgument("Treatment", "NAN"),  # placeholder: not an argument
            ),
        )
    ]
    # events: (adverse event, "cause") vs (adverse event, "cause ") -> tp 0, pred 1, gold 1
    # arguments: gold has 4 real ones (2 NAN dropped), prediction 3 (1 NAN dropped), 2 match
    # -> P = 2/3, R = 2/4 = 0.5, F1 = 2*2/(3+4) = 4/7
    counts = ee_counts(predicted, phee_gold())
    assert counts["ee_trigger"] == Counts(tp=0, pred=1, gold=1)
    assert counts["ee_trigger"].f1 == 0.0
    assert counts["ee_argument"] == Counts(tp=2, pred=3, gold=4)
    assert counts["ee_argument"].precision == 2 / 3
    assert counts["ee_argument"].recall == 0.5
    assert counts["ee_argument"].f1 == 4 / 7


def test_arguments_are_keyed_by_event_type_not_by_trigger():
    gold = [Event("attack", "fired", arguments=(EventArgument("target", "the car"),))]
    same_type = [Event("attack", "shot", arguments=(EventArgument("target", "the car"),))]
    other_type = [Event("die", "fired", arguments=(EventArgument("target", "the car"),))]
    assert ee_counts(same_type, gold)["ee_argument"] == Counts(1, 1, 1)
    assert ee_counts(other_type, gold)["ee_argument"] == Counts(0, 1, 1)
    assert argument_tuples(gold) == [("attack", "the car", "target")]


def test_extraction_counts_scores_only_the_tasks_asked_for():
    gold = DocumentResult(entities=[Entity("person", "Ann")])
    predicted = DocumentResult(
        entities=[Entity("person", "Ann")],
        relations=[Relation("Ann", "works for", "Acme")],
        events=[Event("hire", "hired")],
    )
    assert extraction_counts(predicted, gold, {"ner"}) == {"ner": Counts(1, 1, 1)}
    assert extraction_counts(predicted, gold, {"ner", "classification"}) == {"ner": Counts(1, 1, 1)}
    assert extraction_counts(predicted, gold) == {
        "ner": Counts(1, 1, 1),
        "re": Counts(0, 1, 0),
        "ee_trigger": Counts(0, 1, 0),
        "ee_argument": Counts(0, 0, 0),
    }
