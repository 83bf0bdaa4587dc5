"""The job's progress as its user reads it: rows written of rows planned, rows/s, tokens/s,
shards committed, and when the job should be done.

After each summary of the write stage the driver asks `JobProgress.due` and, when a line is
due, hands it a `Snapshot` of what it knows. On a terminal one line is redrawn in place (rich's `Live` on the driver's
console, so the driver's other messages print above it); when the output is a log (`ray job
logs`, cron, CI) a plain line is printed at the first summary, then at most every
`IE_BATCH_PROGRESS_EVERY_S` seconds (30 by default), and once more at the end.

Rows planned: the job reads no input before it starts (each read task counts its own shard), so
a shard's row count is known once its last block is written. Until then the shard's rows are
estimated from its size in bytes, at the rows per byte of the shards of its kind (format and
compression) counted so far; the line marks such figures with `~`. With `input.limit` every
count is known from the start. Rates are measured over the last `RATE_WINDOW_S` seconds, so
the engine's start does not weigh on the estimate for the rest of the job.
"""

from __future__ import annotations

import logging
import math
import os
import sys
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.text import Text

from ie_batch.io.shards import Shard

#: Environment variable: seconds between two plain progress lines when the output is a log.
EVERY_S_ENV = "IE_BATCH_PROGRESS_EVERY_S"
#: Seconds between two plain progress lines by default.
DEFAULT_EVERY_S = 30.0
#: Seconds between two redraws of the line on a terminal.
TERMINAL_EVERY_S = 0.5
#: Rates (rows/s, tokens/s) and so the ETA are measured over this many recent seconds.
RATE_WINDOW_S = 120.0
PREFIX = "ie_batch: "


@dataclass(frozen=True)
class ShardCount:
    """What the driver knows of one shard it is to process."""

    shard: Shard
    #: its row count once known (a read task's count, or counted first for `input.limit`)
    rows: int | None
    #: its rows in the parts written so far (all of them once it is committed)
    written: int
    committed: bool = False
    failed: bool = False

    @property
    def kind(self) -> tuple[str, bool]:
        """Shards of one kind hold about as many rows per byte."""
        return self.shard.format, self.shard.compressed


@dataclass(frozen=True)
class Snapshot:
    """The job's figures at one moment."""

    rows_done: int
    #: None while no shard is counted that the others could be estimated from
    rows_planned: int | None
    #: False when `rows_planned` includes rows estimated from shard sizes
    planned_exact: bool
    tokens_done: int
    shards: int
    committed: int
    failed: int

    @classmethod
    def of(cls, counts: Sequence[ShardCount], tokens_done: int) -> Snapshot:
        planned, exact = planned_rows(counts)
        return cls(
            rows_done=sum(count.written for count in counts),
            rows_planned=planned,
            planned_exact=exact,
            tokens_done=tokens_done,
            shards=len(counts),
            committed=sum(count.committed for count in counts),
            failed=sum(count.failed for count in counts),
        )


def planned_rows(counts: Sequence[ShardCount]) -> tuple[int | None, bool]:
    """(rows planned, whether that is exact): counted shards by their counts, a failed shard by
    the rows it got written (the rest will not be), the others estimated from their size."""
    ratios = _rows_per_byte(counts)
    planned, exact = 0, True
    for count in counts:
        if count.failed:
            planned += count.written
        elif count.rows is not None:
            planned += max(count.rows, count.written)
        else:
            exact = False
            ratio = ratios.get(count.kind, ratios.get(None))
            if ratio is None:
                return None, False
            planned += max(round(count.shard.size * ratio), count.written)
    return planned, exact


def _rows_per_byte(counts: Sequence[ShardCount]) -> dict[tuple[str, bool] | None, float]:
    """Rows per byte of the counted shards, by kind, and over all of them (key None)."""
    sums: dict[tuple[str, bool] | None, tuple[int, int]] = {}
    for count in counts:
        if count.rows is None or count.failed or count.shard.size <= 0:
            continue
        for key in (count.kind, None):
            rows, size = sums.get(key, (0, 0))
            sums[key] = (rows + count.rows, size + count.shard.size)
    return {key: rows / size for key, (rows, size) in sums.items()}


def every_s_from_env() -> float:
    """`IE_BATCH_PROGRESS_EVERY_S` (0: a line at every summary), else the default."""
    value = os.environ.get(EVERY_S_ENV)
    if value is None or not value.strip():
        return DEFAULT_EVERY_S
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"${EVERY_S_ENV}={value!r}: expected a number of seconds >= 0")
    return seconds


class JobProgress:
    """Shows the job's progress on `console`, rate-limited; `close` shows the last figures."""

    def __init__(
        self,
        console: Console,
        every_s: float | None = None,
        clock: Callable[[], float] = time.perf_counter,
        started: float | None = None,
    ) -> None:
        self.console = console
        self.terminal = console.is_terminal
        if self.terminal:
            self.every_s = TERMINAL_EVERY_S
        elif every_s is not None:
            self.every_s = every_s
        else:
            try:
                self.every_s = every_s_from_env()
            except ValueError as exc:  # a job is never stopped for how it reports
                console.print(f"{PREFIX}warning: {exc}; a line every {DEFAULT_EVERY_S:g} s")
                self.every_s = DEFAULT_EVERY_S
        self.clock = clock
        self.started = clock() if started is None else started
        #: (time, rows done, tokens done), the oldest at or before the rate window's start
        self._samples: deque[tuple[float, int, int]] = deque()
        self._shown_at: float | None = None
        self._shown: Snapshot | None = None
        self._live: Live | None = None
        self._rerouted: list[tuple[logging.StreamHandler, Any]] = []

    def due(self) -> bool:
        """Whether a line is due: none shown yet, or the last one `every_s` ago. The driver
        asks after each summary and builds a `Snapshot` only when one is."""
        return self._shown_at is None or self.clock() - self._shown_at >= self.every_s

    def show(self, snapshot: Snapshot) -> None:
        now = self.clock()
        self._sample(now, snapshot)
        self._render(self.line(snapshot, now))
        self._shown_at, self._shown = now, snapshot

    def close(self, snapshot: Snapshot | None = None) -> None:
        """Show the last figures (unless they are the ones shown last) and end the line."""
        if snapshot is not None and snapshot != self._shown:
            self.show(snapshot)
        if self._live is not None:
            self._live.stop()
            self._live = None
            for handler, stream in self._rerouted:
                handler.setStream(stream)
            self._rerouted = []

    def line(self, snapshot: Snapshot, now: float) -> str:
        """`1,204/~5,000 rows (~24.1%), ETA ~19m37s, 3.21 rows/s, 812 tokens/s, 2/10 shards
        committed`: what a user looks for first comes first."""
        rows_rate, tokens_rate = self.rates(now)
        done, planned = snapshot.rows_done, snapshot.rows_planned
        about = "" if snapshot.planned_exact else "~"
        if planned is None:
            rows = f"{done:,} rows"
        else:
            share = done / planned if planned else 1.0
            rows = f"{done:,}/{about}{planned:,} rows ({about}{100 * share:.1f}%)"
        parts = [
            rows,
            f"ETA {self.eta(snapshot, rows_rate, about)}",
            f"{_rate(rows_rate)} rows/s",
            f"{tokens_rate:,.0f} tokens/s",
            f"{snapshot.committed}/{snapshot.shards} shards committed",
        ]
        if snapshot.failed:
            parts.append(f"{snapshot.failed} failed")
        return PREFIX + ", ".join(parts)

    def eta(self, snapshot: Snapshot, rows_rate: float, about: str = "") -> str:
        if snapshot.rows_planned is None:
            return "?"
        left = max(snapshot.rows_planned - snapshot.rows_done, 0)
        if left == 0:
            return "0s"
        if rows_rate <= 0:
            return "?"
        return about + format_duration(left / rows_rate)

    def rates(self, now: float) -> tuple[float, float]:
        """(rows/s, tokens/s) over the rate window; since the job started while the window
        holds a single sample."""
        if not self._samples:
            return 0.0, 0.0
        last_at, rows, tokens = self._samples[-1]
        first_at, first_rows, first_tokens = self._samples[0]
        if last_at - first_at > 0:
            span = last_at - first_at
            return (rows - first_rows) / span, (tokens - first_tokens) / span
        span = max(now - self.started, 0.0)
        return (rows / span, tokens / span) if span > 0 else (0.0, 0.0)

    def _sample(self, now: float, snapshot: Snapshot) -> None:
        self._samples.append((now, snapshot.rows_done, snapshot.tokens_done))
        while len(self._samples) > 2 and self._samples[1][0] <= now - RATE_WINDOW_S:
            self._samples.popleft()

    def _render(self, line: str) -> None:
        if not self.terminal:
            self.console.print(line, highlight=False, markup=False, soft_wrap=True)
            return
        text = Text(line)  # wrapped, not cut, on a narrow terminal
        if self._live is None:
            streams = sys.stdout, sys.stderr
            self._live = Live(
                text,
                console=self.console,
                auto_refresh=False,
                transient=False,
                # what the driver's other code prints (Ray's worker logs) goes above the line;
                # stdout only when it is this terminal too, never into a redirected file
                redirect_stdout=_is_terminal(sys.stdout),
                redirect_stderr=True,
            )
            self._live.start(refresh=True)
            self._rerouted = _reroute_log_handlers(streams, (sys.stdout, sys.stderr))
        else:
            self._live.update(text, refresh=True)


def _is_terminal(stream: Any) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def _reroute_log_handlers(
    before: tuple[Any, Any], now: tuple[Any, Any]
) -> list[tuple[logging.StreamHandler, Any]]:
    """Point every logging stream handler that writes to the streams `before` the line went
    live (Ray's loggers hold sys.stderr as it was when they were set up) at the same streams
    `now` (rich's proxies, which print above the line), so a log record never lands in the
    middle of it; returns (handler, its stream) to restore."""
    loggers = [logging.getLogger()] + [
        logger
        for logger in logging.Logger.manager.loggerDict.values()
        if isinstance(logger, logging.Logger)
    ]
    rerouted = []
    for logger in loggers:
        for handler in logger.handlers:
            if not isinstance(handler, logging.StreamHandler) or isinstance(
                handler, logging.FileHandler
            ):
                continue
            for old, new in zip(before, now, strict=True):
                if handler.stream is old and new is not old:
                    rerouted.append((handler, handler.setStream(new)))
                    break
    return rerouted


def _rate(per_second: float) -> str:
    return f"{per_second:.2f}" if per_second < 10 else f"{per_second:,.1f}"


def format_duration(seconds: float) -> str:
    """45s, 12m05s, 3h07m, 2d04h."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h{minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours:02d}h"
