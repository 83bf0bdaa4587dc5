"""What `ie-batch train` is asked to do: one object, every field described, no side effects.

The defaults are IEPile's LoRA settings (r 16, alpha 32, dropout 0.05) on every linear
projection of the attention and MLP blocks, the way its adapters for OneKE were trained; the batch
and step figures are sized for a CPU run of a few hundred to a few thousand examples.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

#: peft's name for "every linear layer but the output head": the attention projections
#: (q, k, v, o) and the MLP's (gate, up, down) of a Qwen2/Llama-style block, whatever their names.
ALL_LINEAR = "all-linear"


class TrainingOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    data_dir: Path = Field(
        description="The training-example folder (train.jsonl, dev.jsonl, manifest.json)."
    )
    output: Path = Field(description="The adapter folder to write (checkpoints go under it too).")
    model: str = Field(
        default="embedded",
        description="The base model: 'embedded', 'embedded:1.5b', a Hugging Face causal LM id or "
        "a local checkpoint folder. The job must run the same model as engine.model.",
    )
    epochs: float = Field(default=3.0, gt=0, description="Passes over train.jsonl.")
    max_steps: int | None = Field(
        default=None, ge=1, description="Stop after this many optimizer steps (overrides epochs)."
    )
    learning_rate: float = Field(default=2e-4, gt=0, description="Peak learning rate.")
    lr_scheduler: Literal["linear", "cosine", "constant", "constant_with_warmup"] = Field(
        default="cosine", description="How the learning rate decays after warm-up."
    )
    warmup: float = Field(
        default=0.03, ge=0, description="Warm-up: a share of the steps (< 1) or a step count."
    )
    weight_decay: float = Field(default=0.0, ge=0, description="AdamW weight decay.")
    rank: int = Field(
        default=16, ge=1, description="LoRA rank r (vLLM serves up to 16 unless told)."
    )
    alpha: float = Field(default=32, gt=0, description="LoRA alpha (scaling alpha / r).")
    dropout: float = Field(default=0.05, ge=0, lt=1, description="Dropout on the LoRA input.")
    target_modules: list[str] | str = Field(
        default=ALL_LINEAR,
        description="Modules that get adapters: peft's 'all-linear', or a list of names.",
    )
    batch_size: int = Field(default=4, ge=1, description="Examples per device per forward pass.")
    grad_accum: int = Field(
        default=4, ge=1, description="Forward passes per optimizer step (effective batch = both)."
    )
    max_length: int = Field(
        default=2048, ge=16, description="Longest example in tokens; a longer one is an error."
    )
    save_steps: int = Field(
        default=50, ge=1, description="Write a resumable checkpoint every N steps."
    )
    save_total_limit: int = Field(default=2, ge=1, description="Checkpoints kept (the newest).")
    logging_steps: int = Field(default=10, ge=1, description="Log the train loss every N steps.")
    dev_limit: int = Field(
        default=32,
        ge=0,
        description="Dev examples answered by greedy generation for dev F1 per epoch (0: none). "
        "Dev loss always covers all of dev.jsonl.",
    )
    dev_max_new_tokens: int = Field(
        default=384, ge=8, description="Answer tokens at most for dev F1 (the job's max_tokens)."
    )
    dtype: Literal["auto", "bfloat16", "float32"] = Field(
        default="auto",
        description=(
            "'auto': bf16 on GPUs and CPUs that run it natively, float32 elsewhere (a CPU "
            "without bfloat16 instructions emulates every bf16 matmul)."
        ),
    )
    seed: int = Field(default=0, description="Seed of data order, dropout and initialisation.")
    resume: bool = Field(
        default=False, description="Continue from the newest checkpoint under the output folder."
    )
    merge: bool = Field(
        default=False,
        description="Also write <output>/merged: the base model with the adapter merged in, a "
        "checkpoint vLLM loads as engine.model where it cannot serve LoRA.",
    )
    ray: bool = Field(
        default=False, description="Train data-parallel on Ray Train (RAY_ADDRESS, else local)."
    )
    workers: int = Field(default=2, ge=1, description="Ray Train workers (with ray).")
    use_gpu: bool = Field(
        default=False,
        description="Ray Train workers take one GPU each (one process uses a GPU when it sees one).",
    )

    @model_validator(mode="after")
    def _paths_apart(self) -> TrainingOptions:
        data, out = self.data_dir.resolve(), self.output.resolve()
        if out == data or data in out.parents:
            raise ValueError(f"the output folder {self.output} must not be inside the data folder")
        return self

    @property
    def effective_batch(self) -> int:
        return self.batch_size * self.grad_accum
