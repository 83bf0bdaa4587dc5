"""Fine-tuning an encoder with a classification head for one classification schema (PaddleNLP's
text-classification recipe): `ie-batch train-classifier`.

Any Hugging Face encoder loads as `AutoModelForSequenceClassification` with a new head of one
output per class: softmax and cross-entropy for a multi-class schema, a sigmoid per label and
binary cross-entropy for a multi-label one (transformers' `problem_type`). The loop is
transformers' `Trainer` (AdamW, linear decay after a warm-up, a dev evaluation per epoch); a
text is cut to its first `max_length` tokens, in training as in prediction.

Dev figures are the job's own (accuracy and macro F1 from `ClassificationCounts`), computed from
the trained model through `EncoderClassifier`, the predictor a job runs, so the record says what
a job will see. A multi-label classifier's threshold is the one that gives the best dev macro F1
(0.5 when there is no dev set). The folder is written under a temporary name and renamed when
complete (layout: `ie_batch.classifiers.card`).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field

from ie_batch.classifiers.card import RECORD_NAME, SCHEMA_NAME, ClassifierCard
from ie_batch.customize.classifier_data import LabelledText, data_digest
from ie_batch.customize.default_encoder import DEFAULT_ENCODER, resolve_encoder
from ie_batch.metrics.classification import ClassificationCounts, predicted_labels
from ie_batch.schema import ClassificationSchema

#: Multi-label thresholds tried on dev, 0.05 apart.
THRESHOLDS = tuple(round(0.05 * k, 2) for k in range(1, 20))

Log = Callable[[str], None]


class EncoderTrainingOptions(BaseModel):
    """How the encoder is fine-tuned; the defaults suit a few hundred to a few thousand texts."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    epochs: int = Field(default=3, ge=1, description="Passes over the training texts.")
    learning_rate: float = Field(default=5e-5, gt=0, description="Peak AdamW learning rate.")
    batch_size: int = Field(default=16, ge=1, description="Texts per optimizer step.")
    max_length: int = Field(
        default=128, ge=8, le=8192, description="Tokens of each text's head the encoder reads."
    )
    warmup: float = Field(
        default=0.1, ge=0, lt=1, description="Share of the steps the learning rate warms up."
    )
    weight_decay: float = Field(default=0.01, ge=0, description="AdamW weight decay.")
    seed: int = Field(default=0, description="Seed of the head's initialisation and the order.")


@dataclass(frozen=True)
class EpochFigures:
    epoch: float
    step: int
    train_loss: float | None = None
    dev_loss: float | None = None
    dev_accuracy: float | None = None
    dev_macro_f1: float | None = None


@dataclass
class ClassifierTrainingRecord:
    """training_record.json of a classifier folder."""

    schema: str
    encoder: str  # as given ("minilm", an id or a path)
    encoder_path: str  # what was loaded
    data: dict[str, Any]  # sha256, rows per side, their files, label counts
    hyperparameters: dict[str, Any]
    steps: int
    epochs: int
    wall_seconds: float
    texts_per_second: float  # training texts (all epochs) per second of training
    history: list[EpochFigures] = field(default_factory=list)
    dev: dict[str, Any] = field(default_factory=dict)  # final accuracy, macro F1, threshold
    device: str = "cpu"
    created: str = field(default_factory=lambda: time.strftime("%Y-%m-%dT%H:%M:%S%z"))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def train_encoder_classifier(
    train: Sequence[LabelledText],
    dev: Sequence[LabelledText],
    schema: ClassificationSchema,
    output: str | Path,
    *,
    encoder: str | None = None,
    options: EncoderTrainingOptions | None = None,
    sources: dict[str, str | None] | None = None,
    log: Log = print,
) -> ClassifierTrainingRecord:
    """Fine-tune `encoder` (the packaged MiniLM when None) on `train`, evaluate on `dev` (may be
    empty), and write the classifier folder `output`; `sources` names the files the texts came
    from, for the record."""
    import transformers

    options = options or EncoderTrainingOptions()
    output = Path(output).expanduser()
    if output.exists() and (not output.is_dir() or any(output.iterdir())):
        raise FileExistsError(f"{output}: exists and is not an empty folder; choose another")
    if not train:
        raise ValueError("no training texts (every text fell in dev?)")
    classes, none_class = head_classes(schema, [*train, *dev])
    source = resolve_encoder(encoder)
    local = Path(source).expanduser().is_dir()
    transformers.set_seed(options.seed)
    tokenizer = transformers.AutoTokenizer.from_pretrained(source, local_files_only=local)
    model = transformers.AutoModelForSequenceClassification.from_pretrained(
        source,
        local_files_only=local,
        num_labels=len(classes),
        id2label=dict(enumerate(classes)),
        label2id={name: i for i, name in enumerate(classes)},
        problem_type="multi_label_classification"
        if schema.multi_label
        else "single_label_classification",
    )
    card = ClassifierCard(
        schema_name=schema.name,
        multi_label=schema.multi_label,
        classes=classes,
        none_label=none_class,
        max_length=options.max_length,
        encoder=encoder or DEFAULT_ENCODER,
    )
    encode = _Encoder(tokenizer, card)
    steps_per_epoch = math.ceil(len(train) / options.batch_size)
    scratch = Path(tempfile.mkdtemp(prefix=f".{output.name}.", dir=_parent(output)))
    try:
        arguments = transformers.TrainingArguments(
            output_dir=str(scratch / "trainer"),
            num_train_epochs=options.epochs,
            learning_rate=options.learning_rate,
            per_device_train_batch_size=options.batch_size,
            per_device_eval_batch_size=max(options.batch_size, 32),
            weight_decay=options.weight_decay,
            warmup_steps=math.ceil(options.warmup * steps_per_epoch * options.epochs),
            lr_scheduler_type="linear",
            seed=options.seed,
            eval_strategy="epoch" if dev else "no",
            logging_strategy="epoch",
            save_strategy="no",
            report_to="none",
            disable_tqdm=True,
            dataloader_num_workers=0,
            dataloader_pin_memory=False,
        )
        trainer = transformers.Trainer(
            model=model,
            args=arguments,
            train_dataset=encode.dataset(train),
            eval_dataset=encode.dataset(dev) if dev else None,
            data_collator=transformers.DataCollatorWithPadding(tokenizer),
            compute_metrics=lambda prediction: _dev_metrics(card, prediction),
            callbacks=[_epoch_log(log)],
        )
        trainer.remove_callback(transformers.PrinterCallback)  # raw log dicts; _epoch_log says it
        started = time.perf_counter()
        trainer.train()
        wall = time.perf_counter() - started
        model = trainer.model.eval()
        figures: dict[str, Any] = {"rows": len(dev), "threshold": card.threshold}
        if dev:
            from ie_batch.classifiers.encoder import EncoderClassifier

            probabilities = EncoderClassifier(model, tokenizer, card).probabilities(
                [text.text for text in dev]
            )
            if schema.multi_label:
                card = card.model_copy(
                    update={"threshold": choose_threshold(card, probabilities, dev)}
                )
            figures = {"rows": len(dev), "threshold": card.threshold}
            figures.update(dev_report(card, probabilities, dev))
        folder = scratch / "classifier"
        model.save_pretrained(folder)
        tokenizer.save_pretrained(folder)
        card.write(folder)
        schema_document = schema.model_dump(mode="json", exclude_none=True)
        (folder / SCHEMA_NAME).write_text(
            yaml.safe_dump(schema_document, allow_unicode=True, sort_keys=False), encoding="utf-8"
        )
        record = ClassifierTrainingRecord(
            schema=schema.name,
            encoder=encoder or DEFAULT_ENCODER,
            encoder_path=source,
            data={
                "sha256": data_digest([*train, *dev]),
                "train_rows": len(train),
                "dev_rows": len(dev),
                **{f"{side}_source": path for side, path in (sources or {}).items()},
                "label_counts": dict(Counter(label for text in train for label in text.labels)),
            },
            hyperparameters=options.model_dump(),
            steps=trainer.state.global_step,
            epochs=options.epochs,
            wall_seconds=round(wall, 2),
            texts_per_second=round(len(train) * options.epochs / wall, 2) if wall else 0.0,
            history=_history(trainer.state.log_history),
            dev=figures,
            device=str(model.device),
        )
        _write_json(folder / RECORD_NAME, record.to_dict())
        if output.exists():
            output.rmdir()  # empty (checked above): the finished folder takes its place
        os.rename(folder, output)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return record


def _parent(output: Path) -> Path:
    output.parent.mkdir(parents=True, exist_ok=True)
    return output.parent


def head_classes(
    schema: ClassificationSchema, texts: Sequence[LabelledText]
) -> tuple[tuple[str, ...], str | None]:
    """The head's classes: the schema's labels, plus its none label for a multi-class schema
    whose gold uses it."""
    classes = tuple(schema.label_names)
    uses_none = any(schema.none_label in text.labels for text in texts)
    if uses_none and not schema.multi_label:
        return (*classes, schema.none_label), schema.none_label
    return classes, None


class _Encoder:
    """Texts and labels as the Trainer's examples: token ids of the text's head, and the class
    index (multi-class) or a 0/1 vector over the classes (multi-label)."""

    def __init__(self, tokenizer: Any, card: ClassifierCard) -> None:
        self.tokenizer = tokenizer
        self.card = card
        self.index = {name: i for i, name in enumerate(card.classes)}

    def dataset(self, texts: Sequence[LabelledText]) -> list[dict[str, Any]]:
        encodings = self.tokenizer(
            [text.text for text in texts], truncation=True, max_length=self.card.max_length
        )
        examples = []
        for i, text in enumerate(texts):
            example = {key: values[i] for key, values in encodings.items()}
            example["labels"] = self._target(text.labels)
            examples.append(example)
        return examples

    def _target(self, labels: Sequence[str]) -> int | list[float]:
        if self.card.multi_label:
            vector = [0.0] * len(self.card.classes)
            for label in labels:
                vector[self.index[label]] = 1.0
            return vector
        return self.index[labels[0]]


def _dev_metrics(card: ClassifierCard, prediction: Any) -> dict[str, float]:
    """The Trainer's per-epoch dev figures (at the card's threshold)."""
    import torch

    from ie_batch.classifiers.encoder import class_probabilities

    logits = prediction.predictions
    gold = [_gold_names(card, row) for row in prediction.label_ids]
    probabilities = class_probabilities(torch.as_tensor(logits), card.multi_label).tolist()
    report = _counts(card, probabilities, gold).report()
    return {"accuracy": report["accuracy"], "macro_f1": report["macro_f1"]}


def _gold_names(card: ClassifierCard, label: Any) -> tuple[str, ...]:
    if card.multi_label:
        return tuple(name for name, on in zip(card.classes, label, strict=True) if on >= 0.5)
    return (card.classes[int(label)],)


def _counts(
    card: ClassifierCard, probabilities: Sequence[Sequence[float]], gold: Sequence[Sequence[str]]
) -> ClassificationCounts:
    total = ClassificationCounts(multi_label=card.multi_label)
    for scores, labels in zip(probabilities, gold, strict=True):
        predicted = predicted_labels(card.labels_for(scores), multi_label=card.multi_label)
        total += ClassificationCounts.of_row(labels, predicted, multi_label=card.multi_label)
    return total


def dev_report(
    card: ClassifierCard, probabilities: Sequence[Sequence[float]], dev: Sequence[LabelledText]
) -> dict[str, float]:
    """Accuracy and macro F1 of the card's decisions on dev, as a job would score them (a
    multi-class none class counts as its gold label, which an empty prediction never matches)."""
    report = _counts(card, probabilities, [text.labels for text in dev]).report()
    return {"accuracy": report["accuracy"], "macro_f1": report["macro_f1"]}


def choose_threshold(
    card: ClassifierCard, probabilities: Sequence[Sequence[float]], dev: Sequence[LabelledText]
) -> float:
    """The multi-label threshold with the best dev macro F1; of equals, the one nearest 0.5."""

    def macro_f1(threshold: float) -> float:
        trial = card.model_copy(update={"threshold": threshold})
        return dev_report(trial, probabilities, dev)["macro_f1"]

    return max(THRESHOLDS, key=lambda t: (round(macro_f1(t), 12), -abs(t - 0.5)))


def _history(log_history: Sequence[dict[str, Any]]) -> list[EpochFigures]:
    """One entry per epoch from the Trainer's log: its train loss and dev figures."""
    epochs: dict[float, dict[str, Any]] = {}
    for entry in log_history:
        if "epoch" not in entry:
            continue
        figures = epochs.setdefault(round(float(entry["epoch"]), 4), {"step": entry.get("step")})
        figures["step"] = entry.get("step", figures["step"])
        if "loss" in entry:
            figures["train_loss"] = entry["loss"]
        for key in ("loss", "accuracy", "macro_f1"):
            if f"eval_{key}" in entry:
                figures[f"dev_{key}"] = entry[f"eval_{key}"]
    return [
        EpochFigures(epoch=epoch, **values)
        for epoch, values in sorted(epochs.items())
        if "train_loss" in values or "dev_loss" in values
    ]


def _write_json(path: Path, document: dict[str, Any]) -> None:
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _epoch_log(log: Log) -> Any:
    """A Trainer callback that logs a line per epoch: its train loss, then its dev figures."""
    from transformers import TrainerCallback

    class EpochLog(TrainerCallback):
        def on_log(self, args: Any, state: Any, control: Any, logs: Any = None, **kw: Any) -> None:
            logs = logs or {}
            epoch = logs.get("epoch", state.epoch)
            if "loss" in logs:
                log(f"epoch {epoch:g}: train loss {logs['loss']:.4f}")
            if "eval_accuracy" in logs:
                log(
                    f"epoch {epoch:g}: dev accuracy {logs['eval_accuracy']:.4f}, "
                    f"macro F1 {logs['eval_macro_f1']:.4f}"
                )

    return EpochLog()
