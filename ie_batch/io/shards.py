"""Listing input shards: files, folders or globs, local or on any fsspec filesystem.

A shard is one input file. Its name (the path relative to the input root, without the suffix)
names its results, metrics and manifest entry, so it must be stable across runs and unique within
a job. Its identity for incremental runs is (path, size, mtime or ETag).
"""

from __future__ import annotations

import contextlib
import gzip
import io
import os
import posixpath
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from fsspec import AbstractFileSystem

from ie_batch.config import StorageConfig
from ie_batch.io.storage import open_filesystem

SUFFIXES = (".jsonl.gz", ".ndjson.gz", ".jsonl", ".ndjson", ".parquet")


@dataclass(frozen=True)
class Shard:
    path: str  # as the filesystem names it (no protocol)
    name: str  # stable, unique, safe as a file name
    format: str  # "parquet" or "jsonl"
    size: int
    version: str  # mtime or ETag, whichever the filesystem has
    rows: int | None = None

    @property
    def compressed(self) -> bool:
        return self.path.endswith(".gz")


class ShardError(ValueError):
    """Input that cannot be listed or read, naming the path."""


def shard_format(path: str) -> str | None:
    lowered = path.lower()
    if lowered.endswith(".parquet"):
        return "parquet"
    if lowered.endswith(SUFFIXES):
        return "jsonl"
    return None


def list_shards(
    paths: Iterable[str], storage: StorageConfig | None = None
) -> tuple[AbstractFileSystem, list[Shard]]:
    """Every shard under `paths`, sorted by path; all paths must be on one filesystem."""
    paths = list(paths)
    fs, _ = open_filesystem(paths[0], storage)
    # fsspec reuses filesystem instances and their listings: a long-lived process (a notebook,
    # a rerun in the same driver) would otherwise see yesterday's sizes and ETags.
    fs.invalidate_cache()
    found: dict[str, dict[str, Any]] = {}
    roots: list[str] = []
    for given in paths:
        given_fs, stripped = open_filesystem(given, storage)
        if type(given_fs) is not type(fs):
            raise ShardError(f"{given}: all input paths must be on one filesystem")
        if any(ch in stripped for ch in "*?["):
            matches = given_fs.glob(stripped, detail=True)
            roots.append(_glob_root(stripped))
        elif given_fs.isdir(stripped):
            matches = given_fs.find(stripped, detail=True)
            roots.append(stripped.rstrip("/"))
        elif given_fs.exists(stripped):
            matches = {stripped: given_fs.info(stripped)}
            roots.append(posixpath.dirname(stripped))
        else:
            raise ShardError(f"{given}: no such file or folder")
        for path, info in matches.items():
            if info.get("type", "file") == "file" and shard_format(path):
                found[path] = info
    if not found:
        raise ShardError(
            f"{', '.join(paths)}: no input shards found (expected files ending in "
            f"{', '.join(SUFFIXES)})"
        )
    root = _common_root(roots)
    shards = [_shard(path, info, root) for path, info in sorted(found.items())]
    names = [shard.name for shard in shards]
    if len(set(names)) != len(names):
        dupes = sorted({n for n in names if names.count(n) > 1})
        raise ShardError(f"two input files map to the same shard name: {', '.join(dupes)}")
    return fs, shards


def _shard(path: str, info: dict[str, Any], root: str) -> Shard:
    relative = posixpath.relpath(path, root) if root else path.lstrip("/")
    for suffix in SUFFIXES:
        if relative.lower().endswith(suffix):
            relative = relative[: -len(suffix)]
            break
    name = re.sub(r"[^A-Za-z0-9._=-]+", "_", relative.replace("/", "__"))
    version = str(
        info.get("ETag") or info.get("etag") or info.get("mtime") or info.get("LastModified") or ""
    )
    return Shard(
        path=path,
        name=name,
        format=shard_format(path) or "jsonl",
        size=int(info.get("size") or 0),
        version=version.strip('"'),
    )


def _glob_root(pattern: str) -> str:
    parts = pattern.split("/")
    fixed = []
    for part in parts:
        if any(ch in part for ch in "*?["):
            break
        fixed.append(part)
    return "/".join(fixed)


def _common_root(roots: list[str]) -> str:
    try:
        return os.path.commonpath(roots) if roots else ""
    except ValueError:
        return ""


def count_rows(fs: AbstractFileSystem, shard: Shard) -> int:
    """Rows in a shard: Parquet's footer, or the non-empty lines of a JSONL file."""
    if shard.format == "parquet":
        import pyarrow.parquet as pq

        with fs.open(shard.path, "rb") as handle:
            return pq.ParquetFile(handle).metadata.num_rows
    count = 0
    with open_text(fs, shard) as handle:
        for line in handle:
            if line.strip():
                count += 1
    return count


@contextlib.contextmanager
def open_text(fs: AbstractFileSystem, shard: Shard) -> Iterator[io.TextIOBase]:
    """The shard as text; a byte order mark is skipped, and every layer is closed after."""
    with fs.open(shard.path, "rb") as raw:
        stream = gzip.GzipFile(fileobj=raw) if shard.compressed else raw
        with io.TextIOWrapper(stream, encoding="utf-8-sig", errors="replace") as text:
            yield text
