"""What the encoder-classifier tests train: the packaged MiniLM, a few steps, on hand-written rows.

Two folders, trained once per test session (tests/conftest.py): a multi-class one for the shipped
`topic_en` schema, and a multi-label one for `TAGS_YAML`. A few steps teach the model next to
nothing; the tests check what must hold for any trained model (the folder loads, every text gets
labels of its schema, the job routes to it), never how accurate it is.
"""

from __future__ import annotations

from pathlib import Path

from ie_batch.customize.classifier_data import labelled_texts
from ie_batch.customize.encoder_training import (
    ClassifierTrainingRecord,
    EncoderTrainingOptions,
    train_encoder_classifier,
)
from ie_batch.schema import load_schema
from ie_batch.schema.catalog import resolve_schema

TOPIC_ROWS = [
    ("t1", "The striker scored twice in the cup final on Sunday.", "sports"),
    ("t2", "Shares fell after the central bank raised interest rates.", "business"),
    ("t3", "The new phone chip runs machine learning models offline.", "sci_tech"),
    ("t4", "Leaders met in Geneva to talk about the ceasefire.", "world"),
    ("t5", "The team won the league title with a late goal.", "sports"),
    ("t6", "The company reported record profits for the quarter.", "business"),
    ("t7", "Astronomers found traces of water on a distant planet.", "sci_tech"),
    ("t8", "The president visited troops stationed at the border.", "world"),
    ("t9", "The tennis champion lost in the first round.", "sports"),
    ("t10", "Oil prices climbed as supply fell short of demand.", "business"),
    ("t11", "Engineers tested a faster chip for data centres.", "sci_tech"),
    ("t12", "The ministers signed a trade treaty in Brussels.", "world"),
]

TAGS_YAML = """\
name: news_tags
task: classification
multi_label: true
labels: [sports, money, science]
"""

TAG_ROWS = [
    ("g1", "The club sold its stadium for a record sum of money.", ["sports", "money"]),
    ("g2", "A study of athletes' hearts was published by scientists.", ["sports", "science"]),
    ("g3", "Investors poured money into a quantum computing lab.", ["money", "science"]),
    ("g4", "The marathon was run in heavy rain.", ["sports"]),
    ("g5", "The bank cut its fees for savers.", ["money"]),
    ("g6", "Physicists measured the mass of a particle.", ["science"]),
    ("g7", "The weather was mild all week.", []),
    ("g8", "Prize money for the cup final doubled.", ["sports", "money"]),
]

#: A few steps, short texts: seconds on two cores.
OPTIONS = EncoderTrainingOptions(epochs=2, batch_size=4, max_length=32, learning_rate=1e-4)


def topic_texts():
    schema = resolve_schema("topic_en")
    rows = [(f"topics.jsonl:{i}", {"id": i, "text": t, "label": g}) for i, t, g in TOPIC_ROWS]
    return schema, labelled_texts(rows, schema)


def tag_texts(folder: Path):
    path = folder / "news_tags.yaml"
    path.write_text(TAGS_YAML, encoding="utf-8")
    schema = load_schema(path)
    rows = [(f"tags.jsonl:{i}", {"id": i, "text": t, "labels": g}) for i, t, g in TAG_ROWS]
    return schema, labelled_texts(rows, schema)


def train_topics(output: Path) -> ClassifierTrainingRecord:
    """topic_en: 8 training rows, 4 dev rows (the last of each class)."""
    schema, texts = topic_texts()
    return train_encoder_classifier(texts[:8], texts[8:], schema, output, options=OPTIONS)


def train_tags(output: Path) -> ClassifierTrainingRecord:
    """news_tags (multi-label): 5 training rows, 3 dev rows."""
    schema, texts = tag_texts(output.parent)
    return train_encoder_classifier(texts[:5], texts[5:], schema, output, options=OPTIONS)
