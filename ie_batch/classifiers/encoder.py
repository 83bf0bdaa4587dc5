"""A fine-tuned Hugging Face encoder with a sequence-classification head, as a `Classifier`.

Loads what `ie-batch train-classifier` wrote (any `AutoModelForSequenceClassification`) from its
folder only, never from a model hub, and scores a batch of texts in one forward pass per
`batch_size` texts: softmax over the classes of a multi-class schema, a sigmoid per label of a
multi-label one; the card turns those probabilities into labels. A text longer than the card's
`max_length` tokens is read from its head, as in training.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ie_batch.classifiers.base import Classifier
from ie_batch.classifiers.card import ClassifierCard, read_card
from ie_batch.results import LabelScore

#: Texts per forward pass unless the job says otherwise.
DEFAULT_BATCH_SIZE = 32


def class_probabilities(logits: Any, multi_label: bool) -> Any:
    """A batch's logits as probabilities: a sigmoid per label (multi-label), else a softmax over
    the classes; the one rule for training's dev figures and a job's predictions."""
    logits = logits.float()
    return logits.sigmoid() if multi_label else logits.softmax(dim=-1)


class EncoderClassifier(Classifier):
    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        card: ClassifierCard,
        batch_size: int = DEFAULT_BATCH_SIZE,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        self.model = model
        self.tokenizer = tokenizer
        self.card = card
        self.schema_name = card.schema_name
        self.batch_size = batch_size
        # A fast tokenizer's truncation and padding settings are state of the Rust object:
        # two threads tokenizing at once fail ("Already borrowed"), so batches take turns.
        self._lock = threading.Lock()

    @classmethod
    def load(
        cls, folder: str | Path, batch_size: int = DEFAULT_BATCH_SIZE, num_gpus: float = 0
    ) -> EncoderClassifier:
        """The classifier in `folder`, on a GPU when this place has one (`num_gpus` > 0)."""
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        card = read_card(folder)
        path = str(Path(folder).expanduser())
        tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        model = AutoModelForSequenceClassification.from_pretrained(path, local_files_only=True)
        head = model.config.num_labels
        if head != len(card.classes):
            raise ValueError(
                f"{path}: the model's head has {head} outputs but the card lists "
                f"{len(card.classes)} classes"
            )
        device = "cuda" if num_gpus > 0 and torch.cuda.is_available() else "cpu"
        model.to(device).eval()
        return cls(model, tokenizer, card, batch_size)

    def probabilities(self, texts: Sequence[str]) -> list[list[float]]:
        """Each text's class probabilities, in the card's class order."""
        import torch

        rows: list[list[float]] = []
        with self._lock, torch.inference_mode():
            for start in range(0, len(texts), self.batch_size):
                inputs = self.tokenizer(
                    list(texts[start : start + self.batch_size]),
                    truncation=True,
                    max_length=self.card.max_length,
                    padding=True,
                    return_tensors="pt",
                ).to(self.model.device)
                logits = self.model(**inputs).logits
                rows.extend(class_probabilities(logits, self.card.multi_label).cpu().tolist())
        return rows

    def classify(self, texts: Sequence[str]) -> list[list[LabelScore]]:
        return [self.card.labels_for(p) for p in self.probabilities(texts)]

    def shutdown(self) -> None:
        self.model = None
