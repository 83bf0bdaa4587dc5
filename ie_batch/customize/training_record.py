"""training_record.json: what an adapter was trained from, how, and how it did.

An adapter is only as trustworthy as what is known about it: the gold data (the manifest's
sha256), the base model it must be served on, the hyper-parameters, and the dev figures per epoch
that say whether training helped. The record is written last, so an adapter folder holding it is
complete; `read_record` reads it back (bench/customize prints it).

The per-epoch history is rebuilt from the trainer's own log (`TrainerState.log_history`), which
travels inside every checkpoint: a resumed run's record still covers the epochs before it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

RECORD_NAME = "training_record.json"


@dataclass(frozen=True)
class EpochFigures:
    """One evaluation: after an epoch, or at the last step when training stopped mid-epoch."""

    epoch: float
    step: int
    train_loss: float | None = None  # mean of the logged train losses since the last evaluation
    dev_loss: float | None = None
    dev_f1: float | None = None
    dev_precision: float | None = None
    dev_recall: float | None = None
    dev_examples: int = 0  # dev examples answered for the F1


@dataclass
class TrainingRecord:
    base_model: str  # as given: "embedded", an id or a path
    base_model_path: str  # what was loaded (the prepared checkpoint for "embedded")
    data: dict[str, Any]  # folder, sha256, format, example counts, the manifest as written
    hyperparameters: dict[str, Any]
    steps: int
    epochs: float
    wall_seconds: float  # this run's training (a resumed run: since it resumed)
    train_tokens: int  # tokens (prompt + answer, no padding) trained on in this run
    tokens_per_second: float
    train_loss: float | None  # mean train loss of this run
    history: list[EpochFigures] = field(default_factory=list)
    resumed_from_step: int | None = None
    device: str = "cpu"
    dtype: str = "float32"
    workers: int = 1
    schemas: list[str] = field(default_factory=list)  # schema files copied beside the adapter
    merged: str | None = None  # the merged checkpoint folder, when --merge wrote one
    created: str = field(default_factory=lambda: time.strftime("%Y-%m-%dT%H:%M:%S%z"))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def write(self, directory: Path) -> Path:
        path = Path(directory) / RECORD_NAME
        path.write_text(json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n")
        return path

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TrainingRecord:
        values = dict(data)
        values["history"] = [EpochFigures(**entry) for entry in values.get("history", [])]
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in values.items() if k in known})


def read_record(directory: Path) -> TrainingRecord:
    path = Path(directory) / RECORD_NAME
    try:
        return TrainingRecord.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        raise ValueError(f"{path}: missing: {directory} is not a finished adapter folder") from None
    except (json.JSONDecodeError, TypeError) as exc:
        raise ValueError(f"{path}: not a training record: {exc}") from None


def history_from_log(log_history: Sequence[Mapping[str, Any]]) -> list[EpochFigures]:
    """The evaluations in a trainer's log, each with the mean train loss logged before it.

    The trainer logs `loss` every few steps, `eval_loss` at each evaluation, and the dev-F1
    callback adds `dev_f1` (with its precision, recall and example count) for the same step."""
    figures: list[EpochFigures] = []
    losses: list[float] = []
    dev: dict[int, Mapping[str, Any]] = {
        int(e["step"]): e for e in log_history if "dev_f1" in e and "step" in e
    }
    for entry in log_history:
        if "loss" in entry and "eval_loss" not in entry:
            losses.append(float(entry["loss"]))
        if "eval_loss" not in entry:
            continue
        step = int(entry.get("step", 0))
        scores = dev.get(step, {})
        figures.append(
            EpochFigures(
                epoch=round(float(entry.get("epoch", 0.0)), 4),
                step=step,
                train_loss=sum(losses) / len(losses) if losses else None,
                dev_loss=float(entry["eval_loss"]),
                dev_f1=scores.get("dev_f1"),
                dev_precision=scores.get("dev_precision"),
                dev_recall=scores.get("dev_recall"),
                dev_examples=int(scores.get("dev_examples", 0)),
            )
        )
        losses = []
    return figures
