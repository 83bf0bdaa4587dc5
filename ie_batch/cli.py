"""The `ie-batch` command. Each subcommand is a thin shell over a library function."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)
schema_app = typer.Typer(no_args_is_help=True, help="Inspect schema files.")
app.add_typer(schema_app, name="schema")
console = Console()

_SAMPLE_TEXT = {
    "en": "On Monday, Apple Inc. opened a new office in Berlin, its CEO Tim Cook said.",
    "zh": "2月8日上午北京冬奥会自由式滑雪女子大跳台决赛中中国选手谷爱凌以188.25分获得金牌！",
}


@schema_app.command("show")
def schema_show(
    file: Annotated[Path, typer.Argument(help="A schema file (YAML/JSON, PP-UIE, IEPile).")],
    prompt_format: Annotated[
        str, typer.Option("--format", help="Prompt format.")
    ] = "document_first",
    text: Annotated[str | None, typer.Option(help="Document to render the prompt for.")] = None,
    order: Annotated[str, typer.Option(help="Label order: sorted, given or shuffled.")] = "sorted",
    task: Annotated[str | None, typer.Option(help="Task of an IEPile schema.json.")] = None,
) -> None:
    """Print a schema's slices and the first slice's prompt with its answer schema."""
    from ie_batch.prompts import get_format
    from ie_batch.schema import SchemaError, load_schema, rotate

    try:
        schema = load_schema(file, task=task)
        fmt = get_format(prompt_format)
    except (SchemaError, ValueError) as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    document = text or _SAMPLE_TEXT[schema.language]
    slices = rotate(schema, doc_id="example", order=order)  # type: ignore[arg-type]
    console.print(
        f"[bold]{schema.name}[/bold]: {schema.kind.value}, {len(schema.label_specs)} labels, "
        f"language {schema.language}, split_num {schema.effective_split_num} "
        f"-> {len(slices)} slice(s)"
    )
    for slice_ in slices:
        console.print(f"  {slice_.key}: {', '.join(slice_.label_names)}")
    prompt = fmt.render(document, slices[0])
    console.rule(f"prompt for {slices[0].key} ({fmt.name})")
    for message in prompt.messages:
        console.print(f"[bold]{message.role}[/bold]", highlight=False)
        console.print(message.content, markup=False, highlight=False)
    console.rule("answer schema")
    console.print_json(json.dumps(prompt.answer_schema, ensure_ascii=False))


@app.command("eval")
def eval_command(
    pred: Annotated[Path, typer.Argument(help="Predictions: JSONL or Parquet rows with id.")],
    gold: Annotated[Path, typer.Argument(help="Gold rows with id, same columns or IEPile shapes.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Score predictions against gold labels with IEPile's exact-match micro P/R/F1."""
    from ie_batch.metrics import evaluate_files

    try:
        scores = evaluate_files(pred, gold)
    except (OSError, ValueError) as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    if as_json:
        typer.echo(json.dumps(scores, ensure_ascii=False))
        return
    table = Table("task", "precision", "recall", "f1", "tp", "pred", "gold")
    for task, figures in scores.items():
        if "f1" not in figures:
            continue
        table.add_row(
            task,
            *(f"{figures[k]:.4f}" for k in ("precision", "recall", "f1")),
            *(str(figures.get(k, "")) for k in ("tp", "pred", "gold")),
        )
    console.print(table)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
