import json

import pytest

from ie_batch.metrics import ColumnShapeError, gold_from_row, prediction_from_row
from ie_batch.results import DocumentResult, Entity, Event, EventArgument, LabelScore, Relation


def test_row_without_gold_columns_has_no_gold():
    assert gold_from_row({"id": "1", "text": "hello"}) is None
    # null is "no gold" (Arrow fills absent keys with null), not "gold says nothing"
    assert gold_from_row({"id": "1", "entities": None, "label": None}) is None


def test_empty_gold_still_covers_its_task():
    gold = gold_from_row({"entities": []})
    assert gold.tasks == {"ner"}
    assert gold.result.entities == []
    assert gold_from_row({"ner": {}}).tasks == {"ner"}


def test_entities_in_result_shape_keep_offsets():
    gold = gold_from_row({"entities": [{"type": "person", "text": "Ann", "start": 0, "end": 3}]})
    assert gold.result.entities == [Entity("person", "Ann", 0, 3)]
    assert gold.tasks == {"ner"}


def test_entities_in_iepile_shapes():
    output_shape = gold_from_row({"ner": {"person": ["Robert Allenby", "Allenby"], "location": []}})
    assert output_shape.result.entities == [
        Entity("person", "Robert Allenby"),
        Entity("person", "Allenby"),
    ]
    label_shape = gold_from_row({"entities": [{"entity": "Allenby", "entity_type": "person"}]})
    assert label_shape.result.entities == [Entity("person", "Allenby")]


def test_parquet_struct_nulls_in_iepile_mapping_are_empty_types():
    gold = gold_from_row({"ner": {"person": ["Ann"], "location": None}})
    assert gold.result.entities == [Entity("person", "Ann")]


def test_json_text_columns_are_decoded():
    gold = gold_from_row({"ner": json.dumps({"person": ["Ann"]})})
    assert gold.result.entities == [Entity("person", "Ann")]


def test_entities_column_wins_over_ner():
    gold = gold_from_row(
        {"entities": [{"type": "person", "text": "Ann"}], "ner": {"org": ["Acme"]}}
    )
    assert gold.result.entities == [Entity("person", "Ann")]


def test_relations_in_all_shapes():
    expected = [Relation("Thomas Edison", "place of death", "West Orange")]
    listed = {
        "relations": [
            {"subject": "Thomas Edison", "relation": "place of death", "object": "West Orange"}
        ]
    }
    head_tail = {
        "relations": [
            {"head": "Thomas Edison", "relation": "place of death", "tail": "West Orange"}
        ]
    }
    grouped = {
        "relations": {
            "place of death": [{"subject": "Thomas Edison", "object": "West Orange"}],
            "children": [],
        }
    }
    grouped_head_tail = {
        "relations": {"place of death": [{"head": "Thomas Edison", "tail": "West Orange"}]}
    }
    for row in (listed, head_tail, grouped, grouped_head_tail):
        gold = gold_from_row(row)
        assert gold.result.relations == expected
        assert gold.tasks == {"re"}


def test_events_in_iepile_output_shape_drop_nan_and_expand_lists():
    row = {
        "events": {
            "potential therapeutic event": [],
            "adverse event": [
                {
                    "trigger": "cause ",
                    "arguments": {
                        "Subject.Age": "NAN",
                        "Effect": "cortical negative myoclonus",
                        "Treatment.Drug": ["pregabalin", "NAN", "gabapentin"],
                    },
                }
            ],
        }
    }
    gold = gold_from_row(row)
    assert gold.tasks == {"ee"}
    assert gold.result.events == [
        Event(
            type="adverse event",
            trigger="cause ",  # not stripped: IEPile compares exactly
            arguments=(
                EventArgument("Effect", "cortical negative myoclonus"),
                EventArgument("Treatment.Drug", "pregabalin"),
                EventArgument("Treatment.Drug", "gabapentin"),
            ),
        )
    ]


def test_events_in_result_and_iepile_label_shapes():
    result_shape = {
        "events": [
            {"type": "attack", "trigger": "fired", "arguments": [{"role": "target", "text": "car"}]}
        ]
    }
    label_shape = {
        "events": [
            {
                "event_type": "attack",
                "event_trigger": "fired",
                "arguments": [{"role": "target", "argument": "car"}],
            }
        ]
    }
    expected = [Event("attack", "fired", arguments=(EventArgument("target", "car"),))]
    assert gold_from_row(result_shape).result.events == expected
    assert gold_from_row(label_shape).result.events == expected


def test_event_without_trigger_gets_empty_trigger_like_iepile_eea():
    gold = gold_from_row({"events": {"attack": [{"arguments": {"target": "car"}}]}})
    assert gold.result.events == [Event("attack", "", arguments=(EventArgument("target", "car"),))]


@pytest.mark.parametrize(
    "row, expected",
    [
        ({"label": "sports"}, ["sports"]),
        ({"label": 3}, ["3"]),
        ({"labels": ["a", "b"]}, ["a", "b"]),
        ({"labels": [{"label": "a", "score": 0.9}, {"label": "b"}]}, ["a", "b"]),
        ({"labels": ["a"], "label": "ignored"}, ["a"]),
    ],
)
def test_class_labels(row, expected):
    gold = gold_from_row(row)
    assert gold.tasks == {"classification"}
    assert [label.label for label in gold.result.labels] == expected


def test_a_row_can_cover_several_tasks():
    gold = gold_from_row({"ner": {"person": ["Ann"]}, "label": "bio"})
    assert gold.tasks == {"ner", "classification"}
    assert gold.result.labels == [LabelScore("bio")]


@pytest.mark.parametrize(
    "row, column, fragment",
    [
        ({"entities": 5}, "entities", "got int"),
        ({"entities": [{"type": "person", "text": 7}]}, "entities", "item 0 text"),
        ({"entities": [{"type": "person"}]}, "entities", "item 0 text"),
        ({"ner": {"person": "Ann"}}, "ner", "'person': expected a list"),
        ({"ner": "{not json"}, "ner", "must be JSON"),
        ({"relations": [{"subject": "a", "object": "b"}]}, "relations", "item 0 relation"),
        (
            {"events": [{"type": "x", "trigger": "y", "arguments": "z"}]},
            "events",
            "item 0 arguments",
        ),
        ({"entities": [{"type": "p", "text": "a", "start": "0"}]}, "entities", "item 0 start"),
        ({"labels": [["nested"]]}, "labels", "item 0"),
        ({"labels": [{"label": "a", "score": "high"}]}, "labels", "item 0 score"),
    ],
)
def test_wrong_shapes_name_the_column_and_the_item(row, column, fragment):
    with pytest.raises(ColumnShapeError) as error:
        gold_from_row(row)
    assert error.value.column == column
    assert fragment in str(error.value)


def test_prediction_reads_only_result_columns():
    row = {
        "id": "1",
        "label": "gold label passed through",
        "labels": [{"label": "predicted", "score": 0.7}],
        "entities": [{"type": "person", "text": "Ann", "start": None, "end": None}],
        "errors": [],
    }
    assert prediction_from_row(row) == DocumentResult(
        entities=[Entity("person", "Ann")], labels=[LabelScore("predicted", 0.7)]
    )
    assert prediction_from_row({"id": "2", "label": "x"}) == DocumentResult()


def test_prediction_round_trips_result_rows():
    result = DocumentResult(
        entities=[Entity("person", "Ann", 0, 3)],
        relations=[Relation("Ann", "works for", "Acme", 0, 3, 14, 18)],
        events=[Event("hire", "hired", 4, 9, (EventArgument("employee", "Ann", 0, 3),))],
        labels=[LabelScore("business", 0.5)],
    )
    assert prediction_from_row(result.to_row()) == result
