"""One bad value costs its row, never the job: the whole plan on shards whose values Arrow cannot
hold as read, or whose column types differ between files and between batches."""

import pytest

from ie_batch.job.run import run_job
from tests.faults.conftest import HEALTHY, assert_exactly_once, job, write_jsonl

pytestmark = pytest.mark.ray


def test_bad_values_become_row_errors_and_every_row_comes_out_once(ray_runtime, tmp_path):
    corpus = tmp_path / "in"
    # "meta" is a number in one file and text in the other; within b it drifts across batches
    write_jsonl(corpus / "a.jsonl", [{"text": f"Ada {i}", "meta": i} for i in range(7)])
    b = [{"text": f"Alan {i}", "meta": f"m{i}"} for i in range(5)]
    b += [{"text": "late", "meta": 5}, {"text": "huge", "big": 10**22}, {"text": 3}]
    path = write_jsonl(corpus / "b.jsonl", b)
    with path.open("ab") as handle:
        handle.write(b'{"text": "caf\xe9"}\n{"text": "fine"}\n')
    output = tmp_path / "out"

    report = run_job(job(corpus, output), engine_factory=HEALTHY, print_report=False)

    assert report.ok and sorted(report.shards) == ["a", "b"]
    assert_exactly_once(output, "a", 7)
    assert_exactly_once(output, "b", 10)
    assert report.shards["a"].error_rows == 0
    assert report.shards["b"].error_rows == 4  # the drifted meta, the huge int, 3, the bad bytes
