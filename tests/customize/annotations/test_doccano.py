"""doccano's JSONL exports (relation, sequence-labelling and classification projects) as gold rows,
and every kind of bad annotation as an error naming the file, the line and the field."""

from __future__ import annotations

import pytest

from ie_batch.customize.annotations import AnnotationError, import_annotations
from tests.customize.annotations.conftest import (
    EE_SCHEMA,
    NER_SCHEMA,
    RE_SCHEMA,
    TAGS_SCHEMA,
    TOPIC_SCHEMA,
)

TEXT = "Tim Cook works for Apple in Cupertino."
ENTITIES = [
    {"id": 1, "label": "person", "start_offset": 0, "end_offset": 8},
    {"id": 2, "label": "organization", "start_offset": 19, "end_offset": 24},
    {"id": 3, "label": "location", "start_offset": 28, "end_offset": 37},
]
RELATIONS = [
    {"id": 7, "from_id": 1, "to_id": 2, "type": "works_for"},
    {"id": 8, "from_id": 2, "to_id": 3, "type": "located_in"},
]
RELATION_RECORD = {"id": 41, "text": TEXT, "entities": ENTITIES, "relations": RELATIONS}


def _only_problem(report) -> str:
    assert len(report.problems) == 1, [str(p) for p in report.problems]
    return str(report.problems[0])


def test_relation_project_under_an_ner_schema_gives_entities_with_offsets(schema_file, jsonl):
    report = import_annotations(jsonl([RELATION_RECORD]), schema_file(NER_SCHEMA), "doccano")
    assert report.problems == []
    assert report.rows == [
        {
            "id": "41",
            "text": TEXT,
            "entities": [
                {"type": "person", "text": "Tim Cook", "start": 0, "end": 8},
                {"type": "organization", "text": "Apple", "start": 19, "end": 24},
                {"type": "location", "text": "Cupertino", "start": 28, "end": 37},
            ],
        }
    ]
    assert report.notes["relations (the schema is NER; not imported)"] == 2


def test_relation_project_under_an_re_schema_gives_relations_from_subject_to_object(
    schema_file, jsonl
):
    report = import_annotations(jsonl([RELATION_RECORD]), schema_file(RE_SCHEMA), "doccano")
    assert report.problems == []
    assert report.rows[0]["relations"] == [
        {
            "subject": "Tim Cook",
            "relation": "works_for",
            "object": "Apple",
            "subject_start": 0,
            "subject_end": 8,
            "object_start": 19,
            "object_end": 24,
        },
        {
            "subject": "Apple",
            "relation": "located_in",
            "object": "Cupertino",
            "subject_start": 19,
            "subject_end": 24,
            "object_start": 28,
            "object_end": 37,
        },
    ]


def test_events_annotated_as_ppuie_does_trigger_entities_and_role_relations(schema_file, jsonl):
    text = "2月8日发生了5.8级地震。"
    record = {
        "text": text,
        "entities": [
            {"id": 1, "label": "地震触发词", "start_offset": 11, "end_offset": 13},
            {"id": 2, "label": "时间", "start_offset": 0, "end_offset": 4},
            {"id": 3, "label": "等级", "start_offset": 7, "end_offset": 11},
        ],
        "relations": [
            {"id": 1, "from_id": 1, "to_id": 2, "type": "时间"},
            {"id": 2, "from_id": 1, "to_id": 3, "type": "震级"},
        ],
    }
    path = jsonl([record], name="quakes.jsonl")
    report = import_annotations(path, schema_file(EE_SCHEMA), "doccano")
    assert report.problems == []
    assert report.rows == [
        {
            "id": "quakes:1",  # no id in the record: the file and line name it
            "text": text,
            "events": [
                {
                    "type": "地震",
                    "trigger": "地震",
                    "trigger_start": 11,
                    "trigger_end": 13,
                    "arguments": [
                        {"role": "时间", "text": "2月8日", "start": 0, "end": 4},
                        {"role": "震级", "text": "5.8级", "start": 7, "end": 11},
                    ],
                }
            ],
        }
    ]


def test_sequence_labelling_export_with_text_under_data_gives_entities(schema_file, jsonl):
    records = [
        {
            "id": 1,
            "data": "Apple hired Tim Cook.",
            "label": [[12, 20, "person"], [0, 5, "organization"]],
        },
        {"id": 2, "data": "Nothing here.", "label": []},
    ]
    report = import_annotations(jsonl(records), schema_file(NER_SCHEMA), "doccano")
    assert report.problems == []
    assert report.rows[0]["entities"] == [
        {"type": "organization", "text": "Apple", "start": 0, "end": 5},
        {"type": "person", "text": "Tim Cook", "start": 12, "end": 20},
    ]
    assert report.rows[1]["entities"] == []  # annotated, nothing found: gold says "none"


def test_text_classification_export_gives_labels(schema_file, jsonl):
    records = [
        {"id": 1, "text": "The match ended 2-1.", "label": ["sports"]},
        {"id": 2, "text": "Shares fell.", "cats": ["business"]},  # intent-detection key
    ]
    report = import_annotations(jsonl(records), schema_file(TOPIC_SCHEMA), "doccano")
    assert report.problems == []
    assert [row["labels"] for row in report.rows] == [
        [{"label": "sports"}],
        [{"label": "business"}],
    ]


def test_multi_label_classification_takes_several_labels_or_none(schema_file, jsonl):
    records = [
        {"id": 1, "text": "A club's shares rose.", "label": ["sports", "business"]},
        {"id": 2, "text": "Weather today.", "label": []},
    ]
    report = import_annotations(jsonl(records), schema_file(TAGS_SCHEMA), "doccano")
    assert report.problems == []
    assert report.rows[0]["labels"] == [{"label": "sports"}, {"label": "business"}]
    assert report.rows[1]["labels"] == []


def test_edge_whitespace_is_trimmed_and_duplicate_spans_kept_once(schema_file, jsonl):
    record = {
        "id": 1,
        "text": "Meet Tim Cook today.",
        "label": [[4, 14, "person"], [5, 13, "person"]],  # " Tim Cook " and "Tim Cook"
    }
    report = import_annotations(jsonl([record]), schema_file(NER_SCHEMA), "doccano")
    assert report.rows[0]["entities"] == [
        {"type": "person", "text": "Tim Cook", "start": 5, "end": 13}
    ]
    assert report.notes["spans trimmed of whitespace at their edges"] == 1
    assert report.notes["duplicate spans (kept once)"] == 1


def test_a_bad_record_is_left_out_with_its_line_and_the_good_ones_imported(schema_file, jsonl):
    bad = {"id": 2, "text": "Short.", "label": [[0, 40, "person"]]}
    path = jsonl([RELATION_RECORD, bad])
    report = import_annotations(path, schema_file(NER_SCHEMA), "doccano")
    assert [row["id"] for row in report.rows] == ["41"]
    assert _only_problem(report) == (
        f"{path}: line 2: field 'label[0]': offsets [0, 40) are outside the text (6 characters)"
    )


@pytest.mark.parametrize(
    ("record", "schema", "expected"),
    [
        pytest.param(
            {"id": 1, "text": TEXT, "entities": [{**ENTITIES[0], "start_offset": "0"}]},
            NER_SCHEMA,
            "field 'entities[0].start_offset': expected a character offset (an integer), got '0'",
            id="offset-not-an-integer",
        ),
        pytest.param(
            {"id": 1, "text": TEXT, "entities": [{**ENTITIES[0], "end_offset": 0}]},
            NER_SCHEMA,
            "field 'entities[0]': an empty span: start 0, end 0",
            id="empty-span",
        ),
        pytest.param(
            {"id": 1, "text": TEXT, "entities": [{**ENTITIES[0], "label": "animal"}]},
            NER_SCHEMA,
            "field 'entities[0]': 'animal' is not an entity type of schema 'people' "
            "(expected one of person, organization, location)",
            id="label-not-in-schema",
        ),
        pytest.param(
            {
                "id": 1,
                "text": TEXT,
                "entities": ENTITIES,
                "relations": [{"id": 7, "from_id": 1, "to_id": 99, "type": "works_for"}],
            },
            RE_SCHEMA,
            "field 'relations[0]': to_id '99': no entity with that id in this record",
            id="relation-to-a-missing-entity",
        ),
        pytest.param(
            {
                "id": 1,
                "text": TEXT,
                "entities": ENTITIES,
                "relations": [{"id": 7, "from_id": 2, "to_id": 1, "type": "works_for"}],
            },
            RE_SCHEMA,
            "field 'relations[0]': relation 'works_for' takes a subject of type person, but "
            "entity '2' is a 'organization'",
            id="relation-subject-of-the-wrong-type",
        ),
        pytest.param(
            {
                "id": 1,
                "text": TEXT,
                "entities": ENTITIES,
                "relations": [{"id": 7, "from_id": 1, "to_id": 2, "type": "ceo_of"}],
            },
            RE_SCHEMA,
            "field 'relations[0]': 'ceo_of' is not a relation of schema 'jobs' "
            "(expected one of works_for, located_in)",
            id="relation-not-in-schema",
        ),
        pytest.param(
            {
                "id": 1,
                "text": TEXT,
                "entities": ENTITIES,
                "relations": [{"id": 7, "to_id": 2, "type": "works_for"}],
            },
            RE_SCHEMA,
            "field 'relations[0].from_id': missing",
            id="relation-without-its-subject",
        ),
        pytest.param(
            {"id": 1, "text": TEXT, "label": [[0, 8, "person"]]},
            RE_SCHEMA,
            "the record holds no links, which a re schema needs: export a sequence-labelling "
            "project with relations",
            id="sequence-labelling-export-for-relations",
        ),
        pytest.param(
            {"id": 1, "text": TEXT, "label": [[0, 8, "sports"]]},
            TOPIC_SCHEMA,
            "field 'label[0]': [0, 8, 'sports'] is a span [start, end, tag], not a class",
            id="sequence-labelling-export-for-classification",
        ),
        pytest.param(
            {"id": 1, "text": TEXT, "label": ["sports", "world"]},
            TOPIC_SCHEMA,
            "field 'label[1]': 2 classes (sports, world) for single-label schema 'topics'",
            id="two-classes-single-label",
        ),
        pytest.param(
            {"id": 1, "text": TEXT, "label": []},
            TOPIC_SCHEMA,
            "field 'label': no class for single-label schema 'topics', which needs one; was the "
            "text annotated?",
            id="no-class-single-label",
        ),
        pytest.param(
            {"id": 1, "text": TEXT, "label": ["weather"]},
            TOPIC_SCHEMA,
            "field 'label[0]': 'weather' is not a class of schema 'topics'",
            id="class-not-in-schema",
        ),
        pytest.param(
            {"id": 1, "label": []},
            NER_SCHEMA,
            "field 'text': expected the text (a string), got None",
            id="no-text",
        ),
        pytest.param("{not json", NER_SCHEMA, "line 1: not valid JSON", id="not-json"),
        pytest.param(
            "[1, 2]", NER_SCHEMA, "line 1: expected a JSON object, got list", id="not-an-object"
        ),
    ],
)
def test_bad_annotation_names_file_line_and_field(schema_file, jsonl, record, schema, expected):
    path = jsonl([record])
    report = import_annotations(path, schema_file(schema), "doccano")
    assert report.rows == []
    problem = _only_problem(report)
    assert problem.startswith(f"{path}: line 1"), problem
    assert expected in problem


EVENT_TEXT = "2月8日发生了5.8级地震。"


@pytest.mark.parametrize(
    ("entities", "relations", "expected"),
    [
        pytest.param(
            [{"id": 1, "label": "火灾触发词", "start_offset": 11, "end_offset": 13}],
            [],
            "field 'entities[0]': '火灾触发词' is labelled as a trigger of an event type schema "
            "'quakes' does not have",
            id="trigger-of-an-unknown-event-type",
        ),
        pytest.param(
            [
                {"id": 1, "label": "地震", "start_offset": 11, "end_offset": 13},
                {"id": 2, "label": "时间", "start_offset": 0, "end_offset": 4},
            ],
            [{"id": 1, "from_id": 2, "to_id": 1, "type": "时间"}],
            "field 'relations[0]': it starts at entity '2' ('时间'), which is no trigger",
            id="role-link-from-a-non-trigger",
        ),
        pytest.param(
            [
                {"id": 1, "label": "地震", "start_offset": 11, "end_offset": 13},
                {"id": 2, "label": "时间", "start_offset": 0, "end_offset": 4},
            ],
            [{"id": 1, "from_id": 1, "to_id": 2, "type": "冠军"}],
            "field 'relations[0]': '冠军' is not a role of event type '地震' (expected one of "
            "时间, 震级)",
            id="role-not-of-the-event-type",
        ),
    ],
)
def test_bad_event_annotation_names_the_field(schema_file, jsonl, entities, relations, expected):
    path = jsonl([{"id": 5, "text": EVENT_TEXT, "entities": entities, "relations": relations}])
    report = import_annotations(path, schema_file(EE_SCHEMA), "doccano")
    problem = _only_problem(report)
    assert problem.startswith(f"{path}: line 1"), problem
    assert expected in problem


def test_a_second_record_with_the_same_id_is_a_problem(schema_file, jsonl):
    record = {"id": 3, "text": "Apple.", "label": [[0, 5, "organization"]]}
    path = jsonl([record, record])
    report = import_annotations(path, schema_file(NER_SCHEMA), "doccano")
    assert len(report.rows) == 1
    assert _only_problem(report) == f"{path}: line 2: field 'id': '3' is also the id of line 1"


def test_an_unreadable_file_raises_naming_it(schema_file, tmp_path):
    missing = tmp_path / "absent.jsonl"
    with pytest.raises(AnnotationError, match="absent.jsonl: cannot be read"):
        import_annotations(missing, schema_file(NER_SCHEMA), "doccano")
