"""Which shards are done: one commit marker per shard, written last.

A shard's results count only once its marker exists, and the marker is written after every part,
error file and metrics file of the shard. The marker records the shard's identity (path, size,
mtime/ETag) and the fingerprint of the configuration that produced it, so a rerun skips exactly
the shards that are done and unchanged, and redoes the rest from scratch.
"""

from __future__ import annotations

import datetime as dt
import posixpath
from dataclasses import asdict
from typing import Any

from fsspec import AbstractFileSystem

from ie_batch.io.shards import Shard
from ie_batch.io.writing import read_json, write_json

MANIFEST_DIR = "_manifest"


class Manifest:
    def __init__(self, fs: AbstractFileSystem, root: str) -> None:
        self.fs = fs
        self.root = root

    def marker_path(self, shard_name: str) -> str:
        return posixpath.join(self.root, MANIFEST_DIR, f"{shard_name}.json")

    def entry(self, shard_name: str) -> dict[str, Any] | None:
        return read_json(self.fs, self.marker_path(shard_name))

    def is_committed(self, shard: Shard, fingerprint: str) -> bool:
        entry = self.entry(shard.name)
        return (
            entry is not None
            and entry.get("path") == shard.path
            and entry.get("size") == shard.size
            and entry.get("version") == shard.version
            and entry.get("fingerprint") == fingerprint
            and entry.get("result_rows") == entry.get("rows")  # not cut short by a --limit
        )

    def clear(self, shard_name: str) -> None:
        """Remove whatever an earlier, unfinished attempt left of a shard."""
        for sub in ("_staging", "data", "errors", "metrics", "badcases"):
            for path in (
                posixpath.join(self.root, sub, shard_name),
                posixpath.join(self.root, sub, f"{shard_name}.json"),
                posixpath.join(self.root, sub, f"{shard_name}.jsonl"),
            ):
                if self.fs.exists(path):
                    self.fs.rm(path, recursive=True)
        if self.fs.exists(self.marker_path(shard_name)):
            self.fs.rm(self.marker_path(shard_name))

    def commit(self, shard: Shard, fingerprint: str, summary: dict[str, Any]) -> None:
        entry = {
            **asdict(shard),
            "fingerprint": fingerprint,
            "committed_at": dt.datetime.now(dt.UTC).isoformat(),
            **summary,
        }
        write_json(self.fs, self.marker_path(shard.name), entry)

    def entries(self) -> list[dict[str, Any]]:
        directory = posixpath.join(self.root, MANIFEST_DIR)
        if not self.fs.exists(directory):
            return []
        return [read_json(self.fs, path) for path in sorted(self.fs.glob(f"{directory}/*.json"))]
