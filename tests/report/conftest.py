"""A job output to report on, made by the job's own stages and commit with a scripted engine,
without Ray: the read (`iter_shard_batches`), `ExtractionStage`, `write_results` and the
driver's `ShardCommitter`, as `run_job` drives them, so every file is the one a job writes.

The corpus has what a review page must cope with: nested and identical spans, relations and
events, a text with markup and an emoji (offsets are code points, not UTF-16 units), a text
with a line break, gold that the job misses, a misclassified row, rows whose prompts fail,
unreadable lines, an empty shard, an unreadable shard and a shard without gold.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ie_batch.config import config_from_data
from ie_batch.engines.fake import FakeEngineFactory
from ie_batch.fingerprint import fingerprint_of
from ie_batch.io.job_record import write_job_record
from ie_batch.io.layout import OutputLayout
from ie_batch.io.reading import iter_shard_batches
from ie_batch.io.shards import list_shards, unreadable_reason
from ie_batch.job.extract_stage import ExtractionStage
from ie_batch.job.run import JobReport, ShardCommitter
from ie_batch.job.scoring import Scorer
from ie_batch.job.write_stage import ShardSummary, write_results
from tests.s3 import conftest as s3_fixtures

#: The S3 test server and a fresh bucket per test, as the S3 tests have them.
s3_server, s3, bucket = s3_fixtures.s3_server, s3_fixtures.s3, s3_fixtures.bucket

RELATIONS_SCHEMA = """\
task: re
name: relations_en
language: en
relations:
  works_for: a person works for an organisation
  located_in: an organisation is in a place
"""

INJECTION = "<script>document.title='pwned'</script>"
NEWS = [
    {
        "id": "n1",
        "text": "Tim Cook, who works for Apple, visited the Berlin Zoo.",
        "entities": [
            {"type": "person", "text": "Tim Cook"},
            {"type": "organization", "text": "Apple"},
            {"type": "organization", "text": "Berlin Zoo"},
            {"type": "location", "text": "Berlin"},
        ],
        "relations": [{"subject": "Tim Cook", "relation": "works_for", "object": "Apple"}],
        "label": "business",
    },
    {
        "id": "n2 <i>",
        "text": f'Angela Merkel said "{INJECTION}" & <b>left</b> \U0001f600 Paris today.',
        "entities": [
            {"type": "person", "text": "Angela Merkel"},
            {"type": "location", "text": "Paris"},
            {"type": "location", "text": "London"},
        ],
        "label": "world",
    },
    {
        "id": "n3",
        "text": "Acme bought Beta for $5m on Monday.",
        "events": [
            {
                "type": "acquisition",
                "trigger": "bought",
                "arguments": [
                    {"role": "acquirer", "text": "Acme"},
                    {"role": "target", "text": "Beta"},
                ],
            }
        ],
        "label": "world",
    },
    {"id": "n4", "text": "Tim Cook\nspoke in Berlin.", "label": "business"},
    {"id": "n5", "text": "Alan Turing broke codes in Berlin.", "label": "sci_tech"},
]


class ScriptedAnswers:
    """Answers IEPile-format prompts from lexicons, whatever their task: entity mentions,
    relations and events whose words are in the prompt's input, the first class whose keyword
    is; fails every prompt whose input mentions a word of `fail_on`, as an engine fails."""

    entities = {
        "person": ["Tim Cook", "Angela Merkel", "Alan Turing"],
        "organization": ["Apple", "Berlin Zoo", "Acme", "Beta"],
        "location": ["Berlin", "Paris"],
    }
    relations = {"works_for": [{"subject": "Tim Cook", "object": "Apple"}]}
    events = {
        "acquisition": [
            {
                "trigger": "bought",
                "arguments": {"acquirer": "Acme", "target": "Beta", "price": "$5m"},
            }
        ]
    }
    labels = {"business": ["Apple", "Acme", "shares"], "world": ["Merkel"]}
    fail_on = ["Turing"]

    def __call__(self, prompt):
        text = json.loads(prompt.messages[-1].content)["input"]
        for word in self.fail_on:
            if word in text:
                raise RuntimeError(f"scripted failure on {word!r}")
        properties = prompt.answer_schema["properties"]
        if list(properties) == ["label"]:
            allowed = properties["label"]["enum"]
            for label, words in self.labels.items():
                if label in allowed and any(word in text for word in words):
                    return json.dumps({"label": label})
            return json.dumps({"label": allowed[-1]})
        answer = {}
        for key, spec in properties.items():
            item = spec.get("items", {})
            if "trigger" in item.get("properties", {}):
                answer[key] = [e for e in self.events.get(key, []) if e["trigger"] in text]
            elif item.get("type") == "object":
                answer[key] = [
                    r
                    for r in self.relations.get(key, [])
                    if r["subject"] in text and r["object"] in text
                ]
            else:
                answer[key] = [w for w in self.entities.get(key, []) if w in text]
        return json.dumps(answer, ensure_ascii=False)


def write_corpus(folder: Path) -> Path:
    folder.mkdir(parents=True)
    lines = [json.dumps(row, ensure_ascii=False) for row in NEWS]
    lines.insert(3, "not json")
    lines.insert(5, '{"id": "n-no-text"}')
    (folder / "news.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    web = [{"id": f"w{i}", "text": f"Apple shares rose in Berlin, day {i}."} for i in range(12)]
    web[7]["text"] = "Alan Turing's papers went on sale."  # fails as n5 does: one reason
    pq.write_table(pa.Table.from_pylist(web), folder / "web.parquet", row_group_size=5)
    (folder / "empty.jsonl").write_text("\n", encoding="utf-8")
    (folder / "broken.parquet").write_bytes(b"PAR1 this is not parquet")
    return folder


def job_config(corpus: Path, output: str, storage: dict | None = None):
    schema_file = corpus.parent / "relations_en.yaml"
    schema_file.write_text(RELATIONS_SCHEMA, encoding="utf-8")
    return config_from_data(
        {
            "input": {"paths": [str(corpus)]},
            "schemas": [
                "news_ner_en",
                {"schema": "topic_en", "shards": ["news"]},
                {"schema": str(schema_file), "shards": ["news"]},
                {"schema": "finance_events_en", "shards": ["news"]},
            ],
            "output": output,
            "prompt": {"format": "iepile", "entity_type_run_off": False},
            "pool": {"batch_size": 3},
            "storage": storage or {},
        }
    )


def run_without_ray(config) -> JobReport:
    """The job as `run_job` drives it, in this process: read, extract, write, commit."""
    listing = list_shards(config.input.paths, config.storage, exclude=[config.output])
    layout = OutputLayout.open(config.output, config.storage)
    report = JobReport(output=config.output)
    committer = ShardCommitter(
        layout,
        fingerprint_of(config),
        report,
        scorer=Scorer.for_config(config),
        part_bytes=config.write.part_mib * 1024 * 1024,
    )
    write_job_record(layout, config, committer.fingerprint.value)
    committer.expect(
        listing.shards, dict.fromkeys((s.name for s in listing.shards), None), listing.fs
    )
    stage = ExtractionStage(config, FakeEngineFactory(ScriptedAnswers()))
    for shard in listing.shards:
        try:
            batches = list(
                iter_shard_batches(
                    listing.fs,
                    shard,
                    config.pool.batch_size,
                    text_column=config.input.text_column,
                )
            )
        except Exception as exc:  # the read task of a job records the same
            layout.record_failure(shard.name, shard.path, unreadable_reason(shard, exc))
            continue
        for batch in batches:
            table = asyncio.run(stage(batch))
            for summary in write_results(table, config).to_pylist():
                committer.add(ShardSummary.from_row(summary))
    committer.finish()
    layout.write_json(layout.summary_path, report.summary())
    return report


@pytest.fixture(scope="session")
def job_output(tmp_path_factory):
    """(output folder, the job's report, the result rows by id) of the scripted job."""
    folder = tmp_path_factory.mktemp("report-job")
    corpus = write_corpus(folder / "in")
    config = job_config(corpus, str(folder / "out"))
    report = run_without_ray(config)
    rows = {
        row["id"]: row
        for path in sorted((folder / "out" / "data").rglob("*.parquet"))
        for row in pq.read_table(path).to_pylist()
    }
    return folder / "out", report, rows
