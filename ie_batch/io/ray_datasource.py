"""A Ray Data datasource with one streaming read task per input shard.

Ray's own readers do not number rows within a file; ie_batch needs the number for stable ids and
for checking that every row of a shard came out, so each read task streams its shard through
`iter_shard_batches` and yields Arrow blocks as it goes (a large shard never sits in memory).
A file that cannot be read to its end (corrupt, truncated) costs its shard only: the task records
why in the output's failure record and ends, so the shard stays uncommitted while every other
shard goes on.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fsspec import AbstractFileSystem
from ray.data.block import BlockMetadata
from ray.data.datasource import Datasource, ReadTask

from ie_batch.io.layout import OutputLayout
from ie_batch.io.reading import iter_shard_batches
from ie_batch.io.shards import Shard, unreadable_reason


class ShardDatasource(Datasource):
    def __init__(
        self,
        fs: AbstractFileSystem,
        shards: list[Shard],
        batch_rows: int = 1024,
        row_limits: dict[str, int | None] | None = None,
        failures: OutputLayout | None = None,
        text_column: str = "text",
        only_rows: dict[str, frozenset[int]] | None = None,
    ) -> None:
        super().__init__()
        self._only_rows = only_rows
        self._text_column = text_column
        self._failures = failures
        self._fs = fs
        self._shards = shards
        self._batch_rows = batch_rows
        self._row_limits = row_limits or {}

    def get_name(self) -> str:
        return "IEBatchShards"

    def estimate_inmemory_data_size(self) -> int | None:
        return sum(shard.size for shard in self._shards) or None

    def get_read_tasks(
        self, parallelism: int, per_task_row_limit: int | None = None, data_context: Any = None
    ) -> list[ReadTask]:
        return [self._task(shard) for shard in self._shards]

    def _task(self, shard: Shard) -> ReadTask:
        fs, batch_rows, limit = self._fs, self._batch_rows, self._row_limits.get(shard.name)
        failures, text_column = self._failures, self._text_column
        only = None if self._only_rows is None else self._only_rows.get(shard.name, frozenset())

        def read() -> Iterable[Any]:
            try:
                yield from iter_shard_batches(fs, shard, batch_rows, limit, text_column, only)
            except Exception as exc:  # noqa: BLE001 - a bad file costs its shard, not the job
                if failures is None:
                    raise
                failures.record_failure(shard.name, shard.path, unreadable_reason(shard, exc))

        metadata = BlockMetadata(
            num_rows=len(only) if only is not None else shard.rows if limit is None else limit,
            size_bytes=shard.size,
            input_files=(shard.path,),
            exec_stats=None,
        )
        return ReadTask(read, metadata)
