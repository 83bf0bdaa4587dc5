"""The write stage: a batch of extracted rows -> scored, staged Parquet parts and error sidecars,
and one `ShardSummary` per shard of the batch.

The summaries are all the driver sees of the results: row, error and token counts, seconds, and
the summed score of the rows that had gold. The score travels pickled, once per summary: it is
ie_batch's own object moving between ie_batch's own processes.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from ie_batch.config import JobConfig
from ie_batch.io.layout import OutputLayout
from ie_batch.io.writing import part_name
from ie_batch.job.columns import (
    ERRORS_COLUMN,
    ROW_COLUMN,
    SECONDS_COLUMN,
    SHARD_COLUMN,
    SHARD_ROWS_COLUMN,
    STAGE_COLUMNS,
)
from ie_batch.job.errors import ROW_ERRORS_TYPE, RowError
from ie_batch.job.scoring import Scorer
from ie_batch.job.tally import Tally
from ie_batch.metrics import Evaluation

SUMMARY_SCHEMA = pa.schema(
    [
        ("shard", pa.string()),
        ("rows", pa.int64()),
        ("error_rows", pa.int64()),
        ("prompt_tokens", pa.int64()),
        ("completion_tokens", pa.int64()),
        ("cached_prompt_tokens", pa.int64()),
        ("seconds", pa.float64()),
        ("evaluation", pa.binary()),
        ("part", pa.string()),
        ("shard_rows", pa.int64()),
    ]
)


@dataclass
class ShardSummary:
    """What one staged part adds to its shard's figures; `shard_rows`, the shard's row count,
    when the part holds rows of the shard's last block (else None)."""

    shard: str
    part: str
    tally: Tally = field(default_factory=Tally)
    shard_rows: int | None = None

    def to_row(self) -> dict[str, Any]:
        evaluation = self.tally.evaluation
        return {
            "shard": self.shard,
            "part": self.part,
            "rows": self.tally.rows,
            "error_rows": self.tally.error_rows,
            "prompt_tokens": self.tally.prompt_tokens,
            "completion_tokens": self.tally.completion_tokens,
            "cached_prompt_tokens": self.tally.cached_prompt_tokens,
            "seconds": self.tally.seconds,
            "evaluation": pickle.dumps(evaluation) if evaluation.rows else None,
            "shard_rows": self.shard_rows,
        }

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> ShardSummary:
        blob = row["evaluation"]
        tally = Tally(
            rows=row["rows"],
            error_rows=row["error_rows"],
            prompt_tokens=row["prompt_tokens"],
            completion_tokens=row["completion_tokens"],
            cached_prompt_tokens=row.get("cached_prompt_tokens") or 0,
            seconds=row["seconds"],
            evaluation=pickle.loads(blob) if blob else Evaluation(),
        )
        return cls(row["shard"], row["part"], tally, row.get("shard_rows"))


def write_results(batch: pa.Table, config: JobConfig) -> pa.Table:
    """Ray Data `map_batches` function: stage the batch's rows, one part per shard in it."""
    layout = OutputLayout.open(config.output, config.storage)
    scorer = Scorer.for_config(config)
    summaries = []
    for shard in pc.unique(batch.column(SHARD_COLUMN)).to_pylist():
        rows = batch.filter(pc.equal(batch.column(SHARD_COLUMN), shard))
        rows, evaluation = score_rows(rows, scorer)
        part = part_of(rows)
        staged = rows.drop_columns([c for c in STAGE_COLUMNS if c in rows.column_names])
        path = layout.stage_part(shard, part, staged)
        layout.stage_error_part(shard, part, sidecar_lines(rows))
        tally = tally_of(rows, evaluation)
        tally.seconds = pc.sum(rows.column(SECONDS_COLUMN)).as_py() or 0.0
        summaries.append(ShardSummary(shard, path, tally, shard_rows_of(rows)).to_row())
    return pa.Table.from_pylist(summaries, schema=SUMMARY_SCHEMA)


def shard_rows_of(rows: pa.Table) -> int | None:
    """The shard's row count, when these rows include some of its last block."""
    if SHARD_ROWS_COLUMN not in rows.column_names:
        return None
    return pc.max(rows.column(SHARD_ROWS_COLUMN)).as_py()


def score_rows(rows: pa.Table, scorer: Scorer) -> tuple[pa.Table, Evaluation]:
    """`rows` with each gold-column error added to its row's errors, and the rows' summed
    score. Takes and gives the stage columns (`_errors` is updated too)."""
    evaluation = Evaluation()
    errors = rows.column("errors").to_pylist()
    typed = rows.column(ERRORS_COLUMN).to_pylist()
    changed = False
    for index, row in enumerate(rows.to_pylist()):
        score = scorer.score_result_row(row)
        if score.evaluation is not None:
            evaluation += score.evaluation
        if score.error is not None:
            errors[index] = [*errors[index], score.error.render()]
            typed[index] = [*typed[index], score.error.to_arrow()]
            changed = True
    if changed:
        position = rows.column_names.index("errors")
        rows = rows.set_column(position, "errors", pa.array(errors, pa.list_(pa.string())))
        position = rows.column_names.index(ERRORS_COLUMN)
        rows = rows.set_column(position, ERRORS_COLUMN, pa.array(typed, ROW_ERRORS_TYPE))
    return rows, evaluation


def part_of(rows: pa.Table) -> str:
    """The name of the part `rows` are written to (their row numbers' span)."""
    numbers = pc.min_max(rows.column(ROW_COLUMN)).as_py()
    return part_name(numbers["min"], numbers["max"])


def sidecar_lines(rows: pa.Table) -> list[dict[str, Any]]:
    """The error sidecar of `rows`: one line per error of each row, its stage a field."""
    columns = ["id", SHARD_COLUMN, ROW_COLUMN, ERRORS_COLUMN]
    return [line for row in rows.select(columns).to_pylist() for line in row_sidecar_lines(row)]


def row_sidecar_lines(row: dict[str, Any]) -> list[dict[str, Any]]:
    """A row's lines of the error sidecar (the row has its `_errors` stage column)."""
    lines = []
    for value in row[ERRORS_COLUMN] or []:
        error = RowError.from_arrow(value)
        lines.append(
            {
                "id": row["id"],
                "shard": row[SHARD_COLUMN],
                "row": row[ROW_COLUMN],
                "stage": error.stage.value,
                "reason": error.detail,
            }
        )
    return lines


def scored_tally(rows: pa.Table, scorer: Scorer) -> Tally:
    """The figures of written result rows, scored again (for parts no summary speaks for)."""
    evaluation = Evaluation()
    for row in rows.to_pylist():
        score = scorer.score_result_row(row)
        if score.evaluation is not None:
            evaluation += score.evaluation
    return tally_of(rows, evaluation)


def tally_of(rows: pa.Table, evaluation: Evaluation) -> Tally:
    """Counts of result rows (with the stage columns or without)."""
    return Tally(
        rows=rows.num_rows,
        error_rows=sum(1 for errors in rows.column("errors").to_pylist() if errors),
        prompt_tokens=_total(rows, "prompt_tokens"),
        completion_tokens=_total(rows, "completion_tokens"),
        cached_prompt_tokens=_total(rows, "cached_prompt_tokens"),
        evaluation=evaluation,
    )


def _total(rows: pa.Table, column: str) -> int:
    """A token column's sum; 0 for parts written before the column existed."""
    if column not in rows.column_names:
        return 0
    return pc.sum(rows.column(column)).as_py() or 0
