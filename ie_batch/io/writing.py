"""Writing Parquet parts and JSON documents to any fsspec filesystem, and naming parts.

Part names are deterministic (`part-<first row>-<last row>`), so a shard redone after a crash
overwrites its own parts instead of adding to them.
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Iterable
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from fsspec import AbstractFileSystem


def part_name(first_row: int, last_row: int) -> str:
    return f"part-{first_row:09d}-{last_row:09d}"


def write_parquet(fs: AbstractFileSystem, path: str, table: pa.Table) -> None:
    fs.makedirs(posixpath.dirname(path), exist_ok=True)
    with fs.open(path, "wb") as handle:
        pq.write_table(table, handle)


def read_parquet(fs: AbstractFileSystem, path: str) -> pa.Table:
    with fs.open(path, "rb") as handle:
        return pq.read_table(handle)


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


def read_jsonl(fs: AbstractFileSystem, path: str) -> list[Any]:
    with fs.open(path, "r", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]
