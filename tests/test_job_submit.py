"""`ray job submit` as users run it: a real Ray head on loopback, jobs/extract.py as the entrypoint.

The head is started with the virtualenv's `ray` CLI, the job is submitted over the dashboard's
HTTP address with the repository as its working_dir and cluster/runtime_env_preinstalled.yaml,
and the job's driver finds the cluster the way it does on a real one: `ray_address` is
None and `ray.init()` attaches to the address the job supervisor sets. The engine is the real
vLLM engine with the embedded model (cached under ~/.cache/ie_batch, or prepared on first use).

That runtime env is cluster/runtime_env.yaml without its `pip` section (which installs the project
with its `gpu,s3` extras on each node): this head runs in the project's virtualenv already, and
the job's `python` is that virtualenv's (first on the head's PATH).

The head is stopped by signalling the `ray start --block` process this test started (it shuts
down its own node), then killing whatever it started that outlived it, by pid. `ray stop` is not
used: it stops every Ray process of the user on the machine, other clusters included.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import ExitStack, closing
from pathlib import Path

import pyarrow.parquet as pq
import pytest

pytestmark = [pytest.mark.engine, pytest.mark.ray]

REPO = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
RAY = VENV_BIN / "ray"
# cluster/runtime_env.yaml less its `pip` section: this head runs the project's virtualenv already
RUNTIME_ENV = REPO / "cluster" / "runtime_env_preinstalled.yaml"
JOB_TIMEOUT_S = 480
HEAD_START_TIMEOUT_S = 120
TERMINAL = {"SUCCEEDED", "FAILED", "STOPPED"}

ROWS = [
    {"id": "t1", "text": "Shares of Toyota fell 3 percent in Tokyo after weak quarterly earnings."},
    {"id": "t2", "text": "The striker scored twice as Brazil beat Argentina 2-0 in the final."},
    {"id": "t3", "text": "Researchers unveiled a quantum processor with a thousand qubits."},
    {"id": "t4", "text": "A fourth row that --limit 3 leaves unread."},
]


def _free_ports(count: int) -> list[int]:
    """Distinct free loopback ports (all held open until all are chosen)."""
    with ExitStack() as stack:
        ports = []
        for _ in range(count):
            sock = stack.enter_context(closing(socket.socket()))
            sock.bind(("127.0.0.1", 0))
            ports.append(sock.getsockname()[1])
        return ports


class LocalHead:
    """A single-node Ray cluster on 127.0.0.1, started with `ray start --head --block`."""

    def __init__(self, workdir: Path) -> None:
        # Ray's Unix sockets live under the temp dir: keep its path short.
        self.temp_dir = Path(tempfile.mkdtemp(prefix="iebray-", dir="/tmp"))
        self.log_path = workdir / "ray_start.log"
        gcs, dashboard, agent_http, agent_grpc, client, metrics, env_agent = _free_ports(7)
        self.dashboard = f"http://127.0.0.1:{dashboard}"
        self.command = [
            str(RAY),
            "start",
            "--head",
            "--block",
            "--node-ip-address=127.0.0.1",
            f"--port={gcs}",
            "--dashboard-host=127.0.0.1",
            f"--dashboard-port={dashboard}",
            # Fixed-port services get their own ports too, so another Ray on this machine
            # (a developer's demo, a parallel test) neither collides with nor serves this one.
            f"--dashboard-agent-listen-port={agent_http}",
            f"--dashboard-agent-grpc-port={agent_grpc}",
            f"--ray-client-server-port={client}",
            f"--metrics-export-port={metrics}",
            f"--runtime-env-agent-port={env_agent}",
            "--num-cpus=2",
            "--num-gpus=0",
            f"--object-store-memory={512 * 1024**2}",
            "--include-dashboard=true",
            "--disable-usage-stats",
            f"--temp-dir={self.temp_dir}",
        ]
        self.env = {
            k: v
            for k, v in os.environ.items()
            if k not in {"RAY_ADDRESS", "RAY_API_SERVER_ADDRESS", "RAY_AUTH_TOKEN_PATH"}
        }
        # Token authentication, as Ray enables it by default, with this head's own token (not
        # whatever ~/.ray/auth_token holds): the CLI and the job's driver get it from the env.
        self.token = secrets.token_hex(32)
        self.env.update(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=self.token)
        # on SIGTERM, stop at once instead of draining the node (nothing here to drain)
        self.env["RAY_GRACEFUL_SHUTDOWN_DRAIN_TIMEOUT_S"] = "0"
        # The job's `python` is whatever the cluster's PATH finds first: here, this virtualenv's.
        self.env["PATH"] = f"{VENV_BIN}{os.pathsep}{self.env.get('PATH', '')}"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                self.command,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
                start_new_session=True,
            )
        deadline = time.monotonic() + HEAD_START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"ray start exited early:\n{self.log()}")
            try:
                request = urllib.request.Request(
                    f"{self.dashboard}/api/version",
                    headers={"Authorization": f"Bearer {self.token}"},
                )
                with urllib.request.urlopen(request, timeout=2) as reply:
                    if reply.status == 200:
                        return
            except OSError:
                pass
            time.sleep(1)
        raise RuntimeError(
            f"the dashboard did not answer in {HEAD_START_TIMEOUT_S} s:\n{self.log()}"
        )

    def job(self, verb: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        """`ray job VERB --address <this head's dashboard> ARGS...`."""
        return subprocess.run(
            [str(RAY), "job", verb, "--address", self.dashboard, *args],
            capture_output=True,
            text=True,
            env=self.env,
            cwd=REPO,
            timeout=timeout,
        )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:] if self.log_path.exists() else ""

    def stop(self) -> None:
        """Stop exactly the processes this head started, never another Ray on the machine."""
        import psutil

        if self.process is not None:
            try:
                descendants = psutil.Process(self.process.pid).children(recursive=True)
            except psutil.NoSuchProcess:
                descendants = []
            if self.process.poll() is None:
                self.process.send_signal(signal.SIGTERM)  # drains and stops its own node
                try:
                    self.process.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait(timeout=10)
            _, alive = psutil.wait_procs(descendants, timeout=15)
            for process in alive:  # psutil checks a pid still names the same process
                try:
                    process.kill()
                except psutil.NoSuchProcess:
                    pass
            psutil.wait_procs(alive, timeout=10)
        shutil.rmtree(self.temp_dir, ignore_errors=True)


@pytest.fixture(scope="module")
def submitted_job(tmp_path_factory):
    pytest.importorskip("ray")
    pytest.importorskip("vllm")
    pytest.importorskip("psutil")
    if not RAY.exists():
        pytest.skip(f"no ray CLI next to {sys.executable}")
    work = tmp_path_factory.mktemp("job_submit")
    corpus = work / "in" / "news.jsonl"
    corpus.parent.mkdir()
    corpus.write_text("".join(json.dumps(row) + "\n" for row in ROWS), encoding="utf-8")
    output = work / "out"
    submission_id = f"ie-batch-test-{os.getpid()}-{int(time.time())}"
    head = LocalHead(work)
    started = time.monotonic()
    try:
        head.start()
        head_seconds = time.monotonic() - started
        submit = head.job(
            "submit",
            "--submission-id",
            submission_id,
            "--working-dir",
            str(REPO),
            "--runtime-env",
            str(RUNTIME_ENV),
            "--no-wait",
            "--",
            "python",
            "jobs/extract.py",
            "--input",
            str(corpus),
            "--schema",
            "topic_en",
            "--output",
            str(output),
            "--limit",
            "3",
        )
        assert submit.returncode == 0, f"ray job submit failed:\n{submit.stdout}\n{submit.stderr}"
        status = _wait_for_job(head, submission_id)
        logs = head.job("logs", submission_id).stdout
        yield {
            "status": status,
            "logs": logs,
            "output": output,
            "head_seconds": head_seconds,
            "seconds": time.monotonic() - started,
        }
    finally:
        head.stop()


def _job_status(text: str, submission_id: str) -> str | None:
    """The status in `ray job status` output: "Status for job 'ID': RUNNING" while it runs,
    "Job 'ID' succeeded" / "failed" / "was stopped" once it ended."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", text)
    job = re.escape(submission_id)
    found = re.findall(rf"Status for job '{job}': (\w+)", text)
    if found:
        return found[-1]
    for pattern, status in (
        (rf"Job '{job}' succeeded", "SUCCEEDED"),
        (rf"Job '{job}' failed", "FAILED"),
        (rf"Job '{job}' was stopped", "STOPPED"),
    ):
        if re.search(pattern, text):
            return status
    return None


def _wait_for_job(head: LocalHead, submission_id: str) -> str:
    """The job's final status, polled with `ray job status`; stops the job at the deadline."""
    deadline = time.monotonic() + JOB_TIMEOUT_S
    status, failures = "UNKNOWN", 0
    while time.monotonic() < deadline:
        reply = head.job("status", submission_id, timeout=60)
        found = _job_status(reply.stdout + reply.stderr, submission_id)
        if found:
            status, failures = found, 0
        else:
            failures += 1
            if failures >= 6:
                return f"UNREADABLE: ray job status said:\n{reply.stdout}\n{reply.stderr}"
        if status in TERMINAL:
            return status
        time.sleep(10)  # each `ray job status` costs a Python start on a 2-core machine
    head.job("stop", submission_id, timeout=60)
    return f"TIMEOUT after {JOB_TIMEOUT_S} s (last status {status})"


def test_the_submitted_job_succeeds(submitted_job):
    assert submitted_job["status"] == "SUCCEEDED", (
        f"job status {submitted_job['status']}; job logs:\n{submitted_job['logs'][-6000:]}"
    )
    print(
        f"\nray job submit: head up in {submitted_job['head_seconds']:.0f} s, "
        f"job done {submitted_job['seconds']:.0f} s after start"
    )


def test_the_driver_attaches_to_the_cluster_it_was_submitted_to(submitted_job):
    logs = submitted_job["logs"]
    assert "Connecting to existing Ray cluster" in logs, logs[-6000:]
    assert "Started a local Ray instance" not in logs, logs[-6000:]


def test_outputs_are_committed_with_the_limited_rows(submitted_job):
    output: Path = submitted_job["output"]
    context = submitted_job["logs"][-6000:]
    markers = sorted((output / "_manifest").glob("*.json"))
    assert [m.name for m in markers] == ["news.json"], context
    marker = json.loads(markers[0].read_text())
    assert marker["result_rows"] == 3 and marker["rows"] == 4, marker
    assert sorted((output / "data" / "news").glob("*.parquet")), context
    rows = sorted(pq.read_table(output / "data" / "news").to_pylist(), key=lambda r: r["id"])
    assert [row["id"] for row in rows] == ["t1", "t2", "t3"]
    topics = {"world", "sports", "business", "sci_tech"}
    for row in rows:
        assert {label["label"] for label in row["labels"]} <= topics, row
    summary = json.loads((output / "summary.json").read_text())
    assert summary["rows"] == 3 and summary["shards_processed"] == ["news"], summary
