"""The classifier card: how probabilities become labels, and what a bad folder is told."""

import json

import pytest

from ie_batch.classifiers import CARD_NAME, ClassifierCard, ClassifierDirError, read_card
from ie_batch.results import LabelScore


def _card(**fields):
    values = {
        "schema_name": "topics",
        "multi_label": False,
        "classes": ("sports", "business", "world"),
        "max_length": 64,
        "encoder": "minilm",
    }
    return ClassifierCard(**{**values, **fields})


def test_multi_class_gives_the_most_likely_label_with_its_probability():
    assert _card().labels_for([0.2, 0.7, 0.1]) == [LabelScore("business", 0.7)]


def test_a_predicted_none_class_gives_no_label_as_the_llms_none_answer_does():
    card = _card(classes=("sports", "business", "none"), none_label="none")
    assert card.labels_for([0.1, 0.2, 0.7]) == []
    assert card.labels == ("sports", "business")


def test_multi_label_gives_every_label_at_or_above_the_threshold_possibly_none():
    card = _card(multi_label=True, threshold=0.4)
    assert card.labels_for([0.4, 0.39, 0.9]) == [
        LabelScore("sports", 0.4),
        LabelScore("world", 0.9),
    ]
    assert card.labels_for([0.1, 0.2, 0.3]) == []


def test_probabilities_for_another_number_of_classes_are_refused():
    with pytest.raises(ValueError, match="expected 3 class probabilities, got 2"):
        _card().labels_for([0.5, 0.5])


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"classes": ("a", "a")}, "a label appears twice"),
        ({"none_label": "nothing"}, "'nothing' is not one of the classes"),
        ({"multi_label": True, "classes": ("a", "none"), "none_label": "none"}, "multi-label"),
    ],
)
def test_an_inconsistent_card_is_refused(fields, message):
    with pytest.raises(ValueError, match=message):
        _card(**fields)


def test_a_card_reads_back_as_written(tmp_path):
    card = _card(multi_label=True, threshold=0.35)
    card.write(tmp_path)
    assert read_card(tmp_path) == card


def test_a_missing_folder_or_card_names_what_is_missing(tmp_path):
    with pytest.raises(ClassifierDirError, match="no such folder"):
        read_card(tmp_path / "absent")
    with pytest.raises(ClassifierDirError, match=f"no {CARD_NAME}; expected a folder written by"):
        read_card(tmp_path)


def test_a_bad_card_names_the_file_and_the_field(tmp_path):
    document = _card().model_dump(mode="json")
    (tmp_path / CARD_NAME).write_text(json.dumps({**document, "threshold": 2}), encoding="utf-8")
    with pytest.raises(ClassifierDirError, match=rf"{CARD_NAME}: field 'threshold'"):
        read_card(tmp_path)
    (tmp_path / CARD_NAME).write_text("{not json", encoding="utf-8")
    with pytest.raises(ClassifierDirError, match="cannot be read as JSON"):
        read_card(tmp_path)


def test_a_card_of_a_newer_layout_asks_for_an_upgrade(tmp_path):
    document = {**_card().model_dump(mode="json"), "format": 99}
    (tmp_path / CARD_NAME).write_text(json.dumps(document), encoding="utf-8")
    with pytest.raises(ClassifierDirError, match="upgrade ie_batch"):
        read_card(tmp_path)
