"""Fine-tuning the packaged MiniLM for a few steps: the folder it writes, the record, the
multi-label threshold; bad requests refused before any model is loaded."""

import json

import pytest

from ie_batch.classifiers import ClassifierCard, read_card
from ie_batch.classifiers.card import RECORD_NAME, SCHEMA_NAME
from ie_batch.customize.classifier_data import data_digest, labelled_texts
from ie_batch.customize.encoder_training import (
    THRESHOLDS,
    choose_threshold,
    head_classes,
    train_encoder_classifier,
)
from ie_batch.schema import load_schema
from ie_batch.schema.catalog import resolve_schema
from tests.customize.encoders import OPTIONS, tag_texts, topic_texts


def test_the_folder_holds_model_tokenizer_card_schema_and_record(topic_encoder):
    folder, _ = topic_encoder
    names = {path.name for path in folder.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json", SCHEMA_NAME, RECORD_NAME} <= names
    card = read_card(folder)
    assert card.schema_name == "topic_en" and not card.multi_label
    assert card.classes == tuple(resolve_schema("topic_en").label_names)
    assert card.max_length == OPTIONS.max_length and card.encoder == "minilm"
    config = json.loads((folder / "config.json").read_text())
    assert config["id2label"] == {str(i): name for i, name in enumerate(card.classes)}
    assert load_schema(folder / SCHEMA_NAME) == resolve_schema("topic_en")


def test_the_record_says_what_was_trained_on_how_and_how_it_did(topic_encoder):
    folder, record = topic_encoder
    _, texts = topic_texts()
    written = json.loads((folder / RECORD_NAME).read_text())
    assert written == json.loads(json.dumps(record.to_dict()))
    assert record.data["sha256"] == data_digest(texts)
    assert (record.data["train_rows"], record.data["dev_rows"]) == (8, 4)
    assert record.steps == OPTIONS.epochs * 2  # 8 texts in batches of 4
    assert [figures.epoch for figures in record.history] == [1.0, 2.0]
    for figures in record.history:
        assert figures.train_loss > 0 and 0 <= figures.dev_accuracy <= 1
        assert 0 <= figures.dev_macro_f1 <= 1
    assert record.dev["rows"] == 4 and 0 <= record.dev["accuracy"] <= 1
    assert record.wall_seconds > 0 and record.hyperparameters["epochs"] == OPTIONS.epochs


def test_a_multi_label_folder_keeps_the_threshold_chosen_on_dev(tag_encoder):
    folder, record = tag_encoder
    card = read_card(folder)
    assert card.multi_label and card.classes == ("sports", "money", "science")
    assert card.threshold == record.dev["threshold"] and card.threshold in THRESHOLDS
    assert {"accuracy", "macro_f1"} <= set(record.dev)


def test_the_threshold_is_the_best_on_dev_and_of_equals_the_nearest_to_a_half(tmp_path):
    schema, _ = tag_texts(tmp_path)
    dev = labelled_texts(
        [("d:1", {"text": "x", "labels": ["sports"]}), ("d:2", {"text": "y", "labels": []})],
        schema,
    )
    card = _tag_card(schema)
    # sports: 0.7 on the text that has it, 0.55 on the one that does not -> (0.55, 0.7] is right
    probabilities = [[0.7, 0.1, 0.1], [0.55, 0.1, 0.1]]
    assert choose_threshold(card, probabilities, dev) == 0.6


def _tag_card(schema):
    return ClassifierCard(
        schema_name=schema.name,
        multi_label=True,
        classes=tuple(schema.label_names),
        max_length=32,
        encoder="minilm",
    )


def test_a_multi_class_none_label_in_gold_becomes_a_class_of_the_head():
    schema = resolve_schema("topic_en")
    texts = labelled_texts([("f:1", {"text": "x", "label": "none"})], schema)
    assert head_classes(schema, texts) == ((*schema.label_names, "none"), "none")
    assert head_classes(schema, topic_texts()[1]) == (tuple(schema.label_names), None)


def test_an_existing_folder_with_files_is_never_overwritten(tmp_path):
    schema, texts = topic_texts()
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="not an empty folder"):
        train_encoder_classifier(texts, [], schema, tmp_path / "out", options=OPTIONS)
    with pytest.raises(ValueError, match="no training texts"):
        train_encoder_classifier([], texts, schema, tmp_path / "new", options=OPTIONS)
    assert not (tmp_path / "new").exists()
