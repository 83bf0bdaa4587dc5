"""Content digests of local files and folders, so that what a path holds, not the path, decides
whether a shard is reprocessed.

A folder's digest covers the relative name and the bytes of every file under it, hidden files and
folders (`.git`, `.cache`) aside. Hashing a model of many gigabytes on every run and every
`status` would cost seconds to minutes, so each file's digest is cached by (path, size, mtime)
in `<cache root>/digests.json`: a file rewritten in place gets a new mtime and is hashed again.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

_CHUNK = 1 << 20
_CACHE_NAME = "digests.json"


class DigestCache:
    """File digests keyed by (resolved path, size, mtime_ns), kept in one JSON file."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.entries: dict[str, str] = {}
        self.changed = False
        if path is not None:
            try:
                self.entries = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                self.entries = {}

    def file_digest(self, path: Path) -> str:
        stat = path.stat()
        key = f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"
        digest = self.entries.get(key)
        if digest is None:
            digest = _sha256_of_file(path)
            self.entries[key] = digest
            self.changed = True
        return digest

    def save(self) -> None:
        """Written to a temporary file and renamed, so a concurrent reader never sees half."""
        if self.path is None or not self.changed:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(
                "w", dir=self.path.parent, delete=False, suffix=".tmp", encoding="utf-8"
            ) as out:
                json.dump(self.entries, out)
            os.replace(out.name, self.path)
        except OSError:
            pass  # a cache that cannot be written only costs the hashing next time


def content_digest(path: str | Path, cache_dir: Path | None = None) -> str:
    """sha256 of a file's bytes, or of a folder's files (names and bytes); "missing" when the
    path does not exist (the driver's checks refuse such a job before it runs)."""
    target = Path(path).expanduser()
    cache = DigestCache(cache_dir / _CACHE_NAME if cache_dir is not None else None)
    try:
        if target.is_file():
            return cache.file_digest(target)
        if not target.is_dir():
            return "missing"
        outer = hashlib.sha256()
        for file in _visible_files(target):
            outer.update(file.relative_to(target).as_posix().encode("utf-8") + b"\0")
            outer.update(cache.file_digest(file).encode("ascii") + b"\n")
        return outer.hexdigest()
    finally:
        cache.save()


def _visible_files(folder: Path) -> list[Path]:
    files = []
    for root, dirs, names in os.walk(folder, followlinks=True):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        files.extend(Path(root) / name for name in sorted(names) if not name.startswith("."))
    return files


def _sha256_of_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
