"""S3 faults injected by a real HTTP proxy between the job and an S3-compatible server
(`tests/faults/s3_proxy.py`): throttling, a PUT that lands but is answered 500, a GET whose body
is cut mid-way, a copy that keeps failing half way through a shard's publish. Each job reaches
S3 through the proxy only (`storage.endpoint_url`); each test checks that the proxy really
injected its faults and that every input row is in the committed results exactly once.
"""

from __future__ import annotations

import io
import json
from collections import Counter
from collections.abc import Iterator

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ie_batch.api import read_results
from ie_batch.config import JobConfig, StorageConfig, config_from_data
from ie_batch.engines.fake import FakeEngineFactory
from ie_batch.fingerprint import fingerprint_of
from ie_batch.io.layout import OutputLayout
from ie_batch.io.shards import list_shards
from ie_batch.io.writing import part_name
from ie_batch.job.run import JobReport, ShardCommitter, run_job
from ie_batch.job.tally import Tally
from tests.faults.conftest import LEXICON
from tests.faults.s3_proxy import Fault, FaultProxy, Rule, running_proxy
from tests.s3 import conftest as s3_fixtures

pytestmark = pytest.mark.ray

# The S3 test server, a fresh bucket per test and one Ray per module started once the server's
# credentials are in the environment (so the workers sign requests too): those of tests/s3.
s3_server = s3_fixtures.s3_server
s3 = s3_fixtures.s3
bucket = s3_fixtures.bucket
ray_runtime = s3_fixtures.ray_runtime

FACTORY = FakeEngineFactory(LEXICON)
BATCH_SIZE = 4
#: shard -> good rows; the shards of BAD_LINE_SHARDS end with an unreadable line (an error
#: row, so an error sidecar). `solo` is that line alone: one staged part and one sidecar, which
#: its publish copies into `data/` and `errors/` one after the other.
SHARDS = {"a": 5, "b": 5, "solo": 0}
BAD_LINE_SHARDS = ("a", "solo")
#: Attempts per S3 request when a fault is meant to outlast the retries (fast to give up).
FEW_ATTEMPTS = 2


def _upload(fs, bucket: str) -> dict[str, list[str]]:
    """`a` and `solo` as JSONL, `b` as Parquet; the ids each shard's results must hold."""
    ids: dict[str, list[str]] = {}
    for name, count in SHARDS.items():
        rows = [{"id": f"{name}{i}", "text": f"Ada met Alan ({name}.{i})."} for i in range(count)]
        ids[name] = [row["id"] for row in rows]
        if name == "b":
            buffer = io.BytesIO()
            pq.write_table(pa.Table.from_pylist(rows), buffer)
            fs.pipe(f"{bucket}/in/{name}.parquet", buffer.getvalue())
            continue
        lines = [json.dumps(row) for row in rows]
        if name in BAD_LINE_SHARDS:
            lines.append("not json")
            ids[name].append(f"{name}:{count}")  # the stable id of the unreadable row
        fs.pipe(f"{bucket}/in/{name}.jsonl", ("\n".join(lines) + "\n").encode())
    return ids


def _config(bucket: str, endpoint_url: str, **storage) -> JobConfig:
    return config_from_data(
        {
            "input": {"paths": [f"s3://{bucket}/in/"]},
            "schemas": ["news_ner_en"],
            "output": f"s3://{bucket}/out",
            "pool": {"batch_size": BATCH_SIZE},
            "storage": {"endpoint_url": endpoint_url, **storage},
        }
    )


def _run(config: JobConfig) -> JobReport:
    return run_job(config, engine_factory=FACTORY, print_report=False)


def _markers(fs, bucket: str) -> dict[str, dict]:
    fs.invalidate_cache()
    paths = fs.glob(f"{bucket}/out/_manifest/*.json")
    return {
        path.rsplit("/", 1)[1][: -len(".json")]: json.loads(fs.cat_file(path)) for path in paths
    }


def _objects(fs, prefix: str) -> list[str]:
    fs.invalidate_cache()
    return sorted(fs.find(prefix))


def _committed_rows(s3_server, bucket: str) -> list[dict]:
    """The committed results, read straight from the server (not through the proxy), with no
    listing cached from an earlier look (the jobs write from other processes)."""
    storage = StorageConfig(
        endpoint_url=s3_server.endpoint_url,
        options={"use_listings_cache": False, "skip_instance_cache": True},
    )
    return read_results(f"s3://{bucket}/out", storage).to_pylist()


def _error_lines(fs, bucket: str, shard: str) -> list[dict]:
    return [
        json.loads(line)
        for path in _objects(fs, f"{bucket}/out/errors/{shard}")
        for line in fs.cat_file(path).decode().splitlines()
    ]


def _assert_committed_once(
    s3_server, fs, bucket: str, ids: dict[str, list[str]], job_done: bool = True
) -> None:
    """The shards of `ids` are the committed ones, and each of their input rows is in the
    results exactly once (a row that could not be read too, with its error, listed once in
    `errors/`); once the job is done, nothing is left in staging."""
    markers = _markers(fs, bucket)
    assert sorted(markers) == sorted(ids)
    rows = _committed_rows(s3_server, bucket)
    assert Counter(row["id"] for row in rows) == Counter(i for shard in ids.values() for i in shard)
    for shard, shard_ids in ids.items():
        mine = [row for row in rows if row["_shard"] == shard]
        assert sorted(row["_row"] for row in mine) == list(range(len(shard_ids)))
        assert markers[shard]["result_rows"] == len(shard_ids)
        errors = _error_lines(fs, bucket, shard)
        assert Counter(line["id"] for line in errors) == Counter(
            row["id"] for row in mine if row["errors"]
        )
    for shard in set(BAD_LINE_SHARDS) & set(ids):
        assert [line["id"] for line in _error_lines(fs, bucket, shard)] == [ids[shard][-1]]
    if job_done:
        assert not [path for path in _objects(fs, f"{bucket}/out") if "/_staging/" in path]


def _assert_job_succeeded(report: JobReport, ids: dict[str, list[str]]) -> None:
    assert report.ok, report.failed
    assert sorted(report.shards) == sorted(ids)
    assert report.total.rows == sum(map(len, ids.values()))
    assert report.exit_code(max_error_rate=0.5) == 0


def _assert_injected(*rules: Rule) -> None:
    for rule in rules:
        assert rule.injected > 0, f"the proxy never injected {rule}: the test proved nothing"


@pytest.fixture
def proxy(s3_server) -> Iterator[FaultProxy]:
    with running_proxy(s3_server.endpoint_url) as proxy:
        yield proxy


def test_throttling_is_retried_and_every_shard_commits(s3_server, ray_runtime, s3, bucket, proxy):
    ids = _upload(s3, bucket)
    rules = [
        proxy.add(Rule(Fault.SLOW_DOWN, "GET", r"/in/\w+\.(jsonl|parquet)")),
        proxy.add(Rule(Fault.SLOW_DOWN, "PUT", r"/out/_staging/\w+/data/")),
        # the publish, by copy (or by writing merged parts)
        proxy.add(Rule(Fault.SLOW_DOWN, "PUT", r"/out/data/")),
        proxy.add(Rule(Fault.SLOW_DOWN, "PUT", r"/out/_manifest/")),
    ]

    report = _run(_config(bucket, proxy.endpoint_url))

    _assert_injected(*rules)
    _assert_job_succeeded(report, ids)
    _assert_committed_once(s3_server, s3, bucket, ids)


def test_a_put_that_lands_but_is_answered_500_is_retried_and_counts_once(
    s3_server, ray_runtime, s3, bucket, proxy
):
    ids = _upload(s3, bucket)
    rules = [
        proxy.add(Rule(Fault.LAND_THEN_500, "PUT", r"/out/_staging/\w+/data/", times=2)),
        proxy.add(Rule(Fault.LAND_THEN_500, "PUT", r"/out/_staging/\w+/errors/")),
        proxy.add(Rule(Fault.LAND_THEN_500, "PUT", r"/out/data/", times=2)),
        proxy.add(Rule(Fault.LAND_THEN_500, "PUT", r"/out/errors/")),
        proxy.add(Rule(Fault.LAND_THEN_500, "PUT", r"/out/metrics/")),
        proxy.add(Rule(Fault.LAND_THEN_500, "PUT", r"/out/_manifest/")),
    ]

    report = _run(_config(bucket, proxy.endpoint_url))

    _assert_injected(*rules)
    _assert_job_succeeded(report, ids)
    _assert_committed_once(s3_server, s3, bucket, ids)


def test_a_get_cut_mid_body_is_read_again(s3_server, ray_runtime, s3, bucket, proxy):
    ids = _upload(s3, bucket)
    rules = [
        # the input shards, in their read tasks
        proxy.add(Rule(Fault.CUT_BODY, "GET", r"/in/\w+\.(jsonl|parquet)", times=3)),
        # the staged parts, read by the commit's check of their row numbers
        proxy.add(Rule(Fault.CUT_BODY, "GET", r"/out/_staging/\w+/data/\S+\.parquet")),
    ]

    report = _run(_config(bucket, proxy.endpoint_url))

    _assert_injected(*rules)
    _assert_job_succeeded(report, ids)
    _assert_committed_once(s3_server, s3, bucket, ids)


def test_a_copy_failing_half_way_through_a_publish_leaves_the_shard_for_the_rerun(
    s3_server, ray_runtime, s3, bucket, proxy
):
    ids = _upload(s3, bucket)
    # solo's publish: its staged part is copied into data/ (that lands), then its error sidecar
    # into errors/, which fails every time, retries and all
    broken = proxy.add(
        Rule(
            Fault.FAIL_500,
            "PUT",
            r"/out/(data|errors)/solo/",
            header="x-amz-copy-source",
            skip=1,
            times=None,
        )
    )
    config = _config(bucket, proxy.endpoint_url, max_attempts=FEW_ATTEMPTS)

    try:
        report = _run(config)
    except OSError:
        report = None  # the publish error ended the job; what matters is what it left
    _assert_injected(broken)
    copies = [e for e in proxy.seen("PUT", r"/out/(data|errors)/solo/") if e.copy_source]
    # half way: the first copy landed, every later attempt failed
    assert copies[0].outcome == "200" and s3.exists(copies[0].path.lstrip("/"))
    assert len(copies) > 1 and {e.outcome for e in copies[1:]} == {Fault.FAIL_500.value}
    done_first = set(_markers(s3, bucket))
    assert "solo" not in done_first  # its rows are not in the results (read_results: none)
    first = {name: ids[name] for name in done_first}
    _assert_committed_once(s3_server, s3, bucket, first, job_done=False)
    if report is not None:
        assert "solo" in report.failed and "solo" not in report.shards
        assert report.exit_code(max_error_rate=0.5) == 1

    proxy.clear()
    again = _run(config)

    assert again.ok, again.failed
    assert "solo" in again.shards
    assert sorted([*again.shards, *again.skipped]) == sorted(ids)
    assert set(again.skipped) == done_first
    assert again.total.rows == sum(len(ids[name]) for name in again.shards)
    _assert_committed_once(s3_server, s3, bucket, ids)


def test_a_shard_whose_publish_keeps_failing_is_failed_and_the_commits_go_on(s3, bucket, proxy):
    """The job's commit (`ShardCommitter`, as `run_job` drives it, without Ray) of two staged
    shards, the first one's publish copy failing every time: that shard must fail, recorded
    for `status`, and the next shard still commit."""
    ids = _upload(s3, bucket)
    config = _config(bucket, proxy.endpoint_url, max_attempts=FEW_ATTEMPTS)
    shards = {s.name: s for s in list_shards(config.input.paths, config.storage).shards}
    layout = OutputLayout.open(config.output, config.storage)
    for name in ("solo", "b"):
        rows = len(ids[name])
        table = pa.table(
            {
                "id": ids[name],
                "_shard": [name] * rows,
                "_row": list(range(rows)),
                "errors": [["bad"] if name == "solo" else [] for _ in range(rows)],
            }
        )
        layout.stage_part(name, part_name(0, rows - 1), table)
    line = {"id": "solo:0", "shard": "solo", "row": 0, "stage": "read", "reason": "bad"}
    layout.stage_error_part("solo", part_name(0, 0), [line])
    report = JobReport(output=config.output)
    committer = ShardCommitter(layout, fingerprint_of(config), report)
    committer.expect([shards["solo"], shards["b"]], {"solo": 1, "b": len(ids["b"])})
    broken = proxy.add(
        Rule(Fault.FAIL_500, "PUT", r"/out/errors/solo/", header="x-amz-copy-source", times=None)
    )

    committer.commit(shards["solo"], Tally(rows=1, error_rows=1))
    committer.commit(shards["b"], Tally(rows=len(ids["b"])))

    _assert_injected(broken)
    assert list(report.failed) == ["solo"] and list(report.shards) == ["b"]
    assert report.exit_code(max_error_rate=1.0) == 1
    assert sorted(_markers(s3, bucket)) == ["b"]
    failure = json.loads(s3.cat_file(f"{bucket}/out/_failures/solo.json"))
    assert failure["shard"] == "solo" and failure["reason"]


def test_a_lease_put_that_lands_but_is_answered_500_does_not_lock_the_job_out(
    s3_server, ray_runtime, s3, bucket, proxy
):
    ids = _upload(s3, bucket)
    rule = proxy.add(Rule(Fault.LAND_THEN_500, "PUT", r"/out/_lease\.json$"))

    report = _run(_config(bucket, proxy.endpoint_url))

    _assert_injected(rule)
    _assert_job_succeeded(report, ids)
    _assert_committed_once(s3_server, s3, bucket, ids)
