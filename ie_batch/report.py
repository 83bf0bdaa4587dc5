"""Per-shard and per-job figures: what `metrics/<shard>.json`, `summary.json` and the printed
table hold. Job figures are computed from summed counts, never by averaging shard scores."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rich.console import Console
from rich.table import Table

from ie_batch.metrics import Evaluation


@dataclass
class Tally:
    """Running totals for one shard (or, summed, for the job)."""

    rows: int = 0
    error_rows: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    evaluation: Evaluation = field(default_factory=Evaluation)

    def add(self, other: Tally) -> None:
        self.rows += other.rows
        self.error_rows += other.error_rows
        self.prompt_tokens += other.prompt_tokens
        self.completion_tokens += other.completion_tokens
        self.seconds += other.seconds
        self.evaluation += other.evaluation

    def to_dict(self) -> dict[str, Any]:
        """The metrics document; `bad_cases` are written to their own file."""
        return {
            "rows": self.rows,
            "error_rows": self.error_rows,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "seconds": round(self.seconds, 3),
            "scored_rows": self.evaluation.rows,
            "tasks": self.evaluation.metrics(),
        }


def f1_columns(tallies: dict[str, Tally]) -> list[str]:
    tasks: list[str] = []
    for tally in tallies.values():
        for task in tally.evaluation.metrics():
            if task not in tasks:
                tasks.append(task)
    return tasks


def print_table(tallies: dict[str, Tally], total: Tally, console: Console | None = None) -> None:
    """The per-shard table printed at the end of a job."""
    console = console or Console()
    tasks = f1_columns({**tallies, "": total})
    table = Table(title="ie_batch: per-shard results")
    for column in ("shard", "rows", "errors", "tokens"):
        table.add_column(column, justify="left" if column == "shard" else "right")
    for task in tasks:
        table.add_column(
            f"{task} F1" if task != "classification" else "cls acc / F1", justify="right"
        )
    for name, tally in [*sorted(tallies.items()), ("TOTAL", total)]:
        metrics = tally.evaluation.metrics()
        cells = [
            name,
            str(tally.rows),
            str(tally.error_rows),
            str(tally.prompt_tokens + tally.completion_tokens),
        ]
        for task in tasks:
            figures = metrics.get(task)
            if figures is None:
                cells.append("-")
            elif task == "classification":
                cells.append(f"{figures['accuracy']:.3f} / {figures['macro_f1']:.3f}")
            else:
                cells.append(
                    f"{figures['f1']:.3f} ({figures['tp']}/{figures['pred']}/{figures['gold']})"
                )
        table.add_row(*cells, end_section=name == sorted(tallies)[-1] if tallies else False)
    console.print(table)
    if tasks:
        console.print("F1 cells: f1 (tp/pred/gold); micro over exact-match tuples (IEPile rules).")
