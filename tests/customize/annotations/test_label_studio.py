"""Label Studio's JSON export (labelled regions, relations, choices) as gold rows, which annotation
of a task counts, and bad annotations as errors naming the file, the task and the field."""

from __future__ import annotations

import pytest

from ie_batch.customize.annotations import AnnotationError, import_annotations
from tests.customize.annotations.conftest import NER_SCHEMA, RE_SCHEMA, TOPIC_SCHEMA

TEXT = "Tim Cook works for Apple."


def _region(region_id: str, start: int, end: int, label: str, text: str | None = None) -> dict:
    value = {"start": start, "end": end, "labels": [label]}
    value["text"] = TEXT[start:end] if text is None else text
    return {
        "id": region_id,
        "from_name": "label",
        "to_name": "text",
        "type": "labels",
        "value": value,
    }


def _relation(source: str, target: str, labels: list[str], direction: str = "right") -> dict:
    return {
        "from_id": source,
        "to_id": target,
        "type": "relation",
        "direction": direction,
        "labels": labels,
    }


def _task(results: list, task_id: int = 1, **annotation) -> dict:
    return {
        "id": task_id,
        "data": {"text": TEXT},
        "annotations": [{"id": 100 + task_id, "result": results, **annotation}],
    }


REGIONS = [_region("a", 0, 8, "person"), _region("b", 19, 24, "organization")]


def _only_problem(report) -> str:
    assert len(report.problems) == 1, [str(p) for p in report.problems]
    return str(report.problems[0])


def test_labelled_regions_become_entities(schema_file, json_file):
    report = import_annotations(
        json_file([_task(REGIONS)]), schema_file(NER_SCHEMA), "label-studio"
    )
    assert report.problems == []
    assert report.rows == [
        {
            "id": "1",
            "text": TEXT,
            "entities": [
                {"type": "person", "text": "Tim Cook", "start": 0, "end": 8},
                {"type": "organization", "text": "Apple", "start": 19, "end": 24},
            ],
        }
    ]


@pytest.mark.parametrize(
    ("relation", "subject", "object_"),
    [
        pytest.param(_relation("a", "b", ["works_for"]), "Tim Cook", "Apple", id="right"),
        pytest.param(_relation("b", "a", ["works_for"], "left"), "Tim Cook", "Apple", id="left"),
    ],
)
def test_a_relation_runs_the_way_it_was_drawn(schema_file, json_file, relation, subject, object_):
    path = json_file([_task([*REGIONS, relation])])
    report = import_annotations(path, schema_file(RE_SCHEMA), "label-studio")
    assert report.problems == []
    (row,) = report.rows
    assert [(r["subject"], r["relation"], r["object"]) for r in row["relations"]] == [
        (subject, "works_for", object_)
    ]
    assert row["relations"][0]["subject_start"] == 0


def test_text_level_choices_become_labels_and_region_choices_are_counted(schema_file, json_file):
    results = [
        _region("a", 0, 8, "person"),
        {"id": "a", "type": "choices", "value": {"choices": ["world"]}},  # about region "a"
        {"id": "doc", "type": "choices", "value": {"choices": ["business"]}},
        {"id": "note", "type": "textarea", "value": {"text": ["check"]}},
    ]
    report = import_annotations(
        json_file([_task(results)]), schema_file(TOPIC_SCHEMA), "label-studio"
    )
    assert report.problems == []
    assert report.rows[0]["labels"] == [{"label": "business"}]
    assert report.notes["choices of a region, not of the text (not read)"] == 1
    assert report.notes["result items of type 'textarea' (not read)"] == 1


def test_the_ground_truth_annotation_counts_else_the_latest_never_a_cancelled_one(
    schema_file, json_file
):
    person = [_region("a", 0, 8, "person")]
    organization = [_region("b", 19, 24, "organization")]
    tasks = [
        {
            "id": 1,
            "data": {"text": TEXT},
            "annotations": [
                {"id": 1, "result": person, "ground_truth": True, "updated_at": "2024-01-01"},
                {"id": 2, "result": organization, "updated_at": "2025-01-01"},
            ],
        },
        {
            "id": 2,
            "data": {"text": TEXT},
            "annotations": [
                {"id": 3, "result": person, "updated_at": "2024-01-01"},
                {"id": 4, "result": organization, "updated_at": "2025-01-01"},
                {"id": 5, "result": [], "was_cancelled": True, "updated_at": "2026-01-01"},
            ],
        },
        {"id": 3, "data": {"text": TEXT}, "annotations": []},
        {"id": 4, "data": {"text": TEXT}, "annotations": [{"result": [], "was_cancelled": True}]},
    ]
    report = import_annotations(json_file(tasks), schema_file(NER_SCHEMA), "label-studio")
    assert report.problems == []
    assert [(row["id"], [e["type"] for e in row["entities"]]) for row in report.rows] == [
        ("1", ["person"]),
        ("2", ["organization"]),
    ]
    assert report.notes["tasks without an annotation (not imported)"] == 2
    assert (
        report.notes["tasks with several annotations (the ground-truth one, else the latest, used)"]
        == 2
    )


def test_the_text_may_sit_under_another_data_key(schema_file, json_file):
    task = {"id": 9, "data": {"sentence": TEXT}, "annotations": [{"result": REGIONS}]}
    report = import_annotations(
        json_file([task]), schema_file(NER_SCHEMA), "label-studio", text_key="sentence"
    )
    assert len(report.rows[0]["entities"]) == 2


@pytest.mark.parametrize(
    ("results", "schema", "expected"),
    [
        pytest.param(
            [_region("a", 0, 8, "person", text="Tim Coo")],
            NER_SCHEMA,
            "field 'annotations[0].result[0].value.text': 'Tim Coo', but the offsets [0, 8) "
            "hold 'Tim Cook'",
            id="span-text-disagrees-with-offsets",
        ),
        pytest.param(
            [_region("a", 20, 30, "organization", text="pple.")],
            NER_SCHEMA,
            "field 'annotations[0].result[0]': offsets [20, 30) are outside the text (25 characters)",
            id="offsets-outside-the-text",
        ),
        pytest.param(
            [_region("a", 0, 8, "animal")],
            NER_SCHEMA,
            "field 'annotations[0].result[0]': 'animal' is not an entity type of schema 'people'",
            id="label-not-in-schema",
        ),
        pytest.param(
            [*REGIONS, _relation("a", "zz", ["works_for"])],
            RE_SCHEMA,
            "field 'annotations[0].result[2]': to_id 'zz': no entity with that id in this record",
            id="relation-to-a-missing-region",
        ),
        pytest.param(
            [*REGIONS, _relation("a", "b", ["works_for"], "bi")],
            RE_SCHEMA,
            "field 'annotations[0].result[2].direction': 'bi' does not say which end is the subject",
            id="bidirectional-relation",
        ),
        pytest.param(
            [*REGIONS, _relation("a", "b", [])],
            RE_SCHEMA,
            "field 'annotations[0].result[2].labels': a relation without a label",
            id="relation-without-a-label",
        ),
        pytest.param(
            [*REGIONS, _relation("b", "a", ["works_for"])],
            RE_SCHEMA,
            "field 'annotations[0].result[2]': relation 'works_for' takes a subject of type "
            "person, but entity 'b' is a 'organization'",
            id="relation-subject-of-the-wrong-type",
        ),
        pytest.param(
            [{"id": "doc", "type": "choices", "value": {"choices": ["weather"]}}],
            TOPIC_SCHEMA,
            "field 'annotations[0].result[0].value.choices': 'weather' is not a class",
            id="class-not-in-schema",
        ),
    ],
)
def test_bad_annotation_names_file_task_and_field(
    schema_file, json_file, results, schema, expected
):
    good = [
        _region("ok", 0, 3, "person"),
        {"id": "d", "type": "choices", "value": {"choices": ["world"]}},
    ]
    path = json_file([_task(good), _task(results, task_id=7)])
    report = import_annotations(path, schema_file(schema), "label-studio")
    problem = _only_problem(report)
    assert problem.startswith(f"{path}: task 2 (id 7): "), problem
    assert expected in problem


def test_a_task_without_its_text_names_the_data_field(schema_file, json_file):
    path = json_file([{"id": 1, "data": {"body": TEXT}, "annotations": [{"result": REGIONS}]}])
    report = import_annotations(path, schema_file(NER_SCHEMA), "label-studio")
    assert _only_problem(report) == (
        f"{path}: task 1 (id 1): field 'data.text': expected the text (a string), got None"
    )


def test_a_file_that_is_no_json_export_raises_naming_it(schema_file, tmp_path):
    path = tmp_path / "export.json"
    path.write_text("id,text\n1,hello\n", encoding="utf-8")
    with pytest.raises(AnnotationError, match=r"export\.json: not a JSON export"):
        import_annotations(path, schema_file(NER_SCHEMA), "label-studio")


def test_text_choices_without_an_id_are_not_taken_for_a_regions(schema_file, json_file):
    region = {"type": "labels", "value": {"start": 0, "end": 8, "labels": ["person"]}}
    choice = {"type": "choices", "value": {"choices": ["sports"]}}
    report = import_annotations(
        json_file([_task([region, choice])]), schema_file(TOPIC_SCHEMA), "label-studio"
    )
    assert report.rows[0]["labels"] == [{"label": "sports"}]
