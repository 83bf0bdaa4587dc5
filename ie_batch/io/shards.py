"""Listing input shards: files, folders or globs, local or on any fsspec filesystem.

A shard is one input file. Its name names its results, metrics and manifest entry, so it is one
safe path segment, stable across runs, and unique within a job: the path relative to the input
path it was found under (not to the other input paths: adding a folder to a nightly job renames
nothing), without the suffix, `/` as `__`, characters other than letters, digits and `._=-`
replaced. When two files would take one name, the first (in the order the input paths are given,
then by path) keeps it and the others get a suffix from their path's hash.

Listing follows the Hadoop and pyarrow conventions: files and folders whose name starts with `_`
or `.` (`_SUCCESS`, `_temporary/`, `.crc` files) are not shards, nor is anything under the job's
own output folder; symbolic links are followed; suffixes compare without case. What was left
out, and why, comes back with the listing. A shard's identity for incremental runs is
(path, size, mtime or ETag).
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import posixpath
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from fsspec import AbstractFileSystem

from ie_batch.config import StorageConfig
from ie_batch.io.storage import open_filesystem

SUFFIXES = (".jsonl.gz", ".ndjson.gz", ".jsonl", ".ndjson", ".parquet")
HIDDEN_PREFIXES = ("_", ".")
_UNSAFE = re.compile(r"[^\w.=-]+")


@dataclass(frozen=True)
class Shard:
    path: str  # as the filesystem names it (no protocol)
    name: str  # stable, unique, one safe path segment
    format: str  # "parquet" or "jsonl"
    size: int
    version: str  # mtime or ETag, whichever the filesystem has
    rows: int | None = None

    @property
    def compressed(self) -> bool:
        return self.path.lower().endswith(".gz")


@dataclass(frozen=True)
class ShardListing:
    fs: AbstractFileSystem
    shards: list[Shard]
    #: (path, why) of the files found but not read as shards
    ignored: list[tuple[str, str]] = field(default_factory=list)


class ShardError(ValueError):
    """Input that cannot be listed or read, naming the path."""


def shard_format(path: str) -> str | None:
    lowered = path.lower()
    if lowered.endswith(".parquet"):
        return "parquet"
    if lowered.endswith(SUFFIXES):
        return "jsonl"
    return None


def is_safe_name(name: str) -> bool:
    """One path segment that names nothing but itself: no separator, not `.`/`..`/empty."""
    return bool(name.strip(".")) and "/" not in name and "\\" not in name


def list_shards(
    paths: Iterable[str], storage: StorageConfig | None = None, exclude: Iterable[str] = ()
) -> ShardListing:
    """Every shard under `paths` (all on one filesystem), sorted by path; nothing under the
    folders in `exclude` (the job's output)."""
    paths = list(paths)
    fs, _ = open_filesystem(paths[0], storage)
    # fsspec reuses filesystem instances and their listings: a long-lived process (a notebook,
    # a rerun in the same driver) would otherwise see yesterday's sizes and ETags.
    fs.invalidate_cache()
    excluded = [open_filesystem(path, storage)[1].rstrip("/") for path in exclude]
    found: dict[str, tuple[dict[str, Any], str]] = {}  # path -> (info, its input root)
    ignored: list[tuple[str, str]] = []
    for given in paths:
        given_fs, stripped = open_filesystem(given, storage)
        if type(given_fs) is not type(fs):
            raise ShardError(f"{given}: all input paths must be on one filesystem")
        root, matches = _matches(fs, given, stripped)
        for path, info in sorted(matches.items()):
            why = _why_not(path, info, root, excluded)
            if why:
                ignored.append((path, why))
            elif path not in found:
                found[path] = (info, root)
    if not found:
        raise ShardError(
            f"{', '.join(paths)}: no input shards found (expected files ending in "
            f"{', '.join(SUFFIXES)}, whose names do not start with _ or .)"
        )
    shards = _named(found)
    return ShardListing(fs, sorted(shards, key=lambda shard: shard.path), ignored)


def _matches(fs: AbstractFileSystem, given: str, stripped: str) -> tuple[str, dict[str, Any]]:
    """The files one input path stands for, and the root their names are relative to."""
    if any(ch in stripped for ch in "*?["):
        return _glob_root(stripped), fs.glob(stripped, detail=True)
    if fs.isdir(stripped):
        return stripped.rstrip("/"), _find(fs, stripped)
    if fs.exists(stripped):
        return posixpath.dirname(stripped), {stripped: _followed(fs, stripped, fs.info(stripped))}
    raise ShardError(f"{given}: no such file or folder")


def _find(
    fs: AbstractFileSystem, folder: str, seen: frozenset[str] = frozenset()
) -> dict[str, Any]:
    """Every file under `folder`, through symbolic links to files and folders (a link back
    to a folder it is in is not followed again)."""
    files: dict[str, Any] = {}
    for path, info in fs.find(folder, detail=True).items():
        if not info.get("islink"):
            files[path] = info
        elif fs.isdir(path):
            target = _real(fs, path)
            if target not in seen:
                files.update(_find(fs, path.rstrip("/") + "/", seen | {target, _real(fs, folder)}))
        else:
            files[path] = _followed(fs, path, info)
    return files


def _followed(fs: AbstractFileSystem, path: str, info: dict[str, Any]) -> dict[str, Any]:
    """A link's info as a file's (fsspec reports links to files as type "other")."""
    if info.get("islink") and fs.isfile(path):
        return {**info, "type": "file"}
    return info


def _real(fs: AbstractFileSystem, path: str) -> str:
    import os

    return os.path.realpath(path) if fs.protocol in ("file", ("file", "local")) else path


def _why_not(path: str, info: dict[str, Any], root: str, excluded: list[str]) -> str | None:
    """Why a listed file is not a shard, or None when it is one."""
    if info.get("type", "file") != "file":
        return "not a file"
    if any(path == out or path.startswith(out + "/") for out in excluded):
        return "the job's output folder"
    relative = posixpath.relpath(path, root) if root else path.lstrip("/")
    if any(part.startswith(HIDDEN_PREFIXES) for part in relative.split("/")):
        return "hidden (a name that starts with _ or .)"
    if shard_format(path) is None:
        return f"not a shard ({', '.join(SUFFIXES)})"
    return None


def _named(found: dict[str, tuple[dict[str, Any], str]]) -> list[Shard]:
    """Shards in the order found (input paths as given, then by path), the first to claim a
    name keeping it."""
    shards: list[Shard] = []
    taken: set[str] = set()
    for path, (info, root) in found.items():
        name = shard_name(path, root)
        if name in taken:
            name = f"{name}-{hashlib.sha256(path.encode('utf-8')).hexdigest()[:8]}"
        taken.add(name)
        shards.append(_shard(path, name, info))
    return shards


def shard_name(path: str, root: str) -> str:
    relative = posixpath.relpath(path, root) if root else path.lstrip("/")
    for suffix in SUFFIXES:
        if relative.lower().endswith(suffix):
            relative = relative[: -len(suffix)]
            break
    name = _UNSAFE.sub("_", relative.replace("/", "__"))
    if not is_safe_name(name):  # nothing but dots: name it by its path instead
        name = f"shard-{hashlib.sha256(path.encode('utf-8')).hexdigest()[:8]}"
    return name


def _shard(path: str, name: str, info: dict[str, Any]) -> Shard:
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


def unreadable_reason(shard: Shard, exc: BaseException) -> str:
    """Why a shard's file could not be read, naming the file: what its failure records."""
    return f"{shard.path}: cannot be read: {type(exc).__name__}: {exc}"


def count_shards(
    fs: AbstractFileSystem, shards: list[Shard], limit: int | None
) -> tuple[list[Shard], dict[str, int], list[tuple[Shard, str]]]:
    """The shards counted (`rows` set), the rows to take of each (cut to `limit` in total, over
    the shards in order; shards past the limit are left out), and the shards that cannot be
    counted (a corrupt or truncated file), with why."""
    counted: list[Shard] = []
    take: dict[str, int] = {}
    unreadable: list[tuple[Shard, str]] = []
    left = limit
    for shard in shards:
        if left is not None and left <= 0:
            break
        try:
            rows = count_rows(fs, shard)
        except Exception as exc:  # noqa: BLE001 - a bad file costs its shard, not the job
            unreadable.append((shard, unreadable_reason(shard, exc)))
            continue
        take[shard.name] = rows if left is None else min(rows, left)
        if left is not None:
            left -= take[shard.name]
        counted.append(replace(shard, rows=rows))
    return counted, take, unreadable


def count_rows(fs: AbstractFileSystem, shard: Shard) -> int:
    """Rows in a shard: Parquet's footer, or the non-blank lines of a JSONL file."""
    if shard.format == "parquet":
        import pyarrow.parquet as pq

        with fs.open(shard.path, "rb") as handle:
            return pq.ParquetFile(handle).metadata.num_rows
    return sum(1 for _ in iter_lines(fs, shard))


_BOM = b"\xef\xbb\xbf"


def iter_lines(fs: AbstractFileSystem, shard: Shard) -> Iterator[tuple[int, bytes]]:
    """(1-based line number, bytes) of each non-blank line of a JSONL shard, split on `\\n`
    as JSON Lines are; a byte order mark is skipped. Bytes, not text: a line that is not valid
    UTF-8 must cost that line only, and say so, never turn into replacement characters."""
    with fs.open(shard.path, "rb") as raw:
        stream = gzip.GzipFile(fileobj=raw) if shard.compressed else raw
        with contextlib.closing(stream):
            for number, line in enumerate(stream, start=1):
                if number == 1 and line.startswith(_BOM):
                    line = line[len(_BOM) :]
                if line.strip():
                    yield number, line
