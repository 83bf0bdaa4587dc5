"""`ie-batch import doccano|label-studio` and `ie-batch training-data`: annotations to gold rows,
gold rows to training examples. Thin shells over `customize.annotations` and
`customize.training_data`, imported lazily so `ie-batch --help` stays fast.

Exit codes: 0 everything was imported or exported; 1 the output was written without the records
or examples listed as left out (fix them and run again); 2 nothing could be done (an unreadable
file, a bad schema, job file or hard-negatives file).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

#: Exit code when the output was written but some records or examples were left out.
EXIT_LEFT_OUT = 1
#: Exit code when nothing was written.
EXIT_UNUSABLE = 2

import_app = typer.Typer(
    no_args_is_help=True,
    help="Import an annotation tool's export as gold rows: job input with gold columns.",
)

SchemaOption = Annotated[
    str, typer.Option("--schema", help="The schema: a file, or the name of a shipped schema.")
]
GoldOutput = Annotated[
    Path, typer.Option("--output", help="The gold rows to write (JSONL: id, text, gold column).")
]


def _left_out(problems: list[str], what: str) -> None:
    for problem in problems:
        typer.echo(f"left out: {problem}", err=True)
    if problems:
        typer.echo(f"{len(problems)} {what} left out (listed above)", err=True)
        raise typer.Exit(EXIT_LEFT_OUT)


def _import(file: Path, schema: str, output: Path, tool: str, text_key: str = "text") -> None:
    from ie_batch.customize.annotations import AnnotationError, import_annotations, write_gold
    from ie_batch.schema import SchemaError

    try:
        report = import_annotations(file, schema, tool, text_key=text_key)  # type: ignore[arg-type]
    except (AnnotationError, SchemaError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(EXIT_UNUSABLE) from None
    written = write_gold(report.rows, output)
    typer.echo(
        f"{output}: {written} gold row(s) of schema {report.schema.name!r} "
        f"({report.schema.kind.value}) from {file}"
    )
    for reason, count in sorted(report.notes.items()):
        typer.echo(f"  {count} {reason}")
    _left_out([str(problem) for problem in report.problems], "record(s)")


@import_app.command("doccano")
def import_doccano(
    file: Annotated[Path, typer.Argument(help="A doccano JSONL export.")],
    schema: SchemaOption,
    output: GoldOutput,
) -> None:
    """A doccano export: sequence labelling with relations (entities and relations, the format
    PP-UIE's doccano.py reads; events as trigger entities with role relations), sequence
    labelling (label: start, end and tag per span) or text classification (label: classes)."""
    _import(file, schema, output, "doccano")


@import_app.command("label-studio")
def import_label_studio(
    file: Annotated[Path, typer.Argument(help="A Label Studio JSON export (a list of tasks).")],
    schema: SchemaOption,
    output: GoldOutput,
    text_key: Annotated[str, typer.Option(help="The task data field holding the text.")] = "text",
) -> None:
    """A Label Studio JSON export: labelled regions, relations between them, and choices."""
    _import(file, schema, output, "label-studio", text_key)


def training_data_command(
    gold: Annotated[Path, typer.Argument(help="Gold rows (JSONL or Parquet) with id and text.")],
    schema: SchemaOption,
    output: Annotated[Path, typer.Option("--output", help="The folder to write the examples to.")],
    prompt_format: Annotated[
        str | None,
        typer.Option("--format", help="document_first or iepile (default: the job file's)."),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(help="The job file the trained model will run under: its prompt settings."),
    ] = None,
    dev_fraction: Annotated[
        float, typer.Option(min=0.0, max=0.99, help="Share of documents held out for dev.")
    ] = 0.1,
    seed: Annotated[int, typer.Option(help="Seeds the split and the random negatives.")] = 0,
    hard_negatives: Annotated[
        Path | None,
        typer.Option(
            help="JSON object: each label and its confusable labels (IEPile's hard dict)."
        ),
    ] = None,
    confusions_from: Annotated[
        str | None,
        typer.Option(help="A zero-shot job's output over the same gold: its confusions."),
    ] = None,
    negative_slices: Annotated[
        int, typer.Option(min=-1, help="Slices of absent labels per document; -1 asks every slice.")
    ] = 1,
) -> None:
    """Export training examples: one per (document, slice), as the job asks them, with the gold
    answer its parser reads back; train.jsonl, dev.jsonl, schema.json and manifest.json."""
    from ie_batch.customize.training_data import export_training_data

    try:
        manifest = export_training_data(
            gold,
            schema,
            output,
            format=prompt_format,
            config=config,
            dev_fraction=dev_fraction,
            seed=seed,
            hard_negatives=hard_negatives,
            confusions=confusions_from,
            negative_slices=None if negative_slices == -1 else negative_slices,
        )
    except (OSError, ValueError) as exc:  # config, schema, gold file, hard negatives: all named
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(EXIT_UNUSABLE) from None
    counts = manifest.counts
    typer.echo(
        f"{output}: {counts['examples']['train']} train and {counts['examples']['dev']} dev "
        f"example(s) from {counts['documents']['train']} + {counts['documents']['dev']} "
        f"document(s), format {manifest.content['format']}"
    )
    _left_out(manifest.problems, "row(s) or example(s)")
