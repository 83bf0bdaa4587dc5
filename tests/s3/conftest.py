"""A real S3-compatible server (moto_server) on loopback, a fresh bucket per test, and a Ray
runtime per module for the tests that run whole jobs against it.

The server runs in its own process on a free port; the dummy credentials go into os.environ
before any Ray starts, so drivers and workers sign requests the same way. Jobs reach the server
through `storage.endpoint_url` in their config, never through an endpoint variable in workers.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class S3Server:
    endpoint_url: str
    process: subprocess.Popen


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _moto_server_command() -> list[str]:
    beside = Path(sys.executable).with_name("moto_server")
    found = str(beside) if beside.exists() else shutil.which("moto_server")
    if not found:
        pytest.skip("moto_server is not installed (pip install 'moto[server]')")
    return [found]


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return response.status < 500
    except urllib.error.HTTPError as exc:  # any HTTP answer means the server is up
        return exc.code < 500
    except OSError:
        return False


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=STOP_TIMEOUT_S)


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    pytest.importorskip("s3fs")
    command = _moto_server_command()
    saved = {name: os.environ.get(name) for name in CREDENTIALS}
    os.environ.update(CREDENTIALS)
    port = _free_port()
    log = (tmp_path_factory.mktemp("moto") / "moto_server.log").open("wb")
    process = subprocess.Popen(
        [*command, "-H", "127.0.0.1", "-p", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not _answers(f"{endpoint}/moto-api/"):
            if process.poll() is not None:
                pytest.fail(f"moto_server exited with {process.returncode}; see {log.name}")
            if time.monotonic() > deadline:
                pytest.fail(f"moto_server did not answer on {endpoint} in {START_TIMEOUT_S} s")
            time.sleep(0.1)
        yield S3Server(endpoint_url=endpoint, process=process)
    finally:
        _stop(process)
        log.close()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@pytest.fixture
def s3(s3_server: S3Server):
    """A client-side s3fs filesystem on the test server (no listing cache: other processes
    write the objects it looks at)."""
    import s3fs

    fs = s3fs.S3FileSystem(
        endpoint_url=s3_server.endpoint_url, use_listings_cache=False, skip_instance_cache=True
    )
    yield fs
    fs.invalidate_cache()


@pytest.fixture
def bucket(s3) -> str:
    """A fresh, empty bucket for one test."""
    name = f"ie-batch-{uuid.uuid4().hex[:12]}"
    s3.mkdir(name)
    return name


@pytest.fixture(scope="module")
def ray_runtime(s3_server: S3Server):
    """One local Ray per test module (another module may shut its own down); it starts after
    the credentials are in os.environ, so its workers inherit them."""
    ray = pytest.importorskip("ray")
    if ray.is_initialized():
        ray.shutdown()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()
