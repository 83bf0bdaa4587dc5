"""The real vLLM engine's core process is SIGKILLed mid-job: the actor whose engine died exits,
Ray starts a fresh one, and the batches that were in flight are asked again. Every row comes
out exactly once and none carries the engine's death as its error."""

import os
import signal
import threading
import time
from pathlib import Path

import pytest

from ie_batch.api import read_results
from ie_batch.config import config_from_data
from ie_batch.job.run import run_job
from tests.faults.conftest import write_jsonl

pytestmark = [pytest.mark.ray, pytest.mark.engine]
ROWS = 12
KILL_WAIT_S = 300.0


def _engine_cores() -> list[int]:
    """Pids of vLLM engine core processes (their process title names them)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                command = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if b"EngineCore" in command:
                found.append(int(entry.name))
    return found


def _kill_the_first_core_once_rows_are_written(output: Path, killed: list[int]) -> None:
    deadline = time.monotonic() + KILL_WAIT_S
    while time.monotonic() < deadline:
        staged = list((output / "_staging").glob("*/data/*.parquet"))
        cores = _engine_cores()
        if staged and cores:
            os.kill(cores[0], signal.SIGKILL)
            killed.append(cores[0])
            return
        time.sleep(0.2)


def test_a_killed_engine_core_costs_no_row(tmp_path):
    ray = pytest.importorskip("ray")
    pytest.importorskip("vllm")
    corpus = tmp_path / "in"
    write_jsonl(
        corpus / "a.jsonl",
        [{"id": f"r{i}", "text": f"Ada met Alan in Paris, {i}."} for i in range(ROWS)],
    )
    output = tmp_path / "out"
    config = config_from_data(
        {
            "input": {"paths": [str(corpus)]},
            "schemas": [{"schema": "news_ner_en"}],
            "output": str(output),
            "engine": {"max_model_len": 512, "max_tokens": 48},
            "prompt": {"entity_type_run_off": False},
            # blocks of two batches: a part is staged, and the kill comes, before the end
            "pool": {"batch_size": 2, "batches_in_flight": 2, "block_rows": 4},
        }
    )
    killed: list[int] = []
    killer = threading.Thread(
        target=_kill_the_first_core_once_rows_are_written, args=(output, killed), daemon=True
    )
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        killer.start()
        report = run_job(config, print_report=False)
    finally:
        ray.shutdown()
    assert killed, "the engine core was never seen to kill"
    assert report.ok
    rows = read_results(str(output)).to_pylist()
    assert sorted(row["_row"] for row in rows) == list(range(ROWS))
    assert not any(
        "died" in error or "EngineDead" in error for row in rows for error in row["errors"]
    )
