"""Two jobs on one output: the second fails fast naming the first; once the first is killed its
lease expires, and the next job takes the output over and leaves every row exactly once."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ie_batch.io.lease import LeaseHeld
from ie_batch.job.run import run_job
from tests.faults.conftest import HEALTHY, assert_exactly_once, write_jsonl
from tests.s3.run_job_script import job_config

pytestmark = pytest.mark.ray

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "tests" / "s3" / "run_job_script.py"
LEASE_TTL_S = 3.0
WAIT_S = 120.0


def test_a_second_job_is_refused_and_a_dead_jobs_lease_expires(ray_runtime, tmp_path):
    corpus = tmp_path / "in"
    for k in range(3):
        write_jsonl(corpus / f"s{k}.jsonl", [{"text": f"Tim Cook {k}.{i}"} for i in range(8)])
    output = tmp_path / "out"
    log = (tmp_path / "first.log").open("wb")
    first = subprocess.Popen(
        [sys.executable, str(SCRIPT), str(corpus), str(output), "-", "--delay", "0.5"]
        + ["--lease-ttl", str(LEASE_TTL_S)],
        cwd=REPO,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + WAIT_S
        while not (output / "_staging").exists():  # the first job is writing
            assert first.poll() is None, (tmp_path / "first.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "the first job never started writing"
            time.sleep(0.1)
        config = job_config(str(corpus), str(output), "-")
        with pytest.raises(LeaseHeld) as refused:
            run_job(config, engine_factory=HEALTHY, print_report=False)
        assert f":{first.pid}:" in str(refused.value)  # names the holder
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(timeout=30)
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
        log.close()

    time.sleep(LEASE_TTL_S + 0.5)  # no heartbeat since the kill: the lease expires
    report = run_job(config, engine_factory=HEALTHY, print_report=False)
    assert report.ok
    for k in range(3):
        assert_exactly_once(output, f"s{k}", 8)
    assert not (output / "_lease.json").exists()
