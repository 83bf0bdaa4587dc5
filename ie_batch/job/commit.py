"""THE shard commit, used by `run` and by `retry-errors` alike.

A shard is committed once all its rows are staged: its parts and error sidecars move from
`_staging/<shard>/` into `data/` and `errors/`, its metrics and bad cases are written, and its
marker goes last, so a crash at any point leaves the shard uncommitted, never half committed.
"""

from __future__ import annotations

from ie_batch.io.layout import OutputLayout
from ie_batch.io.manifest import Manifest
from ie_batch.io.shards import Shard
from ie_batch.job.tally import Tally


def commit_shard(layout: OutputLayout, shard: Shard, fingerprint: str, tally: Tally) -> None:
    layout.publish(shard.name)
    layout.write_json(
        layout.metrics_path(shard.name),
        {"shard": shard.name, "path": shard.path, **tally.to_dict()},
    )
    if tally.evaluation.bad_cases:
        layout.write_jsonl(layout.badcases_path(shard.name), tally.evaluation.bad_cases)
    Manifest(layout).commit(
        shard, fingerprint, {"result_rows": tally.rows, "error_rows": tally.error_rows}
    )
