"""The folder `ie-batch train-classifier` writes, and the card that says how to read its outputs.

    <dir>/config.json, model.safetensors   the encoder with its classification head
    <dir>/tokenizer.json, ...               its tokenizer
    <dir>/schema.yaml                       the schema it was trained for (a job can name it)
    <dir>/ie_batch_classifier.json          this card: classes in output order, threshold, ...
    <dir>/training_record.json              the training record (data hash, steps, dev figures)

The card is plain JSON read without torch, so the driver checks a job's classifiers before Ray
starts, and the rule that turns probabilities into labels lives here, once, for both the dev
figures of training and the predictions of a job: they cannot disagree.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ie_batch.results import LabelScore
from ie_batch.schema import ClassificationSchema

CARD_NAME = "ie_batch_classifier.json"
SCHEMA_NAME = "schema.yaml"
RECORD_NAME = "training_record.json"
#: Bumped when the folder's layout changes in a way older readers would misread.
CARD_FORMAT = 1


class ClassifierDirError(ValueError):
    """A classifier folder that cannot be used; names the folder, the file and the field."""


class ClassifierCard(BaseModel):
    """How the encoder's outputs map to a schema's labels."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    format: int = Field(default=CARD_FORMAT, description="The folder layout's version.")
    schema_name: str = Field(min_length=1, description="The classification schema it predicts.")
    multi_label: bool = Field(description="Sigmoid per label (True) or softmax over labels.")
    classes: tuple[str, ...] = Field(
        min_length=2, description="The label of each output of the head, in order."
    )
    none_label: str | None = Field(
        default=None,
        description="A class that stands for 'no label fits' (multi-class gold may use the "
        "schema's none label): predicting it gives no label, as the LLM's 'none' answer does.",
    )
    threshold: float = Field(
        default=0.5, gt=0, lt=1, description="Multi-label: the probability a label needs."
    )
    max_length: int = Field(ge=8, description="Tokens of a text's head the encoder reads.")
    encoder: str = Field(description="The encoder it was fine-tuned from.")

    @model_validator(mode="after")
    def _consistent(self) -> ClassifierCard:
        if len(set(self.classes)) != len(self.classes):
            raise ValueError("classes: a label appears twice")
        if self.none_label is not None and self.none_label not in self.classes:
            raise ValueError(f"none_label: {self.none_label!r} is not one of the classes")
        if self.none_label is not None and self.multi_label:
            raise ValueError("none_label: a multi-label classifier gives no label by itself")
        return self

    @property
    def labels(self) -> tuple[str, ...]:
        """The schema's labels it can give (every class but the none class)."""
        return tuple(name for name in self.classes if name != self.none_label)

    def labels_for(self, probabilities: Sequence[float]) -> list[LabelScore]:
        """One text's labels from the probabilities of its classes (in `classes` order)."""
        if len(probabilities) != len(self.classes):
            raise ValueError(
                f"expected {len(self.classes)} class probabilities, got {len(probabilities)}"
            )
        if self.multi_label:
            return [
                LabelScore(label=name, score=float(p))
                for name, p in zip(self.classes, probabilities, strict=True)
                if p >= self.threshold
            ]
        best = max(range(len(probabilities)), key=probabilities.__getitem__)
        if self.classes[best] == self.none_label:
            return []
        return [LabelScore(label=self.classes[best], score=float(probabilities[best]))]

    def mismatch(self, schema: ClassificationSchema) -> str | None:
        """Why this classifier cannot predict `schema` (another mode, other labels), or None."""
        mode = {True: "multi-label", False: "multi-class"}
        if self.multi_label != schema.multi_label:
            return (
                f"is {mode[self.multi_label]}, schema {schema.name!r} is {mode[schema.multi_label]}"
            )
        missing = sorted(set(schema.label_names) - set(self.labels))
        unknown = sorted(set(self.labels) - set(schema.label_names))
        if missing or unknown:
            return (
                f"was trained for other labels than schema {schema.name!r} has (not trained: "
                f"{missing or '-'}; not in the schema: {unknown or '-'})"
            )
        return None

    def write(self, folder: Path) -> Path:
        path = folder / CARD_NAME
        path.write_text(self.model_dump_json(indent=2) + "\n", encoding="utf-8")
        return path


def read_card(folder: str | Path) -> ClassifierCard:
    """The card of a classifier folder; `ClassifierDirError` says what is missing or wrong."""
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise ClassifierDirError(f"{folder}: no such folder")
    path = folder / CARD_NAME
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ClassifierDirError(
            f"{folder}: no {CARD_NAME}; expected a folder written by `ie-batch train-classifier`"
        ) from None
    except (OSError, ValueError) as exc:
        raise ClassifierDirError(f"{path}: cannot be read as JSON ({exc})") from None
    try:
        card = ClassifierCard.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "(top level)"
        raise ClassifierDirError(f"{path}: field '{field}': {first['msg']}") from None
    if card.format > CARD_FORMAT:
        raise ClassifierDirError(
            f"{path}: field 'format': {card.format} is newer than this ie_batch reads "
            f"({CARD_FORMAT}); upgrade ie_batch"
        )
    return card
