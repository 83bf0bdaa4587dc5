"""The job's progress line: figures, ETA and pacing, on a fake clock, into a StringIO (no Ray)."""

import io
import logging
import re
import sys

import pyarrow as pa
import pytest
from rich.console import Console

from ie_batch.fingerprint import Fingerprint
from ie_batch.io.layout import OutputLayout
from ie_batch.io.shards import Shard
from ie_batch.job.progress import (
    DEFAULT_EVERY_S,
    EVERY_S_ENV,
    RATE_WINDOW_S,
    JobProgress,
    ShardCount,
    Snapshot,
    format_duration,
    planned_rows,
)
from ie_batch.job.run import JobReport, ShardCommitter, _drain
from ie_batch.job.tally import Tally
from ie_batch.job.write_stage import ShardSummary


class Clock:
    def __init__(self, now=0.0):
        self.now = now

    def __call__(self):
        return self.now


def _console(terminal):
    stream = io.StringIO()
    return Console(file=stream, force_terminal=terminal, width=300, color_system=None), stream


def _shard(name, size, fmt="jsonl", path=None):
    return Shard(path=path or f"/in/{name}.{fmt}", name=name, format=fmt, size=size, version="1")


def _snapshot(done, planned, exact=True, tokens=0, shards=4, committed=0, failed=0):
    return Snapshot(done, planned, exact, tokens, shards, committed, failed)


def test_counted_shards_plan_exactly_and_a_failed_one_only_its_written_rows():
    counts = [
        ShardCount(_shard("a", 100), rows=40, written=40, committed=True),
        ShardCount(_shard("b", 100), rows=60, written=10),
        ShardCount(_shard("c", 100), rows=None, written=3, failed=True),
    ]
    assert planned_rows(counts) == (103, True)
    snapshot = Snapshot.of(counts, tokens_done=900)
    assert (snapshot.rows_done, snapshot.committed, snapshot.failed, snapshot.shards) == (
        53,
        1,
        1,
        3,
    )


def test_uncounted_shards_are_estimated_from_their_size_at_their_kinds_rows_per_byte():
    counts = [
        ShardCount(_shard("j1", 1_000), rows=10, written=10, committed=True),  # 0.01 rows/B
        ShardCount(_shard("p1", 1_000, "parquet"), rows=100, written=100, committed=True),
        ShardCount(_shard("j2", 3_000), rows=None, written=5),  # ~30 rows
        ShardCount(_shard("p2", 500, "parquet"), rows=None, written=0),  # ~50 rows
        # no gzipped JSONL counted yet: the rate over every counted shard (110/2000)
        ShardCount(_shard("g", 200, path="/in/g.jsonl.gz"), rows=None, written=0),  # ~11
    ]
    assert planned_rows(counts) == (10 + 100 + 30 + 50 + 11, False)


def test_an_estimate_never_falls_below_the_rows_already_written():
    counts = [
        ShardCount(_shard("a", 1_000), rows=10, written=10, committed=True),
        ShardCount(_shard("b", 1_000), rows=None, written=25),  # ~10 by size, 25 written
    ]
    assert planned_rows(counts) == (35, False)


def test_nothing_counted_yet_means_no_plan_and_no_eta():
    counts = [ShardCount(_shard("a", 1_000), rows=None, written=7)]
    assert planned_rows(counts) == (None, False)
    console, stream = _console(terminal=False)
    clock = Clock()
    progress = JobProgress(console, clock=clock, started=0.0)
    clock.now = 10.0
    progress.show(Snapshot.of(counts, tokens_done=70))
    assert stream.getvalue() == (
        "ie_batch: 7 rows, ETA ?, 0.70 rows/s, 7 tokens/s, 0/1 shards committed\n"
    )


def test_a_log_gets_a_plain_line_at_the_first_summary_then_every_30_seconds():
    console, stream = _console(terminal=False)
    clock = Clock(100.0)
    progress = JobProgress(console, clock=clock, started=100.0)
    assert progress.every_s == DEFAULT_EVERY_S and not progress.terminal
    shown = []
    for second in range(0, 95, 5):  # a summary every 5 s
        clock.now = 100.0 + second
        if progress.due():
            progress.show(_snapshot(second * 2, 1_000, tokens=second * 20))
            shown.append(second)
    assert shown == [0, 30, 60, 90]
    lines = stream.getvalue().splitlines()
    assert len(lines) == 4 and "\r" not in stream.getvalue()
    # 60 rows in the 30 s since the first line: 2 rows/s, 20 tokens/s; 940 rows left -> 470 s
    assert lines[1] == (
        "ie_batch: 60/1,000 rows (6.0%), ETA 7m50s, 2.00 rows/s, 20 tokens/s, 0/4 shards committed"
    )


def test_the_interval_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv(EVERY_S_ENV, "5")
    console, _ = _console(terminal=False)
    assert JobProgress(console).every_s == 5.0
    monkeypatch.setenv(EVERY_S_ENV, "0")
    clock = Clock()
    progress = JobProgress(console, clock=clock)
    progress.show(_snapshot(1, 10))
    assert progress.due()  # every summary gets its line


def test_a_bad_interval_is_named_and_the_default_is_used(monkeypatch):
    monkeypatch.setenv(EVERY_S_ENV, "soon")
    console, stream = _console(terminal=False)
    assert JobProgress(console).every_s == DEFAULT_EVERY_S
    assert f"${EVERY_S_ENV}='soon': expected a number of seconds >= 0" in stream.getvalue()


def test_rates_and_eta_follow_the_recent_pace_not_the_engine_start():
    console, stream = _console(terminal=False)
    clock = Clock()
    progress = JobProgress(console, every_s=0, clock=clock, started=0.0)
    clock.now = 300.0  # the first rows arrive after a slow start
    progress.show(_snapshot(10, 10_000, exact=False))
    assert progress.rates(clock.now) == pytest.approx((10 / 300, 0.0))
    for second in range(310, 700, 10):  # then 5 rows/s
        clock.now = float(second)
        progress.show(_snapshot(10 + (second - 300) * 5, 10_000, exact=False))
    rows_rate, _ = progress.rates(clock.now)
    assert rows_rate == pytest.approx(5.0)
    assert clock.now - progress._samples[0][0] <= RATE_WINDOW_S + 10
    done = 10 + (690 - 300) * 5
    line = stream.getvalue().splitlines()[-1]
    assert f"{done:,}/~10,000 rows (~{100 * done / 10_000:.1f}%)" in line
    assert f"%), ETA ~{format_duration((10_000 - done) / 5)}, 5.00 rows/s" in line


def test_a_failed_shard_is_named_and_a_finished_job_has_nothing_left():
    console, stream = _console(terminal=False)
    clock = Clock(50.0)
    progress = JobProgress(console, clock=clock, started=0.0)
    progress.show(_snapshot(100, 100, tokens=5_000, shards=3, committed=2, failed=1))
    assert stream.getvalue() == (
        "ie_batch: 100/100 rows (100.0%), ETA 0s, 2.00 rows/s, 100 tokens/s, "
        "2/3 shards committed, 1 failed\n"
    )


def test_on_a_terminal_one_line_is_redrawn_and_other_messages_print_above_it():
    console, stream = _console(terminal=True)
    clock = Clock()
    progress = JobProgress(console, clock=clock, started=0.0)
    assert progress.terminal
    for second in range(1, 4):
        clock.now = float(second)
        assert progress.due()
        progress.show(_snapshot(second * 10, 100, tokens=second * 100))
        if second == 2:
            console.print("ie_batch: shard b failed: boom")
    progress.close(_snapshot(100, 100, tokens=1_000, committed=4))
    out = stream.getvalue()
    # every redraw returns to the line's start and clears it: no line of progress is left behind
    assert out.count("\r\x1b[2K") >= 4
    screen = _screen(out)
    assert screen == [
        "ie_batch: shard b failed: boom",
        "ie_batch: 100/100 rows (100.0%), ETA 0s, 45.0 rows/s, 450 tokens/s, 4/4 shards committed",
    ]


def test_on_a_terminal_redraws_are_paced_too():
    console, _ = _console(terminal=True)
    clock = Clock()
    progress = JobProgress(console, clock=clock)
    progress.show(_snapshot(1, 10))
    clock.now = 0.2
    assert not progress.due()
    clock.now = 0.6
    assert progress.due()
    progress.close()


def test_log_records_and_prints_go_above_the_terminal_line_not_into_it(monkeypatch):
    err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    # a library's logger holds sys.stderr as it was when it was set up (Ray's do)
    handler = logging.StreamHandler(err)
    logger = logging.getLogger("tests.job.test_progress.library")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        console, stream = _console(terminal=True)
        clock = Clock()
        progress = JobProgress(console, clock=clock, started=0.0)
        progress.show(_snapshot(10, 100))
        logger.info("Dataset execution finished")
        print("(worker pid=7) a worker's line", file=sys.stderr)
        clock.now = 1.0
        progress.show(_snapshot(20, 100))
        progress.close()
        assert handler.stream is err  # given back once the line is done
        logger.info("after the job")
    finally:
        logger.removeHandler(handler)
    assert err.getvalue() == "after the job\n"
    assert _screen(stream.getvalue()) == [
        "Dataset execution finished",
        "(worker pid=7) a worker's line",
        "ie_batch: 20/100 rows (20.0%), ETA 8s, 10.0 rows/s, 0 tokens/s, 0/4 shards committed",
    ]


def test_a_narrow_terminal_wraps_the_line_and_loses_none_of_it():
    stream = io.StringIO()
    console = Console(file=stream, force_terminal=True, width=40, color_system=None)
    progress = JobProgress(console, clock=Clock(10.0), started=0.0)
    progress.show(_snapshot(5, 50, shards=3, committed=1, failed=1))
    progress.close()
    out = stream.getvalue()
    assert "\x1b[1A" in out  # redrawn as the two lines it takes
    shown = " ".join(re.sub(r"\x1b\[[0-9;?]*[A-Za-z]|\r", " ", out).split())
    assert shown.endswith(
        "ie_batch: 5/50 rows (10.0%), ETA 1m30s, 0.50 rows/s, 0 tokens/s, "
        "1/3 shards committed, 1 failed"
    )


def _screen(out):
    """What a terminal shows after `out`: `\\r` + erase-line rewrites the current line."""
    lines = [""]
    for chunk in out.replace("\x1b[?25l", "").replace("\x1b[?25h", "").split("\n"):
        lines[-1] = chunk.split("\r\x1b[2K")[-1]
        lines.append("")
    return [line for line in lines if line]


class _Summaries:
    def __init__(self, rows):
        self.rows = rows

    def iter_rows(self):
        yield from self.rows


def test_the_driver_loop_reports_rows_written_of_planned_and_shards_committed(tmp_path):
    """Rows planned grow as each shard's read task brings its count; the last line is exact."""
    layout = OutputLayout.open(str(tmp_path / "out"))

    def staged(shard, first, last, shard_rows=None):
        part = f"part-{first:09d}-{last:09d}"
        path = layout.stage_part(shard, part, pa.table({"_row": list(range(first, last + 1))}))
        tally = Tally(rows=last - first + 1, prompt_tokens=10 * (last - first + 1))
        return ShardSummary(shard, path, tally, shard_rows).to_row()

    shards = [_shard("a", 400), _shard("b", 400)]
    committer = ShardCommitter(layout, Fingerprint("fp"), JobReport(output="out"))
    committer.expect(shards, {"a": None, "b": None})
    console, stream = _console(terminal=False)
    clock = Clock()
    progress = JobProgress(console, every_s=0, clock=clock, started=0.0)
    rows = [staged("a", 0, 1), staged("a", 2, 3, shard_rows=4), staged("b", 0, 3, shard_rows=4)]
    _drain(_Summaries(rows), committer, 0.0, progress)
    progress.close(committer.progress())
    lines = stream.getvalue().splitlines()
    assert lines[0].startswith("ie_batch: 2 rows, ETA ?,")
    # a is counted (4 rows in 400 bytes): b, as large, is estimated at 4 rows
    assert lines[1].startswith("ie_batch: 4/~8 rows (~50.0%)")
    assert "1/2 shards committed" in lines[1]
    assert lines[2].startswith("ie_batch: 8/8 rows (100.0%)")
    assert "(100.0%), ETA 0s," in lines[2] and lines[2].endswith("2/2 shards committed")
    assert len(lines) == 3  # the closing figures were shown already
