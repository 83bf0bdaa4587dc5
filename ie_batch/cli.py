"""The `ie-batch` command. Each subcommand is a thin shell over a library function."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from ie_batch.customize.classifier_cli import train_classifier_command
from ie_batch.customize.data_cli import import_app, training_data_command
from ie_batch.customize.train_cli import train_command

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)
schema_app = typer.Typer(no_args_is_help=True, help="Inspect schema files.")
app.add_typer(schema_app, name="schema")
config_app = typer.Typer(no_args_is_help=True, help="The job configuration's reference.")
app.add_typer(config_app, name="config")
console = Console()


def _print_version(value: bool) -> None:
    if value:
        from ie_batch import __version__

        typer.echo(f"ie-batch {__version__}")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    # Options of `ie-batch` itself, before any subcommand; eager, so `--version` needs none.
    pass


@config_app.command("schema")
def config_schema() -> None:
    """Print the JSON Schema of a job file: every section and field, with its description."""
    # docs/config.md renders the same models as Markdown (ie_batch.config_reference).
    from ie_batch.config_reference import job_config_schema

    typer.echo(json.dumps(job_config_schema(), indent=2, ensure_ascii=False))


#: `ie-batch run --max-error-rate`: past this share of rows with errors, the run exits 1.
DEFAULT_MAX_ERROR_RATE = 0.5
#: Exit code of `run` and `retry-errors` when another job holds the output.
EXIT_OUTPUT_HELD = 3

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
    from ie_batch.schema import SchemaError, load_schema

    try:
        schema = load_schema(file, task=task)
        fmt = get_format(prompt_format)
        slices = fmt.slices(schema, doc_id="example", order=order)  # type: ignore[arg-type]
    except (SchemaError, ValueError) as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    document = text or _SAMPLE_TEXT[schema.language]
    console.print(
        f"[bold]{schema.name}[/bold]: {schema.kind.value}, {len(schema.label_specs)} labels, "
        f"language {schema.language} -> {len(slices)} slice(s) under {fmt.name}"
    )
    if getattr(schema, "proper_names", False):
        console.print("  proper names: mentions without a capital letter are dropped")
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


model_app = typer.Typer(no_args_is_help=True, help="The embedded default model.")
app.add_typer(model_app, name="model")


@model_app.command("prepare")
def model_prepare(
    size: Annotated[str, typer.Option(help="0.5b (default) or 1.5b.")] = "0.5b",
) -> None:
    """Assemble, verify and convert the embedded model once; later runs find it cached."""
    from ie_batch.engines.embedded_model import prepare_embedded_model

    path = prepare_embedded_model(size, log=lambda line: console.print(line, highlight=False))
    console.print(f"embedded model {size}: {path}", highlight=False)


@app.command("run")
def run_command(
    config: Annotated[Path | None, typer.Option(help="A job config YAML.")] = None,
    input_paths: Annotated[
        list[str] | None, typer.Option("--input", help="Shard file, folder, glob or URI.")
    ] = None,
    schemas: Annotated[
        list[str] | None, typer.Option("--schema", help="Schema file or shipped schema name.")
    ] = None,
    output: Annotated[str | None, typer.Option(help="Output folder or URI.")] = None,
    model: Annotated[str | None, typer.Option(help="embedded, embedded:1.5b, path or id.")] = None,
    limit: Annotated[int | None, typer.Option(help="Read at most this many rows.")] = None,
    ray_address: Annotated[str | None, typer.Option(help="Ray cluster address.")] = None,
    force: Annotated[bool, typer.Option(help="Reprocess committed shards too.")] = False,
    max_error_rate: Annotated[
        float,
        typer.Option(
            min=0.0,
            max=1.0,
            help="Exit 1 when more than this share of the rows processed have errors.",
        ),
    ] = DEFAULT_MAX_ERROR_RATE,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the job's summary as one JSON object.")
    ] = False,
) -> None:
    """Run the main job: from a config file, or from flags alone (flags override the file).

    Exit codes: 0 done; 1 a shard failed (see `ie-batch status`) or too many error rows;
    2 the configuration, a schema or the input cannot be used (nothing was run);
    3 another job holds the output (nothing was run)."""
    from ie_batch.config import ConfigError, config_from_data, load_config
    from ie_batch.job.run import run_job

    overrides: dict = {}
    if input_paths:
        overrides.setdefault("input", {})["paths"] = input_paths
    if limit is not None:
        overrides.setdefault("input", {})["limit"] = limit
    if schemas:
        overrides["schemas"] = schemas
    if output:
        overrides["output"] = output
    if model:
        overrides["engine"] = {"model": model}
    if ray_address:
        overrides["ray_address"] = ray_address
    try:
        job = load_config(config, overrides) if config else config_from_data({}, "flags", overrides)
    except ConfigError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    from ie_batch.io.lease import LeaseHeld
    from ie_batch.io.shards import ShardError
    from ie_batch.schema import SchemaError

    try:
        report = run_job(job, force=force, print_report=not as_json)
    except (ShardError, SchemaError, ValueError) as exc:
        console.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(2) from None
    except LeaseHeld as exc:
        console.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(EXIT_OUTPUT_HELD) from None
    code = report.exit_code(max_error_rate)
    if as_json:
        typer.echo(json.dumps({**report.summary(), "exit_code": code}, ensure_ascii=False))
    else:
        console.print(
            f"{report.total.rows} rows ({report.total.error_rows} with errors) in "
            f"{report.seconds:.1f} s -> {job.output}",
            highlight=False,
        )
        for name, reason in sorted(report.failed.items()):
            console.print(f"[red]failed:[/red] {name}: {reason}", highlight=False)
    raise typer.Exit(code)


@app.command("estimate")
def estimate_command(
    config: Annotated[Path, typer.Option(help="A job config YAML.")],
    sample: Annotated[int, typer.Option(min=1, help="Documents to plan and count.")] = 200,
    tokens_per_second: Annotated[
        float | None,
        typer.Option(help="Engine throughput (bench/throughput or a trial run) for the hours."),
    ] = None,
    completion_tokens: Annotated[
        float | None,
        typer.Option(help="Expected answer tokens per prompt (a trial run's summary.json)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """A dry run: shards, rows, prompts and tokens per document measured on a sample with the
    model's tokenizer (no engine, no GPU), the job's total tokens and, given a tokens/s
    figure, its engine hours. Exit 2 when the configuration or the input cannot be used."""
    from ie_batch.config import ConfigError, load_config
    from ie_batch.engines.token_counter import TokenCounter
    from ie_batch.io.shards import ShardError
    from ie_batch.job.checks import check_job
    from ie_batch.job.estimate import estimate_job
    from ie_batch.schema import SchemaError

    try:
        job = load_config(config)
        check_job(job)
        counter = TokenCounter.from_config(job.engine)
        estimate = estimate_job(job, counter, sample, tokens_per_second, completion_tokens)
    except (ConfigError, ShardError, SchemaError, ValueError, OSError) as exc:
        console.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(2) from None
    if as_json:
        typer.echo(json.dumps(estimate.to_dict(), ensure_ascii=False))
        return
    e = estimate
    console.print(
        f"{e.shards} shard(s), {e.rows} rows; sampled {e.sampled} documents "
        f"({e.unplannable} with a prompt too long for the context)",
        highlight=False,
    )
    console.print(
        f"per document: {e.prompts_per_document} prompts, {e.prompt_tokens_per_document} prompt "
        f"tokens, at most {e.max_completion_tokens_per_document} answer tokens (first round)",
        highlight=False,
    )
    answered = (
        f"{e.total_completion_tokens} answer tokens at {e.completion_tokens_per_prompt}/prompt"
        if e.total_completion_tokens is not None
        else f"at most {e.total_max_completion_tokens} answer tokens"
    )
    console.print(f"job: {e.total_prompt_tokens} prompt tokens, {answered}", highlight=False)
    if e.engine_hours is not None:
        console.print(
            f"engine time at {e.tokens_per_second:g} tokens/s: {e.engine_hours:.2f} h",
            highlight=False,
        )
    for name, reason in sorted(e.unreadable.items()):
        console.print(f"[red]unreadable:[/red] {name}: {reason}", highlight=False)


EndpointOption = Annotated[
    str | None, typer.Option(help="S3-compatible endpoint URL (else $AWS_ENDPOINT_URL).")
]


@app.command("status")
def status_command(
    output: Annotated[str, typer.Argument(help="A job's output folder or URI.")],
    endpoint_url: EndpointOption = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the shards' states as one JSON object.")
    ] = False,
) -> None:
    """List committed, changed, pending and failed shards with row, error and F1 totals."""
    from dataclasses import asdict

    from ie_batch.config import StorageConfig
    from ie_batch.job.status import job_status

    try:
        status = job_status(output, StorageConfig(endpoint_url=endpoint_url))
    except FileNotFoundError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    if as_json:
        document = {
            "shards": [asdict(shard) for shard in status.shards],
            "counts": {
                state: status.count(state)
                for state in ("committed", "changed", "pending", "failed")
            },
            "total": status.total.metrics(),
            "input_error": status.input_error,
        }
        typer.echo(json.dumps(document, ensure_ascii=False))
        return
    table = Table("shard", "state", "rows", "errors", "F1 / accuracy")
    for shard in status.shards:
        scores = ", ".join(
            f"{task} {figures.get('f1', 0):.3f}"
            if task != "classification"
            else f"acc {figures['accuracy']:.3f}"
            for task, figures in shard.tasks.items()
        )
        table.add_row(
            shard.name,
            shard.state,
            str(shard.rows or "-"),
            str(shard.error_rows or 0),
            scores or (shard.reason or ""),
        )
    console.print(table)
    total = status.total.metrics()
    console.print(
        f"{status.count('committed')} committed, {status.count('changed')} changed, "
        f"{status.count('pending')} pending, {status.count('failed')} failed; "
        "totals over committed shards: "
        + (
            ", ".join(
                f"{t} F1 {f['f1']:.3f} ({f['tp']}/{f['pred']}/{f['gold']})"
                for t, f in total.items()
            )
            or "no gold"
        ),
        highlight=False,
    )
    if status.input_error:
        console.print(f"[yellow]input not listed:[/yellow] {status.input_error}")


@app.command("report")
def report_command(
    output: Annotated[str, typer.Argument(help="A job's output folder or URI.")],
    page: Annotated[
        str, typer.Option("--output", help="Where to write the HTML page (path or URI).")
    ] = "report.html",
    sample: Annotated[
        int, typer.Option(min=0, help="Documents to show with their spans highlighted.")
    ] = 20,
    endpoint_url: EndpointOption = None,
) -> None:
    """Write a self-contained HTML page to review a job's output: P/R/F1 per shard and per
    type, errors by reason, bad cases, and sample documents with their spans highlighted."""
    from ie_batch.config import StorageConfig
    from ie_batch.report import write_report

    try:
        data = write_report(output, page, StorageConfig(endpoint_url=endpoint_url), sample)
    except FileNotFoundError as exc:
        console.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(2) from None
    console.print(
        f"{page}: {len(data.committed)} committed shard(s), {len(data.failed)} failed, "
        f"{len(data.samples)} document(s) shown",
        highlight=False,
    )


@app.command("retry-errors")
def retry_errors_command(
    output: Annotated[str, typer.Argument(help="A job's output folder or URI.")],
    endpoint_url: EndpointOption = None,
) -> None:
    """Reprocess only the rows whose extraction failed and fold them back into their shards."""
    from ie_batch.config import StorageConfig
    from ie_batch.io.lease import LeaseHeld
    from ie_batch.job.retry import retry_errors

    try:
        report = retry_errors(output, storage=StorageConfig(endpoint_url=endpoint_url))
    except FileNotFoundError as exc:
        console.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(2) from None
    except LeaseHeld as exc:
        console.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(EXIT_OUTPUT_HELD) from None
    console.print(
        f"retried {report.retried} row(s), {report.fixed} now without errors, "
        f"in shard(s): {', '.join(report.shards) or '-'}",
        highlight=False,
    )


@app.command("unlock")
def unlock_command(
    output: Annotated[str, typer.Argument(help="A job's output folder or URI.")],
    endpoint_url: EndpointOption = None,
) -> None:
    """Break the output's lease by hand, when the job that held it is known to be dead."""
    from ie_batch.config import StorageConfig
    from ie_batch.io.layout import OutputLayout
    from ie_batch.io.lease import break_lease

    held = break_lease(OutputLayout.open(output, StorageConfig(endpoint_url=endpoint_url)))
    if held is None:
        console.print(f"{output}: no lease to break", highlight=False)
    else:
        console.print(f"{output}: broke the lease of {held.describe()}", highlight=False)


app.command("train-classifier")(train_classifier_command)
app.add_typer(import_app, name="import")
app.command("training-data")(training_data_command)
app.command("train")(train_command)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
