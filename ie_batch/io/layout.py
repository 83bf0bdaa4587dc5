"""`OutputLayout`: every path of a job's output folder, and the moves between its areas.

    data/<shard>/part-*.parquet     errors/<shard>/part-*.jsonl     metrics/<shard>.json
    badcases/<shard>.jsonl          _manifest/<shard>.json          _failures/<shard>.json
    _staging/<shard>/{data,errors}/ and merged/{data,errors}/         _job.json  summary.json

The one object that knows the folder: the job, `status`, `retry-errors` and `read_results` ask
it for paths, and only it deletes, always inside `<output>/<area>/<shard>`.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Iterable
from typing import Any

import pyarrow as pa
from fsspec import AbstractFileSystem

from ie_batch.config import StorageConfig
from ie_batch.io.compaction import (
    group_name,
    group_parts,
    merge_lines,
    merge_parquet,
    read_footers,
)
from ie_batch.io.shards import is_safe_name
from ie_batch.io.storage import open_filesystem
from ie_batch.io.writing import read_json, write_json, write_jsonl, write_parquet
from ie_batch.job.columns import ROW_COLUMN

#: The areas that hold a shard's files, in the order `clear` empties them.
SHARD_AREAS = ("_staging", "data", "errors", "metrics", "badcases", "_failures")
MANIFEST_DIR = "_manifest"
JOB_RECORD = "_job.json"
SUMMARY = "summary.json"


class OutputLayout:
    def __init__(self, fs: AbstractFileSystem, root: str) -> None:
        self.fs = fs
        self.root = root

    @classmethod
    def open(cls, url: str, storage: StorageConfig | None = None) -> OutputLayout:
        fs, root = open_filesystem(url, storage)
        # fsspec shares one filesystem per process and an object store's listings never expire
        # in it: a reader opened now must see what other processes committed since
        fs.invalidate_cache()
        return cls(fs, root)

    def _path(self, *parts: str) -> str:
        return posixpath.join(self.root, *parts)

    def _shard_path(self, area: str, shard: str, suffix: str = "") -> str:
        """`<root>/<area>/<shard><suffix>`, for a shard name that can only name itself."""
        if not is_safe_name(shard):
            raise ValueError(f"{shard!r} is not a safe shard name (one path segment)")
        return self._path(area, f"{shard}{suffix}")

    # Committed results
    def data_dir(self, shard: str) -> str:
        return self._shard_path("data", shard)

    def errors_dir(self, shard: str) -> str:
        return self._shard_path("errors", shard)

    def metrics_path(self, shard: str) -> str:
        return self._shard_path("metrics", shard, ".json")

    def badcases_path(self, shard: str) -> str:
        return self._shard_path("badcases", shard, ".jsonl")

    def failure_path(self, shard: str) -> str:
        """Why the last attempt at a shard did not commit it (absent once it is committed)."""
        return self._shard_path("_failures", shard, ".json")

    def record_failure(self, shard: str, path: str, reason: str) -> None:
        self.write_json(self.failure_path(shard), {"shard": shard, "path": path, "reason": reason})

    def failure(self, shard: str) -> str | None:
        record = self.read_json(self.failure_path(shard))
        return record["reason"] if record else None

    def data_parts(self, shard: str) -> list[str]:
        """A shard's result parts in `data/`, sorted (by first row: part names are padded)."""
        return sorted(self.fs.glob(posixpath.join(self.data_dir(shard), "*.parquet")))

    def error_parts(self, shard: str) -> list[str]:
        return sorted(self.fs.glob(posixpath.join(self.errors_dir(shard), "*.jsonl")))

    # Staging: a shard's parts until it is committed
    def staging_dir(self, shard: str) -> str:
        """On a filesystem the move into `data/` is a rename per file; on an object store it is
        a copy per object, so a crash in the middle can leave part of a shard in `data/`
        without its marker (the next run clears it). Readers that must never see such a shard
        read the committed ones only (`ie_batch.api.read_results`)."""
        return self._shard_path("_staging", shard)

    def staged_data_dir(self, shard: str) -> str:
        return posixpath.join(self.staging_dir(shard), "data")

    def staged_errors_dir(self, shard: str) -> str:
        return posixpath.join(self.staging_dir(shard), "errors")

    def merged_dir(self, shard: str) -> str:
        """The shard's staged parts merged into parts of the target size (`stage_merged`),
        with their sidecars, waiting to be published in their place."""
        return posixpath.join(self.staging_dir(shard), "merged")

    def staged_parts(self, shard: str) -> dict[str, int]:
        """The shard's staged parts (one per write batch), path -> bytes."""
        found = self.fs.find(self.staged_data_dir(shard), detail=True)
        return {
            path: int(info.get("size") or 0)
            for path, info in found.items()
            if path.endswith(".parquet")
        }

    # Job-level files
    @property
    def manifest_dir(self) -> str:
        return self._path(MANIFEST_DIR)

    def marker_path(self, shard: str) -> str:
        return self._shard_path(MANIFEST_DIR, shard, ".json")

    @property
    def job_record_path(self) -> str:
        return self._path(JOB_RECORD)

    @property
    def summary_path(self) -> str:
        return self._path(SUMMARY)

    # Reading and writing documents
    def read_json(self, path: str) -> Any | None:
        return read_json(self.fs, path)

    def write_json(self, path: str, value: Any) -> None:
        write_json(self.fs, path, value)

    def write_jsonl(self, path: str, rows: Iterable[dict[str, Any]]) -> None:
        write_jsonl(self.fs, path, rows)

    # Staging a shard's parts
    def stage_part(self, shard: str, part: str, table: pa.Table) -> str:
        """Stage a shard's rows (sorted by row number) as the part named `part` (by the rows it
        holds: `io.writing.part_name`, so a redone shard overwrites its own parts)."""
        path = posixpath.join(self.staged_data_dir(shard), f"{part}.parquet")
        write_parquet(self.fs, path, table.sort_by(ROW_COLUMN))
        return path

    def stage_error_part(self, shard: str, part: str, lines: list[dict[str, Any]]) -> str | None:
        """Stage the error sidecar of the part named `part` (nothing when it has no errors)."""
        if not lines:
            return None
        path = posixpath.join(self.staged_errors_dir(shard), f"{part}.jsonl")
        self.write_jsonl(path, lines)
        return path

    def stage_merged(
        self, shard: str, rows: int, part_bytes: int, observe: Callable[[pa.Table], None]
    ) -> list[str] | None:
        """Merge the shard's staged parts into parts of about `part_bytes` (`io.compaction`)
        and their sidecars alike, under `merged_dir`, each staged part's data read once and
        handed to `observe` (which checks its rows). Returns the merged parts' names, or None
        (nothing written) when there is nothing to merge (fewer than two parts), the parts'
        column types cannot be unified, or their footers do not add up to the shard's `rows`
        (a shard the commit refuses: no point writing it)."""
        sizes = self.staged_parts(shard)
        if len(sizes) < 2:
            return None
        footers = read_footers(self.fs, sorted(sizes))
        if footers.schema is None or footers.rows != rows:
            return None
        self._remove(self.merged_dir(shard))  # what an attempt killed half way left
        merged = posixpath.join(self.merged_dir(shard), "data")
        sidecars = set(self.fs.find(self.staged_errors_dir(shard)))
        names = []
        for group in group_parts(list(sizes.items()), part_bytes):
            name = group_name(group)
            destination = posixpath.join(merged, f"{name}.parquet")
            merge_parquet(self.fs, group, destination, footers.schema, observe)
            lines = [path for part in group if (path := self._sidecar_of(shard, part)) in sidecars]
            if lines:
                target = posixpath.join(self.merged_dir(shard), "errors", f"{name}.jsonl")
                merge_lines(self.fs, lines, target)
            names.append(name)
        return names

    def drop_merged(self, shard: str) -> None:
        """Remove the shard's merged parts (a merge whose shard was refused)."""
        self._remove(self.merged_dir(shard))

    def _sidecar_of(self, shard: str, part: str) -> str:
        stem = posixpath.basename(part).removesuffix(".parquet")
        return posixpath.join(self.staged_errors_dir(shard), f"{stem}.jsonl")

    # Moves and deletes
    def publish(self, shard: str, merged: bool = False) -> None:
        """Move a complete shard's staged parts to `data/` and its staged error sidecars to
        `errors/` (which they replace whole), before its marker is written: the merged parts
        and their sidecars (`stage_merged`) when `merged`, else the parts as the write stage
        (or `retry-errors`, replacing some of a shard's parts under their names) staged them.
        Only listings and moves: the shard's bytes never pass through this process."""
        staged = self.staging_dir(shard)
        source = self.merged_dir(shard) if merged else staged
        self._remove(self.errors_dir(shard))
        for area, target in (("data", self.data_dir(shard)), ("errors", self.errors_dir(shard))):
            # file by file: object stores have no directories to rename, only keys to copy
            origin = posixpath.join(source, area)
            for path in self.fs.find(origin):
                destination = posixpath.join(target, posixpath.relpath(path, origin))
                self.fs.makedirs(posixpath.dirname(destination), exist_ok=True)
                self.fs.mv(path, destination)
        self._remove(staged)

    def clear(self, shard: str) -> None:
        """Remove whatever an earlier attempt left of a shard. The marker goes first: a crash
        half way leaves an uncommitted shard, never a committed one without its data."""
        self._remove(self.marker_path(shard))
        for area in SHARD_AREAS:
            for suffix in ("", ".json", ".jsonl"):
                self._remove(self._shard_path(area, shard, suffix))

    def drop_marker_file(self, path: str) -> None:
        """Remove one marker file by its path (for a marker whose shard name is no safe path
        segment, which only an older version wrote): never anything but a file in
        `_manifest/`."""
        if posixpath.dirname(path) != self.manifest_dir or not path.endswith(".json"):
            raise ValueError(f"{path}: not a marker file of {self.root}")
        self.fs.rm_file(path)

    def _remove(self, path: str) -> None:
        if self.fs.exists(path):
            self.fs.rm(path, recursive=True)
