"""LoRA supervised fine-tuning of a causal LM on the job's own prompts (`ie-batch train`).

transformers' `Trainer` runs the loop: it already does what resuming needs — a checkpoint every
`save_steps` holds the adapter, the optimizer, the scheduler, the RNG states, the step and the
trainer's log, and a resumed run skips the batches of the current epoch it had trained on — and
it batches by length (`train_sampling_strategy="group_by_length"`), accumulates gradients, and
runs data-parallel when a process group is up, which is how Ray Train's workers run the very
same `fit` (`ie_batch.customize.ray_training`).

    <output>/checkpoints/checkpoint-<step>/   resumable checkpoints (one process)
    <output>/ray/                               Ray Train's run folder (--ray)
    <output>/adapter_config.json, adapter_model.safetensors, tokenizer files, the schema files
    <output>/training_record.json               written last: the folder is complete iff it is there
    <output>/merged/                            with --merge: base + adapter as one checkpoint

Torch, transformers and peft are imported inside the functions: the command line imports this
package at start.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ie_batch.customize.examples_dataset import ExampleSet, encode_examples, read_example_dir
from ie_batch.customize.merging import MERGED_NAME, merge_adapter
from ie_batch.customize.training_options import TrainingOptions
from ie_batch.customize.training_record import (
    RECORD_NAME,
    TrainingRecord,
    history_from_log,
)
from ie_batch.engines.cpu_dtype import cpu_lacks_bfloat16
from ie_batch.engines.embedded_model import resolve_model

CHECKPOINTS = "checkpoints"
Log = Callable[[str], None]


class TrainingError(ValueError):
    """Training cannot start as asked (the output folder, a resume with nothing to resume)."""


@dataclass
class FitResult:
    """What one training run leaves in memory for the adapter folder and its record."""

    trainer: Any
    tokenizer: Any
    examples: ExampleSet
    base_model_path: str
    resumed_from_step: int | None
    wall_seconds: float
    dev_seconds: float
    train_tokens: int
    train_loss: float | None
    device: str
    dtype: str


def train_adapter(
    options: TrainingOptions, callbacks: Sequence[Any] = (), log: Log = print
) -> TrainingRecord:
    """Train an adapter as `options` say, on this process or on Ray Train; return its record.

    `callbacks` are extra `transformers.TrainerCallback`s (one process only)."""
    if options.ray:
        from ie_batch.customize.ray_training import train_on_ray

        if callbacks:  # they would have to travel to every worker: not offered
            raise ValueError("extra trainer callbacks are for a run on this process, not --ray")

        return train_on_ray(options, log)
    checkpoints = options.output / CHECKPOINTS
    resume_from = checkpoint_to_resume(options, checkpoints)
    # one process trains on this machine's GPU when it has one, else on its CPU
    result = fit(options, checkpoints, resume_from, callbacks=callbacks, use_gpu=True, log=log)
    record = save_adapter(result, options, options.output, workers=1)
    return finish(record, options, log)


def checkpoint_to_resume(options: TrainingOptions, checkpoints: Path) -> str | None:
    """The checkpoint a run starts from (None: from scratch), after checking the folder: a run
    never starts over an earlier run's checkpoints or adapter unless told to resume it."""
    from transformers.trainer_utils import get_last_checkpoint

    last = get_last_checkpoint(str(checkpoints)) if checkpoints.is_dir() else None
    finished = (options.output / RECORD_NAME).exists()
    if not options.resume:
        if last is not None or finished:
            what = "checkpoints of an earlier run" if last else "a trained adapter"
            raise TrainingError(
                f"{options.output}: holds {what}; pass --resume to continue, or choose another "
                "output folder"
            )
        return None
    if last is None:
        raise TrainingError(f"{checkpoints}: no checkpoint to resume from")
    # The folder is about to change: it is not a finished adapter any more until the new record,
    # and a merged checkpoint of the old adapter would be stale.
    (options.output / RECORD_NAME).unlink(missing_ok=True)
    shutil.rmtree(options.output / MERGED_NAME, ignore_errors=True)
    return last


def precision(
    choice: str, use_gpu: bool, cpu_flags: frozenset[str] | None = None
) -> tuple[str, str]:
    """(device, dtype): bf16 where the hardware runs it (it halves the memory traffic, and the
    LoRA weights stay float32 in peft); float32 on GPUs without it and on CPUs without bfloat16
    instructions, where every bf16 matmul is emulated (`engines/cpu_dtype.py`), or when asked."""
    import torch

    device = "cuda" if use_gpu and torch.cuda.is_available() else "cpu"
    if choice != "auto":
        return device, choice
    if device == "cuda" and not torch.cuda.is_bf16_supported():
        return device, "float32"
    if device == "cpu" and cpu_lacks_bfloat16(cpu_flags):
        return device, "float32"
    return device, "bfloat16"


def fit(
    options: TrainingOptions,
    work_dir: Path,
    resume_from: str | None,
    callbacks: Sequence[Any] = (),
    prepare: Callable[[Any], Any] | None = None,
    use_gpu: bool = True,
    log: Log = print,
) -> FitResult:
    """One training run into `work_dir` (its checkpoints), from `resume_from` if given.

    `prepare` wraps the built trainer (Ray Train's `prepare_trainer`); `use_gpu` lets it take
    the GPU this process sees, if any."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import (
        AutoModelForCausalLM,
        AutoTokenizer,
        DataCollatorForSeq2Seq,
        Trainer,
        TrainingArguments,
        set_seed,
    )

    from ie_batch.customize.dev_eval import DevF1Callback

    examples = read_example_dir(options.data_dir)
    base_path = resolve_model(options.model, log=log)
    tokenizer = AutoTokenizer.from_pretrained(base_path)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    train = encode_examples(tokenizer, examples.train, options.max_length, examples.directory)
    dev = encode_examples(tokenizer, examples.dev, options.max_length, examples.directory)
    tokens = sum(e.length for e in train)
    log(
        f"{len(train)} train / {len(dev)} dev examples from {examples.directory} "
        f"({tokens} train tokens, {sum(len(e.answer_ids) for e in train)} of them answers)"
    )
    device, dtype = precision(options.dtype, use_gpu)
    set_seed(options.seed)  # the adapter's initial weights too: a run is reproducible
    model = AutoModelForCausalLM.from_pretrained(base_path, dtype=getattr(torch, dtype))
    model = get_peft_model(
        model,
        LoraConfig(
            task_type="CAUSAL_LM",
            r=options.rank,
            lora_alpha=options.alpha,
            lora_dropout=options.dropout,
            target_modules=options.target_modules,
        ),
    )
    args = TrainingArguments(
        output_dir=str(work_dir),
        per_device_train_batch_size=options.batch_size,
        per_device_eval_batch_size=options.batch_size,
        gradient_accumulation_steps=options.grad_accum,
        num_train_epochs=options.epochs,
        max_steps=options.max_steps or -1,
        learning_rate=options.learning_rate,
        lr_scheduler_type=options.lr_scheduler,
        warmup_steps=options.warmup,
        weight_decay=options.weight_decay,
        bf16=dtype == "bfloat16",
        use_cpu=device == "cpu",
        train_sampling_strategy="group_by_length",
        eval_strategy="epoch" if dev else "no",
        save_strategy="steps",
        save_steps=options.save_steps,
        save_total_limit=options.save_total_limit,
        logging_steps=options.logging_steps,
        include_num_input_tokens_seen="non_padding",
        ddp_find_unused_parameters=False,
        report_to="none",
        seed=options.seed,
        disable_tqdm=not sys.stderr.isatty(),
    )
    limit = options.dev_limit
    dev_f1 = DevF1Callback(tokenizer, examples.dev[:limit], dev[:limit], options.dev_max_new_tokens)
    trainer = Trainer(
        model=model,
        args=args,
        train_dataset=[e.features() for e in train],
        eval_dataset=[e.features() for e in dev] or None,
        data_collator=DataCollatorForSeq2Seq(tokenizer, padding=True, label_pad_token_id=-100),
        processing_class=tokenizer,
        callbacks=[dev_f1, *callbacks],
    )
    if prepare is not None:
        trainer = prepare(trainer)
    start_step, start_tokens = _checkpoint_progress(resume_from)
    if resume_from:
        log(f"resuming from {resume_from} (step {start_step})")
    started = time.perf_counter()
    output = trainer.train(resume_from_checkpoint=resume_from)
    evaluated = [e.get("step") for e in trainer.state.log_history if "eval_loss" in e]
    if dev and (not evaluated or evaluated[-1] != trainer.state.global_step):
        trainer.evaluate()  # training stopped mid-epoch: the record still gets its last figures
    wall = time.perf_counter() - started
    return FitResult(
        trainer=trainer,
        tokenizer=tokenizer,
        examples=examples,
        base_model_path=base_path,
        resumed_from_step=start_step if resume_from else None,
        wall_seconds=wall,
        dev_seconds=dev_f1.seconds,
        train_tokens=int(trainer.state.num_input_tokens_seen) - start_tokens,
        train_loss=output.training_loss if trainer.state.global_step > start_step else None,
        device=device,
        dtype=dtype,
    )


def _checkpoint_progress(checkpoint: str | None) -> tuple[int, int]:
    """(step, input tokens seen) stored in a checkpoint's trainer state; (0, 0) for none."""
    if not checkpoint:
        return 0, 0
    state = json.loads((Path(checkpoint) / "trainer_state.json").read_text())
    return int(state.get("global_step", 0)), int(state.get("num_input_tokens_seen", 0))


def save_adapter(
    result: FitResult, options: TrainingOptions, out_dir: Path, workers: int
) -> TrainingRecord:
    """Write the adapter, tokenizer, schema files and record into `out_dir` (record last)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    result.trainer.save_model(str(out_dir))  # a peft model saves its adapter only
    schemas = []
    for schema in result.examples.manifest.schema_files():
        shutil.copy2(schema, out_dir / schema.name)
        schemas.append(schema.name)
    state = result.trainer.state
    training_seconds = max(result.wall_seconds - result.dev_seconds, 1e-9)
    manifest = result.examples.manifest
    record = TrainingRecord(
        base_model=options.model,
        base_model_path=result.base_model_path,
        data={
            "dir": str(result.examples.directory),
            "sha256": manifest.sha256,
            "format": manifest.content.get("format"),
            "train_examples": len(result.examples.train),
            "dev_examples": len(result.examples.dev),
            "manifest": manifest.content,
        },
        hyperparameters=options.model_dump(
            mode="json",
            exclude={"data_dir", "output", "resume", "merge", "ray"},
        ),
        steps=state.global_step,
        epochs=round(float(state.epoch or 0.0), 4),
        wall_seconds=round(result.wall_seconds, 3),
        train_tokens=result.train_tokens,
        tokens_per_second=round(result.train_tokens / training_seconds, 2),
        train_loss=result.train_loss,
        history=history_from_log(state.log_history),
        resumed_from_step=result.resumed_from_step,
        device=result.device,
        dtype=result.dtype,
        workers=workers,
        schemas=schemas,
    )
    record.write(out_dir)
    return record


def finish(record: TrainingRecord, options: TrainingOptions, log: Log = print) -> TrainingRecord:
    """The adapter folder is complete; with --merge, write the merged checkpoint beside it."""
    log(f"adapter written to {options.output} ({record.steps} steps, {record.wall_seconds:.0f} s)")
    if options.merge:
        merged = options.output / MERGED_NAME
        log(f"merging the adapter into {record.base_model_path} -> {merged}")
        merge_adapter(options.output, merged, record.base_model_path, record.dtype)
        record.merged = str(merged)
        record.write(options.output)
    return record
