"""`ie-batch train`: LoRA fine-tuning on a training-example folder (`ie-batch training-data`).

A thin shell over `lora_training.train_adapter`; nothing heavy is imported until it runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ie_batch.customize.training_options import TrainingOptions

#: One place for the defaults: the options model's (the flags only show them).
_DEFAULTS = {name: field.default for name, field in TrainingOptions.model_fields.items()}


def train_command(
    data_dir: Annotated[
        Path, typer.Argument(help="Training examples: train.jsonl, dev.jsonl, manifest.json.")
    ],
    output: Annotated[Path, typer.Option(help="The adapter folder to write.")],
    model: Annotated[
        str, typer.Option(help="Base model: embedded, embedded:1.5b, a Hugging Face id or a path.")
    ] = _DEFAULTS["model"],
    epochs: Annotated[float, typer.Option(help="Passes over train.jsonl.")] = _DEFAULTS["epochs"],
    max_steps: Annotated[
        int | None, typer.Option(help="Stop after this many optimizer steps (overrides epochs).")
    ] = None,
    lr: Annotated[float, typer.Option(help="Peak learning rate.")] = _DEFAULTS["learning_rate"],
    lr_scheduler: Annotated[
        str, typer.Option(help="linear, cosine, constant or constant_with_warmup.")
    ] = _DEFAULTS["lr_scheduler"],
    warmup: Annotated[
        float, typer.Option(help="Warm-up: a share of the steps (< 1) or a step count.")
    ] = _DEFAULTS["warmup"],
    rank: Annotated[int, typer.Option(help="LoRA rank r.")] = _DEFAULTS["rank"],
    alpha: Annotated[float, typer.Option(help="LoRA alpha.")] = _DEFAULTS["alpha"],
    dropout: Annotated[float, typer.Option(help="LoRA dropout.")] = _DEFAULTS["dropout"],
    batch_size: Annotated[
        int, typer.Option(help="Examples per device per forward pass.")
    ] = _DEFAULTS["batch_size"],
    grad_accum: Annotated[int, typer.Option(help="Forward passes per optimizer step.")] = _DEFAULTS[
        "grad_accum"
    ],
    max_length: Annotated[
        int, typer.Option(help="Longest example in tokens (a longer one is an error).")
    ] = _DEFAULTS["max_length"],
    save_steps: Annotated[
        int, typer.Option(help="A resumable checkpoint every N steps.")
    ] = _DEFAULTS["save_steps"],
    logging_steps: Annotated[
        int, typer.Option(help="Log the train loss every N steps.")
    ] = _DEFAULTS["logging_steps"],
    dev_limit: Annotated[
        int, typer.Option(help="Dev examples answered for dev F1 per epoch (0: none).")
    ] = _DEFAULTS["dev_limit"],
    seed: Annotated[int, typer.Option(help="Seed of data order, dropout and init.")] = 0,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue from the newest checkpoint in --output.")
    ] = False,
    merge: Annotated[
        bool, typer.Option("--merge", help="Also write OUTPUT/merged (base + adapter).")
    ] = False,
    ray: Annotated[
        bool, typer.Option("--ray", help="Train on Ray Train workers (RAY_ADDRESS, else local).")
    ] = False,
    workers: Annotated[int, typer.Option(help="Ray Train workers.")] = _DEFAULTS["workers"],
    gpu: Annotated[
        bool,
        typer.Option(
            "--gpu",
            help="Ray Train workers take a GPU each (without --ray a GPU is used when there is one).",
        ),
    ] = False,
) -> None:
    """Fine-tune a LoRA adapter on the job's own prompts; the job then runs with it
    (engine.lora_adapter, or engine.model = OUTPUT/merged with --merge).

    Exit codes: 0 done; 2 the examples, the options or the output folder cannot be used."""
    from pydantic import ValidationError

    from ie_batch.customize.examples_dataset import ExampleError
    from ie_batch.customize.lora_training import TrainingError, train_adapter

    try:
        options = TrainingOptions(
            data_dir=data_dir,
            output=output,
            model=model,
            epochs=epochs,
            max_steps=max_steps,
            learning_rate=lr,
            lr_scheduler=lr_scheduler,
            warmup=warmup,
            rank=rank,
            alpha=alpha,
            dropout=dropout,
            batch_size=batch_size,
            grad_accum=grad_accum,
            max_length=max_length,
            save_steps=save_steps,
            logging_steps=logging_steps,
            dev_limit=dev_limit,
            seed=seed,
            resume=resume,
            merge=merge,
            ray=ray,
            workers=workers,
            use_gpu=gpu,
        )
        record = train_adapter(options, log=lambda line: typer.echo(f"train: {line}", err=True))
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"]) or "options"
        typer.echo(f"error: {where}: {error['msg']}", err=True)
        raise typer.Exit(2) from None
    except (ExampleError, TrainingError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    last = record.history[-1] if record.history else None
    summary = f"{record.steps} steps in {record.wall_seconds:.0f} s, {record.tokens_per_second:.0f} tokens/s"
    if last is not None and last.dev_f1 is not None:
        summary += f", dev loss {last.dev_loss:.4f}, dev F1 {last.dev_f1:.4f}"
    typer.echo(f"adapter: {output} ({summary})")
    if record.merged:
        typer.echo(f"merged checkpoint: {record.merged}")
