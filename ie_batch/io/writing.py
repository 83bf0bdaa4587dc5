"""Writing result parts, error sidecars and JSON documents to any fsspec filesystem.

Part names are deterministic (`part-<first row>-<last row>`), so a shard redone after a crash
overwrites its own parts instead of adding to them; the shard is committed (see manifest) only
after every one of its rows is written.
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Iterable
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from fsspec import AbstractFileSystem

from ie_batch.io.reading import ROW_COLUMN, SHARD_COLUMN


def data_dir(root: str, shard: str) -> str:
    """Where a committed shard's result parts are."""
    return posixpath.join(root, "data", shard)


def errors_dir(root: str, shard: str) -> str:
    return posixpath.join(root, "errors", shard)


def staging_dir(root: str, shard: str) -> str:
    """Where a shard's parts are written until the shard is committed. On a filesystem the
    move into `data/` is a rename per file; on an object store it is a copy per object, so a
    crash in the middle can leave part of a shard in `data/` without its marker (the next run
    clears it). Readers that must never see such a shard read the committed ones only
    (`ie_batch.api.read_results`)."""
    return posixpath.join(root, "_staging", shard)


def publish(fs: AbstractFileSystem, root: str, shard: str) -> None:
    """Move a complete shard's staged parts to `data/` and `errors/` (before its marker)."""
    staged = staging_dir(root, shard)
    for kind, target in (("data", data_dir(root, shard)), ("errors", errors_dir(root, shard))):
        source = posixpath.join(staged, kind)
        # file by file: object stores have no directories to rename, only keys to copy
        for path in fs.find(source):
            destination = posixpath.join(target, posixpath.relpath(path, source))
            fs.makedirs(posixpath.dirname(destination), exist_ok=True)
            fs.mv(path, destination)
    if fs.exists(staged):
        fs.rm(staged, recursive=True)


def part_name(first_row: int, last_row: int) -> str:
    return f"part-{first_row:09d}-{last_row:09d}"


def write_part(fs: AbstractFileSystem, root: str, shard: str, table: pa.Table) -> str:
    """Stage one shard's rows (sorted by row number) as a Parquet part; returns its path."""
    table = table.sort_by(ROW_COLUMN)
    rows = table.column(ROW_COLUMN)
    name = part_name(rows[0].as_py(), rows[-1].as_py())
    directory = posixpath.join(staging_dir(root, shard), "data")
    path = posixpath.join(directory, f"{name}.parquet")
    fs.makedirs(directory, exist_ok=True)
    with fs.open(path, "wb") as handle:
        pq.write_table(table, handle)
    return path


def write_error_part(fs: AbstractFileSystem, directory: str, table: pa.Table) -> str | None:
    """The rows of a part that carry errors, one JSON line each: id, shard, row, stage, reason;
    written into `directory` (the shard's staging area, or `errors/<shard>` once committed)."""
    lines = []
    for row in table.select(["id", SHARD_COLUMN, ROW_COLUMN, "errors"]).to_pylist():
        for reason in row["errors"] or []:
            stage, _, detail = reason.partition(": ")
            stage = stage if stage in {"read", "gold"} else "extract"
            lines.append(
                {
                    "id": row["id"],
                    "shard": row[SHARD_COLUMN],
                    "row": row[ROW_COLUMN],
                    "stage": stage,
                    "reason": reason if stage == "extract" else detail,
                }
            )
    if not lines:
        return None
    rows = table.column(ROW_COLUMN)
    fs.makedirs(directory, exist_ok=True)
    path = posixpath.join(
        directory, f"{part_name(min(rows.to_pylist()), max(rows.to_pylist()))}.jsonl"
    )
    write_jsonl(fs, path, lines)
    return path


def write_json(fs: AbstractFileSystem, path: str, value: Any) -> None:
    fs.makedirs(posixpath.dirname(path), exist_ok=True)
    with fs.open(path, "w", encoding="utf-8") as handle:
        json.dump(value, handle, ensure_ascii=False, indent=2, default=str)


def write_jsonl(fs: AbstractFileSystem, path: str, rows: Iterable[dict[str, Any]]) -> None:
    fs.makedirs(posixpath.dirname(path), exist_ok=True)
    with fs.open(path, "w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")


def read_json(fs: AbstractFileSystem, path: str) -> Any | None:
    if not fs.exists(path):
        return None
    with fs.open(path, "r", encoding="utf-8") as handle:
        return json.load(handle)
