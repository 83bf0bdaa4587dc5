"""The driver SIGKILLed (with its Ray) in the middle of clearing a shard and in the middle of
publishing one: the next run, after breaking the dead job's lease as its message says, leaves
every shard's rows exactly once and never trusts a half-cleared or half-published shard."""

import subprocess
import sys
from pathlib import Path

import pytest

from ie_batch.io.layout import OutputLayout
from ie_batch.io.lease import LeaseHeld, break_lease
from ie_batch.job.run import run_job
from tests.faults.conftest import HEALTHY, assert_exactly_once, write_jsonl
from tests.s3.run_job_script import job_config

pytestmark = pytest.mark.ray

REPO = Path(__file__).resolve().parents[2]
SHARDS = {"s0": 6, "s1": 9, "s2": 5}
WAIT_S = 180


def _corpus(tmp_path: Path) -> Path:
    corpus = tmp_path / "in"
    for name, rows in SHARDS.items():
        write_jsonl(
            corpus / f"{name}.jsonl", [{"text": f"Tim Cook {name}.{i}"} for i in range(rows)]
        )
    return corpus


def _killed_run(corpus: Path, output: Path, point: str, *flags: str) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.faults.killed_driver",
            str(corpus),
            str(output),
            point,
            *flags,
        ],
        cwd=REPO,
        capture_output=True,
        timeout=WAIT_S,
        start_new_session=True,
    )
    assert done.returncode == -9, done.stderr.decode()[-3000:]


def _markers(output: Path) -> set[str]:
    return {path.stem for path in (output / "_manifest").glob("*.json")}


def _rerun(corpus: Path, output: Path):
    config = job_config(str(corpus), str(output), "-")
    with pytest.raises(LeaseHeld, match="ie-batch unlock"):  # the killed driver's lease
        run_job(config, engine_factory=HEALTHY, print_report=False)
    break_lease(OutputLayout.open(str(output)))
    return run_job(config, engine_factory=HEALTHY, print_report=False)


def test_a_driver_killed_while_clearing_leaves_no_committed_shard_without_its_rows(
    ray_runtime, tmp_path
):
    corpus, output = _corpus(tmp_path), tmp_path / "out"
    first = run_job(
        job_config(str(corpus), str(output), "-"), engine_factory=HEALTHY, print_report=False
    )
    assert first.ok and _markers(output) == set(SHARDS)

    _killed_run(corpus, output, "clear", "--force")

    cleared = set(SHARDS) - _markers(output)
    assert len(cleared) == 1, "the kill should come while the first shard is cleared"
    (shard,) = cleared
    assert (
        not (output / "data" / shard).exists() and (output / "metrics" / f"{shard}.json").exists()
    )
    report = _rerun(corpus, output)
    assert report.ok and sorted(report.shards) == [shard]
    for name, rows in SHARDS.items():
        assert_exactly_once(output, name, rows)


def test_a_driver_killed_while_publishing_leaves_no_shard_half_counted(ray_runtime, tmp_path):
    corpus, output = _corpus(tmp_path), tmp_path / "out"

    _killed_run(corpus, output, "publish")

    half = [p.name for p in (output / "data").iterdir() if p.name not in _markers(output)]
    assert len(half) == 1, "the kill should come half way through a shard's publish"
    assert list((output / "data" / half[0]).glob("*.parquet"))  # its rows in data/, no marker
    report = _rerun(corpus, output)
    assert report.ok
    for name, rows in SHARDS.items():
        assert_exactly_once(output, name, rows)
    assert not [path for path in (output / "_staging").rglob("*") if path.is_file()]
