"""A corrupt, truncated or empty file fails its shard only: recorded, shown by `status`, the job
ends with exit code 1, every other shard commits."""

import gzip

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ie_batch.job.run import run_job
from ie_batch.job.status import job_status
from tests.faults.conftest import HEALTHY, assert_exactly_once, job, write_jsonl

pytestmark = pytest.mark.ray


def _corpus(folder):
    write_jsonl(folder / "good.jsonl", [{"id": f"g{i}", "text": f"Ada {i}"} for i in range(6)])
    (folder / "garbage.parquet").write_bytes(b"this is not parquet at all")
    (folder / "empty.parquet").write_bytes(b"")
    whole = gzip.compress(b"".join(b'{"text": "Alan %d"}\n' % i for i in range(200)))
    (folder / "cut.jsonl.gz").write_bytes(whole[: len(whole) // 2])
    return folder


def test_bad_files_fail_their_shards_and_the_rest_commits(ray_runtime, tmp_path):
    corpus = _corpus(tmp_path / "in")
    output = tmp_path / "out"
    report = run_job(job(corpus, output), engine_factory=HEALTHY, print_report=False)

    assert list(report.shards) == ["good"]
    assert_exactly_once(output, "good", 6)
    assert sorted(report.failed) == ["cut", "empty", "garbage"]
    for reason in report.failed.values():
        assert "cannot be read" in reason and str(corpus) in reason, reason
    assert report.exit_code(max_error_rate=1.0) == 1

    status = {shard.name: shard for shard in job_status(str(output)).shards}
    assert status["good"].state == "committed"
    assert status["garbage"].state == "failed"
    assert "garbage.parquet" in status["garbage"].reason


def test_a_parquet_file_corrupt_after_its_footer_fails_in_its_read_task(ray_runtime, tmp_path):
    corpus = tmp_path / "in"
    write_jsonl(corpus / "good.jsonl", [{"text": "Ada"}])
    path = corpus / "pages.parquet"
    pq.write_table(
        pa.table({"text": [f"Alan {i} " * 20 for i in range(2000)]}), path, row_group_size=100
    )
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 2000] = b"\xff" * 2000  # the footer (row counts) stays readable
    path.write_bytes(bytes(data))
    output = tmp_path / "out"

    report = run_job(job(corpus, output), engine_factory=HEALTHY, print_report=False)

    assert list(report.shards) == ["good"]
    assert "pages" in report.failed and "cannot be read" in report.failed["pages"]
    assert not (output / "_manifest" / "pages.json").exists()
    again = run_job(job(corpus, output), engine_factory=HEALTHY, print_report=False)
    assert again.skipped == ["good"] and "pages" in again.failed  # retried, fails again
