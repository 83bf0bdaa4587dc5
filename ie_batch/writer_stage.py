"""The write stage: one batch of result rows becomes Parquet parts and one summary row per shard.

The summary rows are all the driver sees of the results: row, error and token counts, seconds,
and the summed score of the rows that had gold. Scores travel pickled; they are ie_batch's own
objects moving between ie_batch's own processes.
"""

from __future__ import annotations

import pickle
import posixpath

import pyarrow as pa
import pyarrow.compute as pc

from ie_batch.config import StorageConfig
from ie_batch.io.reading import SHARD_COLUMN
from ie_batch.io.storage import open_filesystem
from ie_batch.io.writing import staging_dir, write_error_part, write_part
from ie_batch.metrics import Evaluation
from ie_batch.stage import EVALUATION_COLUMN, SECONDS_COLUMN

SUMMARY_SCHEMA = pa.schema(
    [
        ("shard", pa.string()),
        ("rows", pa.int64()),
        ("error_rows", pa.int64()),
        ("prompt_tokens", pa.int64()),
        ("completion_tokens", pa.int64()),
        ("seconds", pa.float64()),
        ("evaluation", pa.binary()),
        ("part", pa.string()),
    ]
)


def write_results(batch: pa.Table, output: str, storage: StorageConfig | None = None) -> pa.Table:
    fs, root = open_filesystem(output, storage)
    summaries = []
    for shard in pc.unique(batch.column(SHARD_COLUMN)).to_pylist():
        rows = batch.filter(pc.equal(batch.column(SHARD_COLUMN), shard))
        evaluation = Evaluation()
        for blob in rows.column(EVALUATION_COLUMN).to_pylist():
            if blob is not None:
                evaluation += pickle.loads(blob)
        seconds = pc.sum(rows.column(SECONDS_COLUMN)).as_py() or 0.0
        rows = rows.drop_columns([EVALUATION_COLUMN, SECONDS_COLUMN])
        path = write_part(fs, root, shard, rows)
        write_error_part(fs, posixpath.join(staging_dir(root, shard), "errors"), rows)
        error_rows = sum(1 for errors in rows.column("errors").to_pylist() if errors)
        summaries.append(
            {
                "shard": shard,
                "rows": rows.num_rows,
                "error_rows": error_rows,
                "prompt_tokens": pc.sum(rows.column("prompt_tokens")).as_py() or 0,
                "completion_tokens": pc.sum(rows.column("completion_tokens")).as_py() or 0,
                "seconds": seconds,
                "evaluation": pickle.dumps(evaluation) if evaluation.rows else None,
                "part": path,
            }
        )
    return pa.Table.from_pylist(summaries, schema=SUMMARY_SCHEMA)
