import pytest

from ie_batch.schema import (
    ClassificationSchema,
    NerSchema,
    entity_type_slice,
    final_round_slice,
    rotate,
    split_labels,
)


@pytest.mark.parametrize(
    ("count", "split_num", "sizes"),
    [
        (13, 6, [6, 7]),  # IEPile: a remainder of 1 < 6 // 2 joins the last slice
        (15, 6, [6, 6, 3]),  # 3 == 6 // 2 stays on its own
        (12, 6, [6, 6]),
        (5, 6, [5]),
        (9, 4, [4, 5]),
        (10, 4, [4, 4, 2]),
        (3, 1, [1, 1, 1]),
    ],
)
def test_split_labels_follows_iepile_remainder_rule(count, split_num, sizes):
    chunks = split_labels(list(range(count)), split_num)
    assert [len(chunk) for chunk in chunks] == sizes
    assert [x for chunk in chunks for x in chunk] == list(range(count))


def test_split_labels_rejects_a_zero_split():
    with pytest.raises(ValueError):
        split_labels([1, 2], 0)


def _ner(count: int, **kwargs) -> NerSchema:
    return NerSchema(name="t", entities=[f"type{i:02d}" for i in range(count)], **kwargs)


def test_sorted_rotation_covers_every_label_once():
    schema = NerSchema(name="t", entities=["b", "a", "d", "c"], split_num=2)
    slices = rotate(schema)
    assert [s.label_names for s in slices] == [["a", "b"], ["c", "d"]]
    assert [s.key for s in slices] == ["t[1/2]", "t[2/2]"]


def test_given_order_keeps_the_schema_order():
    schema = NerSchema(entities=["b", "a", "d", "c"], split_num=2)
    assert [s.label_names for s in rotate(schema, order="given")] == [["b", "a"], ["d", "c"]]


def test_shuffled_rotation_is_reproducible_per_document_and_differs_across_documents():
    schema = _ner(13)
    first = [s.label_names for s in rotate(schema, doc_id="doc-1", order="shuffled")]
    again = [s.label_names for s in rotate(schema, doc_id="doc-1", order="shuffled")]
    orders = {
        tuple(n for s in rotate(schema, doc_id=f"doc-{i}", order="shuffled") for n in s.label_names)
        for i in range(10)
    }
    assert first == again
    assert len(orders) > 1
    assert sorted(n for names in first for n in names) == schema.label_names


def test_shuffled_rotation_needs_a_document_id():
    with pytest.raises(ValueError, match="document id"):
        rotate(_ner(3), order="shuffled")


def test_large_classification_label_set_rotates_and_gets_a_final_round():
    labels = [f"topic{i:03d}" for i in range(120)]
    schema = ClassificationSchema(name="topics", labels=labels)
    slices = rotate(schema)
    assert len(slices) == 12
    run_off = final_round_slice(schema, ["topic007", "topic055", "topic007"])
    assert run_off is not None and run_off.final_round
    assert run_off.label_names == ["topic007", "topic055"]
    assert run_off.key == "topics[final]"


def test_no_final_round_for_a_single_winner():
    schema = ClassificationSchema(labels=["a", "b", "c"])
    assert final_round_slice(schema, ["a"]) is None
    assert final_round_slice(schema, []) is None


def test_a_schema_split_num_beats_the_one_a_format_asks_for():
    ner = NerSchema(name="ner", entities=["a", "b", "c"])
    assert [s.label_names for s in rotate(ner, split_num=1)] == [["a"], ["b"], ["c"]]
    assert len(rotate(ner)) == 1  # IEPile's default, 6
    pinned = NerSchema(name="ner", entities=["a", "b", "c"], split_num=3)
    assert len(rotate(pinned, split_num=1)) == 1


def test_entity_type_slice_holds_the_known_candidates_once_or_is_not_needed():
    ner = NerSchema(name="ner", entities=["location", "organization", "person"])
    slice_ = entity_type_slice(ner, "Essex", ["person", "location", "person", "misc"])
    assert slice_.label_names == ["person", "location"]
    assert slice_.final_round and slice_.span == "Essex"
    assert slice_.key == "ner[final 'Essex']"
    assert entity_type_slice(ner, "Essex", ["person", "person"]) is None


def test_a_class_left_over_joins_the_slice_before():
    from ie_batch.schema import ClassificationSchema

    four = ClassificationSchema(name="c", labels=list("abcd"), split_num=3)
    assert [s.label_names for s in rotate(four)] == [["a", "b", "c", "d"]]
    ten = ClassificationSchema(name="c", labels=list("abcdefghij"), split_num=3)
    assert [len(s.labels) for s in rotate(ten)] == [3, 3, 4]
    one_each = ClassificationSchema(name="c", labels=list("ab"), split_num=1)
    assert [s.label_names for s in rotate(one_each)] == [["a"], ["b"]]
