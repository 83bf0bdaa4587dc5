"""Negative labels: hard ones (confusable with the gold) before random ones, slices filled to the
job's size, a dictionary checked against the schema."""

from __future__ import annotations

import json

import pytest

from ie_batch.customize.negatives import (
    HardNegativesError,
    NegativeSampler,
    load_hard_negatives,
    merged,
)
from ie_batch.schema import schema_from_data

LABELS = [f"l{i}" for i in range(10)]
SCHEMA = schema_from_data({"task": "ner", "name": "many", "entities": LABELS})


def test_hard_negatives_come_before_random_ones_and_fill_the_gold_slice():
    sampler = NegativeSampler(hard={"l0": ["l7", "l8"], "l1": ["l9"]}, negative_slices=0)
    # two gold labels in slices of four: two negatives fill their slice, the hard ones first
    assert sampler.labels_for("doc", LABELS, {"l0", "l1"}, slice_size=4) == ["l0", "l1", "l7", "l9"]


def test_each_gold_labels_first_confusion_is_taken_before_any_second():
    sampler = NegativeSampler(hard={"l0": ["l7", "l8"], "l1": ["l9", "l5"]}, negative_slices=0)
    ranked = sampler.ranked_negatives("doc", LABELS, ["l0", "l1"])
    assert ranked[:4] == ["l7", "l9", "l8", "l5"]
    assert sorted(ranked[4:]) == ["l2", "l3", "l4", "l6"]


def test_a_negative_slice_is_added_and_a_document_without_gold_gets_one():
    sampler = NegativeSampler(hard={"l0": ["l3"]}, negative_slices=1)
    one_by_one = sampler.labels_for("doc", LABELS, {"l0"}, slice_size=1)
    assert one_by_one == ["l0", "l3"]  # one gold slice, one slice of its hardest negative
    nothing = sampler.labels_for("doc", LABELS, set(), slice_size=3)
    assert len(nothing) == 3 and set(nothing) <= set(LABELS)  # one slice, all negatives


def test_random_negatives_are_seeded_by_the_seed_and_the_document():
    first = NegativeSampler(negative_slices=3, seed=1)
    same = [first.labels_for("doc-1", LABELS, {"l0"}, 1) for _ in range(3)]
    assert same[0] == same[1] == same[2]
    others = {
        tuple(NegativeSampler(negative_slices=3, seed=s).labels_for(d, LABELS, {"l0"}, 1))
        for s in (1, 2)
        for d in ("doc-1", "doc-2", "doc-3")
    }
    assert len(others) > 1


def test_no_negative_slices_setting_asks_every_label():
    assert NegativeSampler(negative_slices=None).labels_for("d", LABELS, {"l0"}, 2) is None


def test_merged_dictionaries_keep_the_first_sources_order():
    assert merged({"a": ["b"]}, {"a": ["c", "b"], "d": ["a"]}, None) == {
        "a": ["b", "c"],
        "d": ["a"],
    }


def test_a_dictionary_file_loads_and_drops_a_label_confused_with_itself(tmp_path):
    path = tmp_path / "hard.json"
    path.write_text(json.dumps({"l0": ["l1", "l0", "l1"]}), encoding="utf-8")
    assert load_hard_negatives(path, SCHEMA) == {"l0": ["l1"]}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param({"lx": ["l1"]}, "key 'lx': not a label of schema 'many'", id="unknown-key"),
        pytest.param(
            {"l0": ["l1", "ly"]},
            "key 'l0'[1]: 'ly' is not a label of schema 'many'",
            id="unknown-confusable",
        ),
        pytest.param({"l0": "l1"}, "key 'l0': expected a list of labels", id="not-a-list"),
        pytest.param(["l0"], "expected a JSON object {label: [labels]}", id="not-an-object"),
    ],
)
def test_a_bad_dictionary_names_the_file_and_the_key(tmp_path, content, message):
    path = tmp_path / "hard.json"
    path.write_text(json.dumps(content), encoding="utf-8")
    with pytest.raises(HardNegativesError) as caught:
        load_hard_negatives(path, SCHEMA)
    assert str(caught.value).startswith(f"{path}: ")
    assert message in str(caught.value)
