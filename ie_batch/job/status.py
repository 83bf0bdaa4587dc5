"""`ie-batch status OUTPUT`: which input shards are committed, changed or still pending, with
row, error and F1 totals. Totals are re-summed from the shards' counts, never averaged."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ie_batch.config import StorageConfig
from ie_batch.fingerprint import fingerprint_of
from ie_batch.io.job_record import read_job_config
from ie_batch.io.layout import OutputLayout
from ie_batch.io.manifest import Manifest
from ie_batch.io.shards import ShardError, list_shards
from ie_batch.metrics import ClassificationCounts, Counts, Evaluation

COMMITTED, CHANGED, PENDING, FAILED = "committed", "changed", "pending", "failed"


@dataclass
class ShardState:
    name: str
    state: str
    rows: int | None = None
    error_rows: int | None = None
    tasks: dict[str, Any] = field(default_factory=dict)
    reason: str | None = None  # why the last attempt failed (state "failed")


@dataclass
class StatusReport:
    shards: list[ShardState]
    total: Evaluation
    input_error: str | None = None

    def count(self, state: str) -> int:
        return sum(1 for shard in self.shards if shard.state == state)


def job_status(output: str, storage: StorageConfig | None = None) -> StatusReport:
    layout = OutputLayout.open(output, storage)
    config = read_job_config(layout)
    fingerprint = fingerprint_of(config)
    manifest = Manifest(layout)
    entries = {entry["name"]: entry for entry in manifest.entries()}
    states: list[ShardState] = []
    input_error = None
    try:
        shards = list_shards(
            config.input.paths, storage or config.storage, exclude=[config.output]
        ).shards
    except (ShardError, OSError) as exc:
        shards, input_error = [], str(exc)
    listed = set()
    for shard in shards:
        listed.add(shard.name)
        entry = entries.get(shard.name)
        if entry is None:
            failure = layout.failure(shard.name)
            states.append(ShardState(shard.name, FAILED if failure else PENDING, reason=failure))
            continue
        state = COMMITTED if manifest.is_current(entry, shard, fingerprint) else CHANGED
        states.append(_committed(layout, entry, state))
    for name, entry in sorted(entries.items()):
        if name not in listed:  # committed earlier, its input since removed (or unreadable now)
            states.append(_committed(layout, entry, COMMITTED))
    total = Evaluation()
    for state in states:
        if state.state == COMMITTED:
            total += _evaluation(state.tasks)
    return StatusReport(states, total, input_error)


def _committed(layout: OutputLayout, entry: dict[str, Any], state: str) -> ShardState:
    metrics = layout.read_json(layout.metrics_path(entry["name"])) or {}
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
