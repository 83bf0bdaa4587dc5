"""One benchmark run: N rows of a data set (evenly spread, or the first N) through the real job under one configuration.

The rows go to a JSONL shard in a work folder, the job runs with `run_job` (the embedded model in
a Ray Data actor pool: one engine start per run), and the job's own evaluation gives the scores.
The job's output (result rows, bad cases, metrics) stays under `<output>/runs/<data set>/<config>/`
for inspection.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from bench.accuracy.configurations import Configuration, schema_variant
from bench.accuracy.conversion import select_examples
from bench.accuracy.datasets import Dataset
from ie_batch.config import deep_merge


@dataclass
class RunResult:
    """One line of the table (and of results.json)."""

    dataset: str
    split: str  # the evaluated rows, e.g. "valid[:40]"
    configuration: str
    rows: int
    task: str
    metrics: dict[str, Any] = field(default_factory=dict)  # the job's figures for `task`
    error_rows: int = 0
    wall_seconds: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    few_shot_from: str | None = None
    error: str | None = None  # why the run failed, when it did
    date: str = ""
    command: str = ""
    machine: str = ""

    @property
    def tokens_per_second(self) -> float:
        tokens = self.prompt_tokens + self.completion_tokens
        return tokens / self.wall_seconds if self.wall_seconds else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "tokens_per_second": round(self.tokens_per_second, 1)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunResult:
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})


Sample = Literal["spread", "head"]


def evaluated_split(
    dataset: Dataset, limit: int | None, available: int, sample: Sample = "head"
) -> str:
    """How the table names the evaluated rows: `valid[:40]`, `valid, 100 spread`, or
    `train[:half], first 40`."""
    if not limit or limit >= available:
        return dataset.split
    if sample == "spread":
        return f"{dataset.split}, {limit} spread"
    if "[" in dataset.split:
        return f"{dataset.split}, first {limit}"
    return f"{dataset.split}[:{limit}]"


def sample_rows(
    rows: list[dict[str, Any]], limit: int | None, sample: Sample
) -> list[dict[str, Any]]:
    """The evaluated rows. `head` takes the first `limit` in file order; `spread` takes `limit`
    rows evenly spaced over the whole split, so a small run is not one news story's topic (the
    first 40 CoNLL-2003 valid sentences are nearly all county cricket)."""
    if not limit or limit >= len(rows):
        return rows
    if sample == "head":
        return rows[:limit]
    return [rows[index * len(rows) // limit] for index in range(limit)]


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")


def prepare_input(
    dataset: Dataset, limit: int | None, work: Path, sample: Sample = "spread"
) -> tuple[Path, list[dict[str, Any]], int]:
    """The input folder holding the evaluated rows; with those rows and the split's size."""
    rows = dataset.rows()
    chosen = sample_rows(rows, limit, sample)
    folder = work / "input" / dataset.name
    write_jsonl(folder / f"{dataset.name}.jsonl", chosen)
    return folder, chosen, len(rows)


def prepare_examples(dataset: Dataset, k: int, evaluated_ids: set[str], work: Path) -> Path:
    examples = select_examples(dataset.example_rows(), k)
    overlap = {row["id"] for row in examples} & evaluated_ids
    if overlap:  # cannot happen with the pools in datasets.py; a guard against editing mistakes
        raise RuntimeError(f"few-shot examples taken from the evaluated rows: {sorted(overlap)}")
    path = work / "examples" / f"{dataset.name}-k{k}.jsonl"
    write_jsonl(path, examples)
    return path


def job_data(
    dataset: Dataset,
    configuration: Configuration,
    input_folder: Path,
    output: Path,
    work: Path,
    batch_size: int,
    examples: Path | None,
) -> dict[str, Any]:
    """The job configuration (as a mapping) of one run."""
    schema = schema_variant(
        dataset.schema_file(work / "schemas" / "derived"),
        configuration,
        work / "schemas" / configuration.name,
    )
    data: dict[str, Any] = {
        "input": {"paths": [str(input_folder)]},
        "schemas": [str(schema)],
        "output": str(output),
        "pool": {"batch_size": batch_size},
    }
    if examples is not None:
        data["prompt"] = {"examples": str(examples), "few_shot_k": configuration.few_shot_k}
    return deep_merge(data, configuration.job)


def task_metrics(scores: dict[str, Any], task: str) -> dict[str, Any]:
    """The job's figures for the data set's task. Events have two (IEPile's EET and EEA): the
    argument figures, `(type, argument, role)` tuples, lead (the table shows them) and the
    trigger figures, `(type, trigger)`, ride along under `trigger`."""
    if task == "ee":
        if "ee_argument" not in scores and "ee_trigger" not in scores:
            return {}
        return {**scores.get("ee_argument", {}), "trigger": scores.get("ee_trigger", {})}
    return scores.get(task, {})


def run_one(
    dataset: Dataset,
    configuration: Configuration,
    *,
    limit: int | None,
    output: Path,
    work: Path,
    batch_size: int = 16,
    sample: Sample = "spread",
) -> RunResult:
    """Run the job for one (data set, configuration); failures become a result with `error`."""
    from ie_batch.config import config_from_data
    from ie_batch.job.run import run_job

    input_folder, chosen, available = prepare_input(dataset, limit, work, sample)
    result = RunResult(
        dataset=dataset.name,
        split=evaluated_split(dataset, limit, available, sample),
        configuration=configuration.name,
        rows=len(chosen),
        task=dataset.task,
        few_shot_from=dataset.example_split if configuration.few_shot_k else None,
    )
    run_output = output / "runs" / dataset.name / configuration.name
    shutil.rmtree(run_output, ignore_errors=True)
    started = time.perf_counter()
    try:
        examples = None
        if configuration.few_shot_k:
            evaluated = {row["id"] for row in chosen}
            examples = prepare_examples(dataset, configuration.few_shot_k, evaluated, work)
        data = job_data(
            dataset, configuration, input_folder, run_output, work, batch_size, examples
        )
        config = config_from_data(data, f"bench:{dataset.name}:{configuration.name}")
        report = run_job(config, print_report=False, force=True)
    except Exception as exc:  # a failed run is a line of the table, not the end of the bench
        import traceback

        traceback.print_exc(file=sys.stderr)
        result.error = f"{type(exc).__name__}: {exc}"[:300]
        result.wall_seconds = time.perf_counter() - started
        return result
    result.wall_seconds = time.perf_counter() - started
    total = report.total
    result.error_rows = total.error_rows
    result.prompt_tokens = total.prompt_tokens
    result.completion_tokens = total.completion_tokens
    result.metrics = task_metrics(total.evaluation.metrics(), dataset.task)
    if total.rows != len(chosen):
        result.error = f"{total.rows} result rows for {len(chosen)} input rows"
    return result
