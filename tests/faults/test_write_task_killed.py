"""A write task killed after its part is on disk, before its summary reaches the driver: Ray
runs the task again, the part is written again under the same name, and the shard commits with
each row exactly once (the commit checks the parts' row numbers, not the summaries' counts)."""

from pathlib import Path

import pytest

from ie_batch.job.run import run_job
from tests.faults.conftest import HEALTHY, assert_exactly_once, job, part_rows, write_jsonl

pytestmark = pytest.mark.ray

REPO = Path(__file__).resolve().parents[2]
SHARDS = {"s0": 10, "s1": 7}


@pytest.fixture
def ticket(tmp_path):
    ray = pytest.importorskip("ray")
    ticket = tmp_path / "killed-once"
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        runtime_env={
            "env_vars": {"IE_BATCH_TEST_KILL_TICKET": str(ticket), "PYTHONPATH": str(REPO)},
            "worker_process_setup_hook": "tests.faults.write_kill_hook.install",
        },
    )
    yield ticket
    ray.shutdown()


def test_a_write_task_killed_after_writing_its_part_costs_no_row(ticket, tmp_path):
    corpus = tmp_path / "in"
    for name, rows in SHARDS.items():
        write_jsonl(corpus / f"{name}.jsonl", [{"text": f"Ada {name}.{i}"} for i in range(rows)])
    output = tmp_path / "out"

    report = run_job(job(corpus, output), engine_factory=HEALTHY, print_report=False)

    assert ticket.exists(), "no write task was killed: the test proved nothing"
    assert report.ok, report.failed
    for name, rows in SHARDS.items():
        assert_exactly_once(output, name, rows)
        assert part_rows(output, name) == list(range(rows))
        assert report.shards[name].rows == rows  # the part's summary counted once
