"""The per-shard table printed at the end of a job: one line per (shard, scored task)."""

from __future__ import annotations

import sys
from typing import Any

from rich.console import Console
from rich.table import Table

from ie_batch.job.tally import Tally


def print_table(tallies: dict[str, Tally], total: Tally, console: Console | None = None) -> None:
    # logs and `ray job logs` are not terminals; rich would squeeze the table into 80 columns
    console = console or Console(width=None if sys.stdout.isatty() else 120)
    table = Table(title="ie_batch: per-shard results")
    for column in ("shard", "rows", "errors", "tokens", "task", "P", "R", "F1", "tp/pred/gold"):
        table.add_column(column, justify="left" if column in {"shard", "task"} else "right")
    entries = [*sorted(tallies.items()), ("TOTAL", total)]
    for position, (name, tally) in enumerate(entries):
        tasks = list(tally.evaluation.metrics().items()) or [("-", None)]
        for index, (task, figures) in enumerate(tasks):
            head = (
                [
                    name,
                    str(tally.rows),
                    str(tally.error_rows),
                    str(tally.prompt_tokens + tally.completion_tokens),
                ]
                if index == 0
                else ["", "", "", ""]
            )
            last = index == len(tasks) - 1 and position >= len(entries) - 2
            table.add_row(*head, task, *_score_cells(task, figures), end_section=last)
    console.print(table)
    console.print(
        "micro P/R/F1 over exact-match tuples (IEPile rules); classification: macro P/R/F1, "
        "accuracy in the last column"
    )


def _score_cells(task: str, figures: dict[str, Any] | None) -> list[str]:
    if figures is None:
        return ["-", "-", "-", "no gold"]
    if task == "classification":
        return [
            f"{figures['macro_precision']:.3f}",
            f"{figures['macro_recall']:.3f}",
            f"{figures['macro_f1']:.3f}",
            f"acc {figures['accuracy']:.3f}",
        ]
    return [
        f"{figures['precision']:.3f}",
        f"{figures['recall']:.3f}",
        f"{figures['f1']:.3f}",
        f"{figures['tp']}/{figures['pred']}/{figures['gold']}",
    ]
