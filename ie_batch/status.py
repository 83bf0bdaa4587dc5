"""`ie-batch status OUTPUT`: which input shards are committed, changed or still pending, with
row, error and F1 totals. Totals are re-summed from the shards' counts, never averaged."""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from typing import Any

from ie_batch.config import StorageConfig
from ie_batch.io.manifest import Manifest
from ie_batch.io.shards import ShardError, list_shards
from ie_batch.io.storage import open_filesystem
from ie_batch.io.writing import read_json
from ie_batch.metrics import ClassificationCounts, Counts, Evaluation
from ie_batch.pipeline import read_job_config

COMMITTED, CHANGED, PENDING = "committed", "changed", "pending"


@dataclass
class ShardState:
    name: str
    state: str
    rows: int | None = None
    error_rows: int | None = None
    tasks: dict[str, Any] = field(default_factory=dict)


@dataclass
class StatusReport:
    shards: list[ShardState]
    total: Evaluation
    input_error: str | None = None

    def count(self, state: str) -> int:
        return sum(1 for shard in self.shards if shard.state == state)


def job_status(output: str, storage: StorageConfig | None = None) -> StatusReport:
    fs, root = open_filesystem(output, storage)
    config = read_job_config(fs, root)
    fingerprint = config.fingerprint()
    manifest = Manifest(fs, root)
    entries = {entry["name"]: entry for entry in manifest.entries()}
    states: list[ShardState] = []
    input_error = None
    try:
        _, shards = list_shards(config.input.paths, storage or config.storage)
    except (ShardError, OSError) as exc:
        shards, input_error = [], str(exc)
    listed = set()
    for shard in shards:
        listed.add(shard.name)
        entry = entries.get(shard.name)
        if entry is None:
            states.append(ShardState(shard.name, PENDING))
            continue
        same = (
            (entry["path"], entry["size"], entry["version"])
            == (shard.path, shard.size, shard.version)
            and entry.get("fingerprint") == fingerprint
            and entry.get("result_rows") == entry.get("rows")
        )
        states.append(_committed(fs, root, entry, COMMITTED if same else CHANGED))
    for name, entry in sorted(entries.items()):
        if name not in listed:  # committed earlier, its input since removed (or unreadable now)
            states.append(_committed(fs, root, entry, COMMITTED))
    total = Evaluation()
    for state in states:
        if state.state == COMMITTED:
            total += _evaluation(state.tasks)
    return StatusReport(states, total, input_error)


def _committed(fs: Any, root: str, entry: dict[str, Any], state: str) -> ShardState:
    metrics = read_json(fs, posixpath.join(root, "metrics", f"{entry['name']}.json")) or {}
    return ShardState(
        entry["name"],
        state,
        rows=entry.get("result_rows"),
        error_rows=entry.get("error_rows"),
        tasks=metrics.get("tasks", {}),
    )


def _evaluation(tasks: dict[str, Any]) -> Evaluation:
    evaluation = Evaluation()
    for task, figures in tasks.items():
        if task == "classification":
            evaluation.classification = ClassificationCounts.from_dict(figures)
        else:
            evaluation.extraction[task] = Counts.from_dict(figures)
    return evaluation
