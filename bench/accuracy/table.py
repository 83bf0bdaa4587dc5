"""The results table: printed as text, written as JSON and as markdown.

NER scores are micro P/R/F1 over exact-match (text, type) tuples (IEPile rules, the job's own
evaluation); classification shows macro P/R/F1 and accuracy. `wall s` is the whole run including
the engine start (~40 s on 2 CPU cores); `tok/s` is prompt + completion tokens over wall seconds.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.accuracy.runner import RunResult

COLUMNS = (
    "dataset",
    "split",
    "rows",
    "configuration",
    "P",
    "R",
    "F1",
    "acc",
    "tp/pred/gold",
    "errors",
    "wall s",
    "tok/s",
)
NUMERIC = {"rows", "P", "R", "F1", "acc", "tp/pred/gold", "errors", "wall s", "tok/s"}

NOTE = (
    "NER: micro P/R/F1 over exact (text, type) matches; classification: macro P/R/F1 and "
    "accuracy. split says which rows: `N spread` = N rows evenly spaced over it, `[:N]` or "
    "`first N` = the first N in file order. wall s includes the engine "
    "start; tok/s = (prompt + completion tokens) / wall s."
)


def cells(result: RunResult) -> list[str]:
    """One table line for one run."""
    head = [result.dataset, result.split, str(result.rows), result.configuration]
    if result.error and not result.metrics:
        return [*head, "-", "-", "-", "-", "failed", "-", f"{result.wall_seconds:.0f}", "-"]
    m = result.metrics
    if result.task == "classification":
        scores = [m.get("macro_precision"), m.get("macro_recall"), m.get("macro_f1")]
        accuracy = _number(m.get("accuracy"))
    else:
        scores = [m.get("precision"), m.get("recall"), m.get("f1")]
        accuracy = "-"
    counts = f"{m['tp']}/{m['pred']}/{m['gold']}" if "tp" in m else "-"
    return [
        *head,
        *(_number(value) for value in scores),
        accuracy,
        counts,
        str(result.error_rows),
        f"{result.wall_seconds:.0f}",
        f"{result.tokens_per_second:.0f}",
    ]


def _number(value: Any) -> str:
    return "-" if value is None else f"{value:.3f}"


def render_text(results: Sequence[RunResult]) -> str:
    """A fixed-width table for the terminal."""
    rows = [list(COLUMNS), *(cells(result) for result in results)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]

    def line(row: list[str]) -> str:
        return "  ".join(
            cell.rjust(width) if COLUMNS[i] in NUMERIC else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ).rstrip()

    rule = "  ".join("-" * width for width in widths)
    body = [line(rows[0]), rule, *(line(row) for row in rows[1:])]
    failures = [f"{r.dataset} / {r.configuration}: {r.error}" for r in results if r.error]
    return "\n".join([*body, "", NOTE, *(f"failed: {text}" for text in failures)])


def render_markdown(results: Sequence[RunResult]) -> str:
    """A markdown table, then when and how each line was measured."""
    lines = [
        "| " + " | ".join(COLUMNS) + " |",
        "| " + " | ".join("---:" if c in NUMERIC else "---" for c in COLUMNS) + " |",
    ]
    lines += ["| " + " | ".join(cells(result)) + " |" for result in results]
    lines += ["", NOTE, ""]
    provenance: dict[tuple[str, str, str], list[str]] = {}
    for result in results:
        key = (result.date[:10], result.machine, result.command)
        provenance.setdefault(key, []).append(f"{result.dataset}/{result.configuration}")
    for (date, machine, command), runs in provenance.items():
        lines.append(f"- {date}, {machine}: `{command}` ({', '.join(runs)})")
    failures = [f"{r.dataset} / {r.configuration}: {r.error}" for r in results if r.error]
    lines += [f"- failed: {text}" for text in failures]
    return "\n".join(lines) + "\n"


def result_key(result: RunResult) -> tuple[str, str, str]:
    return (result.dataset, result.split, result.configuration)


def merge(previous: Sequence[RunResult], new: Sequence[RunResult]) -> list[RunResult]:
    """Previous results with the new ones replacing any of the same data set, evaluated rows
    and configuration; order: first appearance."""
    merged: dict[tuple[str, str, str], RunResult] = {}
    for result in [*previous, *new]:
        merged[result_key(result)] = result
    return list(merged.values())


def load_results(path: Path) -> list[RunResult]:
    if not path.exists():
        return []
    data = json.loads(path.read_text(encoding="utf-8"))
    return [RunResult.from_dict(item) for item in data.get("results", [])]


def write_results(directory: Path, results: Sequence[RunResult]) -> tuple[Path, Path]:
    """`results.json` and `results.md` in `directory`; returns their paths."""
    directory.mkdir(parents=True, exist_ok=True)
    json_path = directory / "results.json"
    md_path = directory / "results.md"
    document = {"note": NOTE, "results": [result.to_dict() for result in results]}
    json_path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", "utf-8")
    md_path.write_text(render_markdown(results), encoding="utf-8")
    return json_path, md_path
