"""A golden snapshot of the job's whole observable output, to keep a restructuring honest.

`take_snapshot` runs a fixed fake-engine job (bad lines, a missing text, a bad gold column, an
engine failure on some rows, a schema routed to one shard), then `retry-errors`, and records
every file of the output folder after each, `status`, the CLI's help texts and the fingerprints
of the shipped demo configs. Wall-clock fields are dropped, temporary paths replaced by markers,
so two runs of the same code give the same snapshot. Regenerate (only when a behaviour change is
intended, and say so in the commit):

    .venv/bin/python -m tests.job.golden.snapshot --write
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

REPO = Path(__file__).resolve().parents[3]
SNAPSHOT = Path(__file__).with_name("output.json")
#: Fields whose values are wall-clock readings, different on every run.
WALL_CLOCK = re.compile(r"^(seconds|engine_seconds|.*_per_second|started_at|committed_at)$")
COMMANDS = [
    [],
    ["run"],
    ["status"],
    ["retry-errors"],
    ["eval"],
    ["schema"],
    ["schema", "show"],
    ["model"],
    ["model", "prepare"],
    ["unlock"],
]


def write_corpus(folder: Path) -> Path:
    folder.mkdir(parents=True)
    person = lambda name: {"type": "person", "text": name}  # noqa: E731
    news = [
        {
            "id": "n1",
            "text": "Tim Cook visited Berlin.",
            "entities": [person("Tim Cook"), {"type": "location", "text": "Berlin"}],
            "label": "business",
            "source": "wire",
        },
        {
            "id": "n2",
            "text": "Angela Merkel spoke in Paris about Alan Turing.",
            "entities": [person("Angela Merkel"), person("Alan Turing")],
            "label": "world",
            "source": "wire",
        },
        {"id": "n3", "text": "Mars is far.", "entities": "not a list", "source": "blog"},
    ]
    body = "\n".join(json.dumps(row) for row in news)
    body += "\nnot json\n" + '{"id": "n5"}\n' + "[1, 2]\n" + '{"id": "n7", "text": 7}\n'
    (folder / "news.jsonl").write_text(body, encoding="utf-8")
    rows = [
        {
            "id": f"p{i}",
            "text": f"Apple shares rose in Berlin, day {i}." + (" Turing" * (i % 5 == 0)),
        }
        for i in range(23)
    ]
    sub = folder / "2026" / "11"
    sub.mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(rows), sub / "web.parquet")
    (folder / "empty.jsonl").write_text("\n", encoding="utf-8")
    for path in folder.rglob("*.*"):  # a shard's version is its mtime: make it a fixed one
        os.utime(path, (1_780_000_000, 1_780_000_000))
    return folder


def job_data(corpus: Path, output: Path) -> dict[str, Any]:
    return {
        "input": {"paths": [str(corpus)]},
        "schemas": ["news_ner_en", {"schema": "topic_en", "shards": ["news"]}],
        "output": str(output),
        "pool": {"batch_size": 4},
    }


def _normalise(value: Any, markers: dict[str, str]) -> Any:
    if isinstance(value, dict):
        return {
            key: _normalise(item, markers)
            for key, item in value.items()
            if not WALL_CLOCK.match(str(key))
        }
    if isinstance(value, list):
        return [_normalise(item, markers) for item in value]
    if isinstance(value, str):
        for path, marker in markers.items():
            value = value.replace(path, marker)
    return value


def folder_snapshot(output: Path, markers: dict[str, str]) -> dict[str, Any]:
    """Every file under `output`, by relative path: JSON parsed, JSONL per line, Parquet as its
    schema and rows."""
    files: dict[str, Any] = {}
    for path in sorted(p for p in output.rglob("*") if p.is_file()):
        name = path.relative_to(output).as_posix()
        if path.suffix == ".json":
            content: Any = json.loads(path.read_text(encoding="utf-8"))
        elif path.suffix == ".jsonl":
            content = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
        elif path.suffix == ".parquet":
            table = pq.read_table(path)
            content = {"schema": str(table.schema), "rows": table.to_pylist()}
        else:
            content = path.read_text(encoding="utf-8")
        files[name] = _normalise(content, markers)
    return files


def help_texts() -> dict[str, str]:
    from typer.testing import CliRunner

    from ie_batch.cli import app

    runner = CliRunner()
    texts = {}
    for command in COMMANDS:
        result = runner.invoke(app, [*command, "--help"], env={"COLUMNS": "100", "TERM": "dumb"})
        texts[" ".join(command) or "ie-batch"] = result.output
    return texts


def fingerprints() -> dict[str, str]:
    from ie_batch.config import load_config
    from ie_batch.fingerprint import fingerprint_of

    return {
        name: fingerprint_of(load_config(REPO / "examples" / name)).value
        for name in ("demo_en.yaml", "demo_zh.yaml")
    }


def take_snapshot(root: Path) -> dict[str, Any]:
    """Runs the golden job under `root` (needs Ray running or startable) and records it."""
    from ie_batch.config import config_from_data
    from ie_batch.engines.fake import FailingAnswers, FakeEngineFactory, LexiconAnswers
    from ie_batch.job.retry import retry_errors
    from ie_batch.job.run import run_job
    from ie_batch.job.status import job_status

    lexicon = LexiconAnswers(
        entities={
            "person": ["Tim Cook", "Angela Merkel", "Alan Turing"],
            "location": ["Berlin", "Paris", "Mars"],
            "organization": ["Apple"],
        },
        labels={"business": ["Tim Cook", "Apple"], "world": ["Merkel"]},
    )
    corpus = write_corpus(root / "in")
    output = root / "out"
    markers = {str(output): "<output>", str(corpus): "<input>", str(REPO): "<repo>"}
    config = config_from_data(job_data(corpus, output))
    flaky = FakeEngineFactory(FailingAnswers(lexicon, ["Turing"]))
    report = run_job(config, engine_factory=flaky, print_report=False)
    first = {
        "report": _normalise(report.summary(), markers),
        "files": folder_snapshot(output, markers),
    }
    retried = retry_errors(str(output), engine_factory=FakeEngineFactory(lexicon))
    second = {
        "report": dataclasses.asdict(retried),
        "files": folder_snapshot(output, markers),
    }
    status = job_status(str(output))
    return {
        "run": first,
        "retry": second,
        "status": _normalise(
            {
                "shards": [dataclasses.asdict(shard) for shard in status.shards],
                "total": status.total.metrics(),
                "input_error": status.input_error,
            },
            markers,
        ),
        "help": help_texts(),
        "fingerprints": fingerprints(),
    }


def main() -> None:
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    with tempfile.TemporaryDirectory() as tmp:
        snapshot = take_snapshot(Path(tmp))
    ray.shutdown()
    text = json.dumps(snapshot, indent=1, ensure_ascii=False, sort_keys=True, default=str) + "\n"
    if "--write" in sys.argv:
        SNAPSHOT.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
