import pytest
from pydantic import ValidationError

from ie_batch.schema import (
    ClassificationSchema,
    EeSchema,
    NerSchema,
    ReSchema,
    TaskKind,
)


def test_ner_entities_accept_a_list_or_a_mapping_with_descriptions():
    plain = NerSchema(entities=["person", "location"])
    described = NerSchema(entities={"person": "names of people", "location": None})
    assert plain.label_names == ["person", "location"]
    assert described.entities[0].description == "names of people"
    assert described.entities[1].description is None


def test_default_split_num_follows_iepile_per_task():
    assert NerSchema(entities=["a"]).effective_split_num == 6
    assert ReSchema(relations=["r"]).effective_split_num == 4
    assert EeSchema(events={"e": ["role"]}).effective_split_num == 4
    assert NerSchema(entities=["a"], split_num=1).effective_split_num == 1


def test_re_merges_iepile_relations_and_ppuie_subjects():
    schema = ReSchema(
        relations={"founded by": "who founded an organisation"},
        subjects={"company": ["founded by", "headquarters"], "person": ["founded by"]},
    )
    by_name = {r.name: r for r in schema.relations}
    assert by_name["founded by"].description == "who founded an organisation"
    assert by_name["founded by"].subject_types == ("company", "person")
    assert by_name["headquarters"].subject_types == ("company",)
    assert schema.kind is TaskKind.RE


def test_ee_events_keep_their_roles_in_both_spellings():
    listed = EeSchema(events=[{"type": "地震", "arguments": ["时间", "震级"]}])
    mapped = EeSchema(events={"地震": ["时间", "震级"]})
    assert listed.events == mapped.events
    assert listed.events[0].roles == ("时间", "震级")


def test_classification_needs_two_labels_and_knows_its_none_answer():
    with pytest.raises(ValidationError):
        ClassificationSchema(labels=["only"])
    assert ClassificationSchema(labels=["a", "b"]).none_label == "none"
    assert ClassificationSchema(labels=["甲", "乙"], language="zh").none_label == "无"


def test_duplicate_labels_are_rejected():
    with pytest.raises(ValidationError, match="appears twice"):
        NerSchema(entities=["person", "person"])


def test_schemas_are_immutable_so_slices_can_share_them():
    schema = NerSchema(entities=["person"])
    with pytest.raises(ValidationError):
        schema.name = "other"  # type: ignore[misc]
