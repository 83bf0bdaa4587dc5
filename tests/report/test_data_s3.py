"""The report reads an output on S3 (a real S3-compatible server on loopback) as it reads a
local one, through the same layout."""

from ie_batch.config import StorageConfig
from ie_batch.report import write_report
from ie_batch.report.data import read_report_data
from tests.report.conftest import job_config, run_without_ray, write_corpus


def test_an_output_on_s3_gives_the_same_report_as_a_local_one(
    s3_server, bucket, job_output, tmp_path
):
    corpus = write_corpus(tmp_path / "in")
    storage = {"endpoint_url": s3_server.endpoint_url}
    run_without_ray(job_config(corpus, f"s3://{bucket}/out", storage))
    local_output, _, _ = job_output

    remote = read_report_data(f"s3://{bucket}/out", StorageConfig(**storage), sample=5)
    local = read_report_data(str(local_output), sample=5)
    assert remote.output == f"s3://{bucket}/out"
    assert [(s.name, s.state, s.rows, s.tasks) for s in remote.shards] == [
        (s.name, s.state, s.rows, s.tasks) for s in local.shards
    ]
    assert remote.per_type == local.per_type and remote.totals == local.totals
    assert [(g.stage, g.reason, g.count) for g in remote.errors] == [
        (g.stage, g.reason, g.count) for g in local.errors
    ]
    assert remote.bad_case_count == local.bad_case_count == 3
    assert [(d.id, d.text, d.spans) for d in remote.samples] == [
        (d.id, d.text, d.spans) for d in local.samples
    ]

    page = f"s3://{bucket}/pages/report.html"
    write_report(f"s3://{bucket}/out", page, StorageConfig(**storage), sample=5)
    import s3fs

    fs = s3fs.S3FileSystem(endpoint_url=s3_server.endpoint_url, skip_instance_cache=True)
    html = fs.cat(page.removeprefix("s3://")).decode("utf-8")
    assert html.startswith("<!doctype html>") and html.count('<article class="doc"') == 5
