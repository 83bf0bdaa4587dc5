"""Dev F1 while training: the model answers held-out prompts greedily, scored as the bench does.

Dev loss says how likely the gold answers are; it does not say whether the model now *writes*
them. So after each evaluation a capped number of dev examples are answered by greedy generation
(no structured outputs here: the answer must come from the model) and compared with their gold
answers as IEPile exact-match tuples (`ie_batch.metrics.answer_tuples`). Only the first process
of a data-parallel run generates; the figures are added to the trainer's log, which every
checkpoint keeps, so a resumed run's record still has the earlier epochs.

This module imports transformers at its top: only the training code imports it, inside its
functions.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from transformers import TrainerCallback

from ie_batch.customize.examples_dataset import EncodedExample, TrainingExample
from ie_batch.metrics.answer_tuples import answer_counts
from ie_batch.metrics.counts import Counts

#: Generation batch: left-padded prompts answered together.
GENERATION_BATCH = 8
#: A prediction may run this much past twice its gold answer's length before it is cut: room to
#: be wrong without letting a model that never stops cost the whole token cap on every example.
SLACK_TOKENS = 16


@dataclass(frozen=True)
class DevScores:
    counts: Counts
    examples: int
    seconds: float

    def log_entry(self) -> dict[str, float | int]:
        return {
            "dev_f1": round(self.counts.f1, 6),
            "dev_precision": round(self.counts.precision, 6),
            "dev_recall": round(self.counts.recall, 6),
            "dev_tp": self.counts.tp,
            "dev_pred": self.counts.pred,
            "dev_gold": self.counts.gold,
            "dev_examples": self.examples,
            "dev_seconds": round(self.seconds, 3),
        }


def generate_answers(
    model: Any,
    tokenizer: Any,
    encoded: Sequence[EncodedExample],
    max_new_tokens: int,
    batch_size: int = GENERATION_BATCH,
) -> list[str]:
    """Greedy answers to the examples' prompts (their answer tokens only bound the length)."""
    import torch

    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    device = next(model.parameters()).device
    answers: list[str] = []
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            for first in range(0, len(encoded), batch_size):
                batch = encoded[first : first + batch_size]
                width = max(len(e.prompt_ids) for e in batch)
                ids = [[pad] * (width - len(e.prompt_ids)) + e.prompt_ids for e in batch]
                mask = [[0] * (width - len(e.prompt_ids)) + [1] * len(e.prompt_ids) for e in batch]
                budget = max(len(e.answer_ids) for e in batch) * 2 + SLACK_TOKENS
                out = model.generate(
                    input_ids=torch.tensor(ids, device=device),
                    attention_mask=torch.tensor(mask, device=device),
                    max_new_tokens=min(max_new_tokens, budget),
                    do_sample=False,
                    pad_token_id=pad,
                    eos_token_id=_stop_tokens(model, tokenizer),
                )
                for row in out[:, width:].tolist():
                    answers.append(tokenizer.decode(row, skip_special_tokens=True))
    finally:
        model.train(was_training)
    return answers


def score_dev(
    model: Any,
    tokenizer: Any,
    examples: Sequence[TrainingExample],
    encoded: Sequence[EncodedExample],
    max_new_tokens: int,
) -> DevScores:
    started = time.perf_counter()
    answers = generate_answers(model, tokenizer, encoded, max_new_tokens)
    counts = sum(
        (
            answer_counts(answer, example.answer, example.task, example.stage, example.labels)
            for answer, example in zip(answers, examples, strict=True)
        ),
        Counts(),
    )
    return DevScores(counts, len(examples), time.perf_counter() - started)


def _stop_tokens(model: Any, tokenizer: Any) -> list[int]:
    """The end-of-turn tokens: the model's generation config's, and the tokenizer's eos."""
    configured = getattr(getattr(model, "generation_config", None), "eos_token_id", None)
    stops = configured if isinstance(configured, list) else [configured]
    stops = [token for token in stops if token is not None]
    if tokenizer.eos_token_id is not None and tokenizer.eos_token_id not in stops:
        stops.append(tokenizer.eos_token_id)
    return stops


class DevF1Callback(TrainerCallback):
    """After each evaluation, on the first process: dev F1 on the first `dev_limit` examples."""

    def __init__(
        self,
        tokenizer: Any,
        examples: Sequence[TrainingExample],
        encoded: Sequence[EncodedExample],
        max_new_tokens: int,
    ) -> None:
        self.tokenizer = tokenizer
        self.examples = list(examples)
        self.encoded = list(encoded)
        self.max_new_tokens = max_new_tokens
        self.seconds = 0.0

    def on_evaluate(self, args: Any, state: Any, control: Any, model: Any = None, **kwargs: Any):
        if not self.examples or model is None or not state.is_world_process_zero:
            return
        scores = score_dev(model, self.tokenizer, self.examples, self.encoded, self.max_new_tokens)
        self.seconds += scores.seconds
        state.log_history.append(
            {**scores.log_entry(), "epoch": state.epoch, "step": state.global_step}
        )
