"""Which shards are done: one commit marker per shard, written last.

A shard's results count only once its marker exists, and the marker is written after every part,
error file and metrics file of the shard. The marker records the shard's identity (path, size,
mtime/ETag) and the fingerprint of the configuration that produced it, so a rerun skips exactly
the shards that are done and unchanged, and redoes the rest from scratch.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, fields
from typing import Any

from ie_batch.fingerprint import Fingerprint
from ie_batch.io.layout import OutputLayout
from ie_batch.io.shards import Shard

_SHARD_FIELDS = tuple(field.name for field in fields(Shard))


class Manifest:
    def __init__(self, layout: OutputLayout) -> None:
        self.layout = layout

    def entry(self, shard_name: str) -> dict[str, Any] | None:
        return self.layout.read_json(self.layout.marker_path(shard_name))

    def is_committed(self, shard: Shard, fingerprint: Fingerprint) -> bool:
        """Committed under `fingerprint` from exactly this input (and not cut short by a
        --limit), with its data in place: a marker is never trusted over missing data."""
        entry = self.entry(shard.name)
        return entry is not None and self.is_current(entry, shard, fingerprint)

    def is_current(self, entry: dict[str, Any], shard: Shard, fingerprint: Fingerprint) -> bool:
        """`entry` (a marker) is this shard's, under `fingerprint`, and its data is there."""
        has_data = not entry.get("result_rows") or bool(self.layout.data_parts(shard.name))
        return entry_matches(entry, shard, fingerprint) and has_data

    def commit(self, shard: Shard, fingerprint: str, summary: dict[str, Any]) -> None:
        entry = {
            **asdict(shard),
            "fingerprint": fingerprint,
            "committed_at": dt.datetime.now(dt.UTC).isoformat(),
            **summary,
        }
        self.layout.write_json(self.layout.marker_path(shard.name), entry)

    def adopt(self, shard: Shard, entry: dict[str, Any], fingerprint: Fingerprint) -> None:
        """Rewrite `entry`, the shard's committed marker, when it carries the legacy fingerprint,
        under the current one, so the migration happens once per shard, not on every run."""
        if entry.get("fingerprint") != fingerprint.value:
            entry = {**entry, "fingerprint": fingerprint.value}
            self.layout.write_json(self.layout.marker_path(shard.name), entry)

    def entries(self) -> list[dict[str, Any]]:
        return [entry for _, entry in self.marker_files()]

    def marker_files(self) -> list[tuple[str, dict[str, Any]]]:
        """(path, entry) of every marker, by path."""
        fs, directory = self.layout.fs, self.layout.manifest_dir
        if not fs.exists(directory):
            return []
        paths = sorted(fs.glob(f"{directory}/*.json"))
        return [(path, self.layout.read_json(path)) for path in paths]


def entry_matches(entry: dict[str, Any], shard: Shard, fingerprint: Fingerprint) -> bool:
    return (
        (entry.get("path"), entry.get("size"), entry.get("version"))
        == (shard.path, shard.size, shard.version)
        and fingerprint.accepts(entry.get("fingerprint"))
        and entry.get("result_rows") == entry.get("rows")  # not cut short by a --limit
    )


def shard_of(entry: dict[str, Any]) -> Shard:
    """The input shard a marker was written for."""
    return Shard(**{name: entry.get(name) for name in _SHARD_FIELDS})
