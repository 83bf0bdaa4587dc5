"""A job driver SIGKILLed mid-job (with the Ray it started), then rerun: no row is lost or
duplicated, shards committed before the kill are not redone, and no staging is left behind."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ie_batch.engines.fake import FakeEngineFactory
from ie_batch.io.layout import OutputLayout
from ie_batch.io.lease import LeaseHeld, break_lease
from ie_batch.job.run import run_job
from tests.s3.run_job_script import LEXICON, job_config

pytestmark = pytest.mark.ray

REPO = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).with_name("run_job_script.py")
SHARDS = 6
ROWS_PER_SHARD = 8
DELAY_S = 0.2  # per prompt, one prompt per row: ~1.6 s per shard in the killed run
COMMIT_WAIT_S = 120.0
EXIT_WAIT_S = 15.0
FOUND = {"Tim Cook", "Angela Merkel", "Berlin"}  # what the lexicon finds in every row


def _upload_shards(fs, bucket: str) -> dict[str, list[str]]:
    """Six shards, JSONL and Parquet alternating; returns the ids per shard name."""
    ids: dict[str, list[str]] = {}
    for k in range(SHARDS):
        name = f"part{k}"
        rows = [
            {"id": f"{name}-r{i}", "text": f"Tim Cook met Angela Merkel in Berlin ({k}.{i})."}
            for i in range(ROWS_PER_SHARD)
        ]
        if k % 2:
            buffer = io.BytesIO()
            pq.write_table(pa.Table.from_pylist(rows), buffer)
            fs.pipe(f"{bucket}/in/{name}.parquet", buffer.getvalue())
        else:
            body = "".join(json.dumps(row) + "\n" for row in rows)
            fs.pipe(f"{bucket}/in/{name}.jsonl", body.encode("utf-8"))
        ids[name] = [row["id"] for row in rows]
    return ids


def _markers(fs, out: str) -> dict[str, dict]:
    fs.invalidate_cache()
    found = fs.glob(f"{out}/_manifest/*.json")
    return {Path(path).stem: json.loads(fs.cat_file(path)) for path in found}


def _staged_shards(fs, out: str) -> set[str]:
    """Shards with parts in the staging area (written, not committed yet)."""
    fs.invalidate_cache()
    return {Path(path).parent.parent.name for path in fs.glob(f"{out}/_staging/*/data/*")}


def _proc_stat(pid: int) -> tuple[str, int] | None:
    """(state, parent pid) of a live process, from /proc; None once it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    state, ppid = stat[stat.rindex(")") + 2 :].split()[:2]  # the name may hold spaces
    return state, int(ppid)


def _descendants(pid: int) -> list[int]:
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := _proc_stat(int(entry.name))):
            parents[int(entry.name)] = stat[1]
    found, frontier = [], [pid]
    while frontier:
        children = [child for child, parent in parents.items() if parent in frontier]
        found += children
        frontier = children
    return found


def _gone(pids: list[int]) -> bool:
    return all((stat := _proc_stat(pid)) is None or stat[0] in "ZX" for pid in pids)


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    try:
        proc.wait(timeout=EXIT_WAIT_S)
    except subprocess.TimeoutExpired:
        proc.kill()


def _log_tail(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace")[-3000:]


def test_a_killed_job_resumes_without_losing_or_duplicating_rows(
    s3_server, s3, bucket, tmp_path, request
):
    ids = _upload_shards(s3, bucket)
    input_uri, output_uri = f"s3://{bucket}/in/", f"s3://{bucket}/out"
    out = f"{bucket}/out"
    log = tmp_path / "driver.log"
    with log.open("wb") as handle:
        proc = subprocess.Popen(
            [sys.executable, str(SCRIPT), input_uri, output_uri, s3_server.endpoint_url]
            + ["--delay", str(DELAY_S)],
            cwd=REPO,
            stdout=handle,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            # its own process group, with the Ray head processes it starts; Ray's workers
            # (own groups) die with their raylet, which the test checks below
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + COMMIT_WAIT_S
        while True:
            committed = _markers(s3, out)
            if committed and _staged_shards(s3, out) - set(committed):
                break  # one shard committed, another one half written
            if proc.poll() is not None:
                pytest.fail(f"the driver exited ({proc.returncode}) early:\n{_log_tail(log)}")
            if time.monotonic() > deadline:
                pytest.fail(
                    f"no commit next to a half-written shard in {COMMIT_WAIT_S} s:\n{_log_tail(log)}"
                )
            time.sleep(0.1)
        ray_processes = _descendants(proc.pid)
        os.killpg(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=EXIT_WAIT_S) == -signal.SIGKILL
    finally:
        _kill_group(proc)

    exit_deadline = time.monotonic() + EXIT_WAIT_S
    while not _gone(ray_processes) and time.monotonic() < exit_deadline:
        time.sleep(0.2)
    assert ray_processes and _gone(ray_processes), "the killed driver's Ray outlived it"

    at_kill = _markers(s3, out)  # a commit may have landed between the look and the kill
    assert 1 <= len(at_kill) < SHARDS, f"kill came too late to test a resume: {sorted(at_kill)}"

    request.getfixturevalue("ray_runtime")  # this process's Ray, started only now
    config = job_config(input_uri, output_uri, s3_server.endpoint_url)
    layout = OutputLayout.open(output_uri, config.storage)
    with pytest.raises(LeaseHeld, match="ie-batch unlock"):  # the killed job's lease holds
        run_job(config, engine_factory=FakeEngineFactory(LEXICON), print_report=False)
    assert break_lease(layout) is not None  # as the message says, once the job is known dead
    report = run_job(
        job_config(input_uri, output_uri, s3_server.endpoint_url),
        engine_factory=FakeEngineFactory(LEXICON),
        print_report=False,
    )

    assert sorted(report.skipped) == sorted(at_kill)
    assert sorted(report.shards) == sorted(set(ids) - set(at_kill))
    after = _markers(s3, out)
    assert sorted(after) == sorted(ids)
    for name, marker in at_kill.items():
        assert after[name] == marker, f"{name} was committed before the kill, then redone"

    s3.invalidate_cache()
    seen: Counter[str] = Counter()
    for name, shard_ids in ids.items():
        rows = pq.read_table(f"{out}/data/{name}", filesystem=s3).to_pylist()
        assert sorted(row["_row"] for row in rows) == list(range(ROWS_PER_SHARD)), name
        assert {row["_shard"] for row in rows} == {name}
        assert sorted(row["id"] for row in rows) == sorted(shard_ids)
        assert all(row["errors"] == [] for row in rows)
        assert all({e["text"] for e in row["entities"]} == FOUND for row in rows)
        seen.update(row["id"] for row in rows)
    expected = Counter(i for shard_ids in ids.values() for i in shard_ids)
    assert seen == expected  # every input row exactly once across data/
    assert sum(seen.values()) == SHARDS * ROWS_PER_SHARD
    assert not s3.exists(f"{out}/_staging") or s3.find(f"{out}/_staging") == []
