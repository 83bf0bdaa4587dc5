"""A whole job reading from and writing to a real S3-compatible server: every row once, the
commit files, reruns that skip committed shards, incremental runs, no credentials in outputs."""

from __future__ import annotations

import io
import json
from collections import Counter

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ie_batch.config import config_from_data
from ie_batch.engines.fake import FakeEngineFactory, LexiconAnswers
from ie_batch.job.run import run_job
from tests.s3.conftest import CREDENTIALS

pytestmark = pytest.mark.ray

ENV_SECRETS = {CREDENTIALS["AWS_ACCESS_KEY_ID"], CREDENTIALS["AWS_SECRET_ACCESS_KEY"]}

FACTORY = FakeEngineFactory(
    LexiconAnswers(
        entities={"person": ["Tim Cook", "Angela Merkel"], "location": ["Berlin", "Paris"]}
    )
)
NEWS = [
    {"id": "n0", "text": "Tim Cook visited Berlin."},
    {"id": "n1", "text": "Angela Merkel spoke in Paris."},
    {"id": "n2", "text": "Nothing to see here."},
    {"id": "n3", "text": "Berlin and Paris signed a deal."},
]
WEB = [{"id": f"w{i}", "text": f"Tim Cook was in Paris on day {i}."} for i in range(12)]


def _put_jsonl(fs, path: str, rows: list[dict], extra_lines: tuple[str, ...] = ()) -> None:
    lines = [json.dumps(row) for row in rows] + list(extra_lines)
    fs.pipe(path, ("\n".join(lines) + "\n").encode("utf-8"))


def _put_parquet(fs, path: str, rows: list[dict]) -> None:
    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(rows), buffer)
    fs.pipe(path, buffer.getvalue())


def _upload_corpus(fs, bucket: str) -> None:
    # one unreadable line: it must come out as a row with its error, in errors/ too
    _put_jsonl(fs, f"{bucket}/in/news.jsonl", NEWS, extra_lines=("not json",))
    _put_parquet(fs, f"{bucket}/in/web.parquet", WEB)


def _config(s3_server, bucket: str):
    return config_from_data(
        {
            "input": {"paths": [f"s3://{bucket}/in/"]},
            "schemas": ["news_ner_en"],
            "output": f"s3://{bucket}/out",
            "pool": {"batch_size": 5},
            "storage": {"endpoint_url": s3_server.endpoint_url},
        }
    )


def _run(s3_server, bucket: str):
    return run_job(_config(s3_server, bucket), engine_factory=FACTORY, print_report=False)


def _rows(fs, bucket: str, shard: str) -> list[dict]:
    fs.invalidate_cache()
    return pq.read_table(f"{bucket}/out/data/{shard}", filesystem=fs).to_pylist()


def _json(fs, path: str) -> dict:
    return json.loads(fs.cat_file(path))


def _objects(fs, prefix: str) -> list[str]:
    fs.invalidate_cache()
    return sorted(fs.find(prefix))


def _errors(fs, out: str, shard: str) -> list[dict]:
    return [
        json.loads(line)
        for path in _objects(fs, f"{out}/errors/{shard}")
        for line in fs.cat_file(path).decode().splitlines()
    ]


def _assert_no_secret_in_outputs(fs, out: str, secrets: set[str]) -> None:
    objects = _objects(fs, out)
    kinds = {path[len(out) + 1 :].split("/")[0] for path in objects}
    assert {"data", "errors", "metrics", "_manifest", "summary.json"} <= kinds
    for path in objects:
        body = fs.cat_file(path)
        if path.endswith(".parquet"):  # compressed pages: look at the decoded values
            body = json.dumps(pq.read_table(io.BytesIO(body)).to_pylist(), default=str).encode()
        for secret in secrets:
            assert secret.encode() not in body, f"{path} holds a credential"


def _assert_each_row_once(rows: list[dict], shard: str, ids: list[str]) -> None:
    assert sorted(row["_row"] for row in rows) == list(range(len(ids)))
    assert Counter(row["id"] for row in rows) == Counter(ids)
    assert {row["_shard"] for row in rows} == {shard}


def test_a_job_on_s3_writes_every_row_once_and_commits_each_shard(
    s3_server, ray_runtime, s3, bucket
):
    _upload_corpus(s3, bucket)
    report = _run(s3_server, bucket)

    assert sorted(report.shards) == ["news", "web"]
    assert report.skipped == []
    assert report.total.rows == len(NEWS) + 1 + len(WEB)

    news = _rows(s3, bucket, "news")
    _assert_each_row_once(news, "news", [row["id"] for row in NEWS] + ["news:4"])
    by_id = {row["id"]: row for row in news}
    assert {(e["type"], e["text"], e["start"]) for e in by_id["n0"]["entities"]} == {
        ("person", "Tim Cook", 0),
        ("location", "Berlin", 17),
    }
    assert by_id["n2"]["entities"] == [] and by_id["n2"]["errors"] == []
    assert "not valid JSON" in by_id["news:4"]["errors"][0]
    web = _rows(s3, bucket, "web")
    _assert_each_row_once(web, "web", [row["id"] for row in WEB])
    assert all({e["text"] for e in row["entities"]} == {"Tim Cook", "Paris"} for row in web)

    out = f"{bucket}/out"
    # web's three staged parts (batches of 5 rows) merged into one, in a Ray task, on S3
    assert _objects(s3, f"{out}/data/web") == [f"{out}/data/web/part-000000000-000000011.parquet"]
    assert _objects(s3, f"{out}/_staging") == []
    for shard, rows in (("news", 5), ("web", 12)):
        metrics = _json(s3, f"{out}/metrics/{shard}.json")
        assert metrics["shard"] == shard and metrics["rows"] == rows
        marker = _json(s3, f"{out}/_manifest/{shard}.json")
        assert marker["name"] == shard and marker["result_rows"] == rows
        assert marker["path"] == f"{bucket}/in/{shard}.{'jsonl' if shard == 'news' else 'parquet'}"
        assert marker["version"], "an S3 shard's identity includes its ETag"
    assert _json(s3, f"{out}/metrics/news.json")["error_rows"] == 1
    errors = _errors(s3, out, "news")
    assert [(e["id"], e["row"], e["stage"]) for e in errors] == [("news:4", 4, "read")]
    summary = _json(s3, f"{out}/summary.json")
    assert summary["rows"] == 17 and summary["shards_processed"] == ["news", "web"]
    assert not [p for p in _objects(s3, out) if "/_staging/" in p]

    parts_before = _objects(s3, f"{out}/data")
    again = _run(s3_server, bucket)
    assert sorted(again.skipped) == ["news", "web"]
    assert again.shards == {} and again.total.rows == 0
    assert _objects(s3, f"{out}/data") == parts_before
    assert len(_rows(s3, bucket, "news")) == 5 and len(_rows(s3, bucket, "web")) == 12
    _assert_no_secret_in_outputs(s3, out, ENV_SECRETS)


def test_an_incremental_run_processes_only_new_and_changed_shards(
    s3_server, ray_runtime, s3, bucket
):
    _upload_corpus(s3, bucket)
    _run(s3_server, bucket)
    out = f"{bucket}/out"
    web_marker = _json(s3, f"{out}/_manifest/web.json")

    news = [*NEWS, {"id": "n4", "text": "Angela Merkel left Berlin."}]
    # rewritten with one more row; the unreadable line moves from row 4 to row 5
    _put_jsonl(s3, f"{bucket}/in/news.jsonl", news, extra_lines=("not json",))
    extra = [{"id": f"x{i}", "text": f"Paris, item {i}."} for i in range(3)]
    _put_jsonl(s3, f"{bucket}/in/2026/extra.jsonl", extra)  # a new shard
    report = _run(s3_server, bucket)

    assert sorted(report.shards) == ["2026__extra", "news"]
    assert report.skipped == ["web"]
    assert report.total.rows == len(news) + 1 + len(extra)
    news_ids = [row["id"] for row in news] + ["news:5"]
    _assert_each_row_once(_rows(s3, bucket, "news"), "news", news_ids)
    _assert_each_row_once(
        _rows(s3, bucket, "2026__extra"), "2026__extra", [row["id"] for row in extra]
    )
    _assert_each_row_once(_rows(s3, bucket, "web"), "web", [row["id"] for row in WEB])
    assert _json(s3, f"{out}/_manifest/web.json") == web_marker  # untouched
    metrics = _json(s3, f"{out}/metrics/news.json")
    assert (metrics["rows"], metrics["error_rows"]) == (6, 1)
    # the old version's error (row 4) went with it; only the new one is listed
    assert [(e["id"], e["row"]) for e in _errors(s3, out, "news")] == [("news:5", 5)]
    assert _errors(s3, out, "2026__extra") == []

    # same size, new content: only the ETag tells the shards apart
    same_size = [{**row, "text": row["text"].replace("Paris", "Parma")} for row in extra]
    _put_jsonl(s3, f"{bucket}/in/2026/extra.jsonl", same_size)
    report = _run(s3_server, bucket)
    assert list(report.shards) == ["2026__extra"]
    assert sorted(report.skipped) == ["news", "web"]
    rows = _rows(s3, bucket, "2026__extra")
    _assert_each_row_once(rows, "2026__extra", [row["id"] for row in extra])
    assert all(row["text"].startswith("Parma") and row["entities"] == [] for row in rows)


def test_credentials_in_storage_options_reach_no_output_object(s3_server, ray_runtime, s3, bucket):
    """Explicit fsspec credentials travel to the workers inside the job config; the job files
    written next to the results (summary, job record, manifest, metrics) must not hold them."""
    _upload_corpus(s3, bucket)
    options = {"key": "AKIAOPTIONSKEY000001", "secret": "opt-secret-7f3a9c"}
    config = _config(s3_server, bucket)
    config = config.model_copy(
        update={"storage": config.storage.model_copy(update={"options": options})}
    )
    report = run_job(config, engine_factory=FACTORY, print_report=False)
    assert report.total.rows == 17
    _assert_no_secret_in_outputs(s3, f"{bucket}/out", {*options.values(), *ENV_SECRETS})
