"""The output lease: one job writes an output folder at a time.

`<output>/_lease.json` names its holder (host, pid, a random id), when it took the lease, its
last heartbeat, and when the lease expires unless renewed. It is created exclusively (a local
`O_EXCL` create; on S3 a conditional PUT, `If-None-Match: *`), so of two jobs started together
exactly one gets it and the other fails fast, naming the holder. The holder renews it from a
background thread; a lease whose holder died expires after `ttl_s` and the next job takes it
over, or an operator breaks it at once with `ie-batch unlock OUTPUT`. A holder that finds its
lease taken (it was paused past expiry) stops committing: `check()` raises `LeaseLost`.
"""

from __future__ import annotations

import errno
import json
import os
import socket
import threading
import time
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from ie_batch.io.layout import OutputLayout
from ie_batch.io.storage import redact

LEASE_FILE = "_lease.json"
#: Seconds a lease lives without a heartbeat; the holder renews it every third of that.
DEFAULT_TTL_S = 120.0


class LeaseHeld(RuntimeError):
    """Another job holds the output."""


class LeaseLost(RuntimeError):
    """This job's lease expired and another job took the output over."""


@dataclass(frozen=True)
class LeaseRecord:
    owner: str
    acquired_at: float
    heartbeat_at: float
    ttl_s: float

    @property
    def expires_at(self) -> float:
        return self.heartbeat_at + self.ttl_s

    def describe(self) -> str:
        def at(moment: float) -> str:
            return datetime.fromtimestamp(moment, UTC).isoformat(timespec="seconds")

        return (
            f"job {self.owner} (since {at(self.acquired_at)}, last heartbeat "
            f"{at(self.heartbeat_at)}, expires {at(self.expires_at)} unless renewed)"
        )


class OutputLease:
    def __init__(self, layout: OutputLayout, ttl_s: float = DEFAULT_TTL_S) -> None:
        self.layout = layout
        self.ttl_s = ttl_s
        self.path = f"{layout.root}/{LEASE_FILE}"
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._acquired_at = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lost: str | None = None

    # Taking and giving back
    def acquire(self, url: str) -> None:
        """Take the lease or raise `LeaseHeld` naming the holder and how to break it; a lease
        past its expiry is taken over. `url` names the output in the message (redacted)."""
        url = redact(url)
        now = time.time()
        self._acquired_at = now
        if self._create(self._record(now)):
            self._start_heartbeat()
            return
        held = self.read()
        if held is not None and held.owner == self.owner:
            # our own create landed and its answer was lost (a 500 retried into a 412)
            self._start_heartbeat()
            return
        if held is not None and held.expires_at < now and self._take_over(held, now):
            self._start_heartbeat()
            return
        holder = held.describe() if held else "a job whose lease file cannot be read"
        raise LeaseHeld(
            f"{url}: the output is held by {holder}. Two jobs must not write one output. If "
            f"that job is no longer running, wait for the lease to expire or break it with "
            f"`ie-batch unlock {url}`."
        )

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        held = self.read()
        if held is not None and held.owner == self.owner:
            self.layout.fs.rm_file(self.path)

    def __enter__(self) -> OutputLease:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()

    def check(self) -> None:
        """Raise `LeaseLost` if another job took the output over (call before committing)."""
        if self._lost:
            raise LeaseLost(self._lost)

    # The lease file
    def read(self) -> LeaseRecord | None:
        try:
            with self.layout.fs.open(self.path, "rb") as handle:
                return LeaseRecord(**json.loads(handle.read()))
        except FileNotFoundError:
            return None
        except (ValueError, TypeError):  # a torn or foreign file: treat as held, unknown holder
            return None

    def _record(self, now: float) -> LeaseRecord:
        return LeaseRecord(self.owner, self._acquired_at, now, self.ttl_s)

    def _create(self, record: LeaseRecord) -> bool:
        """Create the lease file only if there is none; False when there is one."""
        fs, data = self.layout.fs, json.dumps(asdict(record)).encode("utf-8")
        fs.makedirs(self.layout.root, exist_ok=True)
        try:
            if _is_local(fs):
                with open(self.path, "xb") as handle:
                    handle.write(data)
            else:
                fs.pipe_file(self.path, data, mode="create")
        except FileExistsError:
            return False
        except OSError as exc:
            if _is_precondition_failure(exc):
                return False
            raise
        fs.invalidate_cache(self.path)
        return True

    def _take_over(self, stale: LeaseRecord, now: float) -> bool:
        """Replace an expired lease, unless it changed since it was read (its holder came back,
        or another job took it over first)."""
        if self.read() != stale:
            return False
        self.layout.fs.rm_file(self.path)
        return self._create(self._record(now))

    # Heartbeat
    def _start_heartbeat(self) -> None:
        self._thread = threading.Thread(target=self._beat, name="ie-batch-lease", daemon=True)
        self._thread.start()

    def _beat(self) -> None:
        while not self._stop.wait(self.ttl_s / 3):
            held = self.read()
            if held is None or held.owner != self.owner:
                self._lost = (
                    f"{self.path}: this job's lease was taken over by "
                    f"{held.describe() if held else 'nobody (it was removed)'}; "
                    "nothing more is committed"
                )
                return
            with self.layout.fs.open(self.path, "wb") as handle:
                handle.write(json.dumps(asdict(self._record(time.time()))).encode("utf-8"))


def break_lease(layout: OutputLayout) -> LeaseRecord | None:
    """Remove the lease whoever holds it (`ie-batch unlock`); returns what it said."""
    lease = OutputLease(layout)
    held = lease.read()
    if layout.fs.exists(lease.path):
        layout.fs.rm_file(lease.path)
    return held


def _is_local(fs: Any) -> bool:
    protocol = fs.protocol if isinstance(fs.protocol, tuple) else (fs.protocol,)
    return "file" in protocol or "local" in protocol


def _is_precondition_failure(exc: OSError) -> bool:
    text = str(exc)
    return exc.errno == errno.EINVAL and ("PreconditionFailed" in text or "412" in text)
