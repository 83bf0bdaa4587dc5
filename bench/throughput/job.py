"""(b) the ie_batch job itself, with its prompts recorded for (a) and (c) to replay.

The documents go to one JSONL shard in the work folder; `run_job` runs the whole plan (Ray Data
read, one extraction actor with the job's own `VllmEngine`, the write and the commit) with a
factory that wraps that engine in `RecordingEngine`. Tokens come from the job's result rows;
time from the recording: the first prompt handed to the engine to the last answer back.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.throughput.figures import ModeFigures
from bench.throughput.recording import Recording, RecordingFactory, assign_documents
from ie_batch.config import JobConfig


def job_config(
    documents: Sequence[dict[str, Any]],
    schema: str,
    work: Path,
    batch_size: int | None,
    engine: dict[str, Any] | None = None,
    pool_overrides: dict[str, Any] | None = None,
) -> JobConfig:
    """The job over `documents` with ie_batch's defaults, one engine actor; `engine` overrides
    fields of its engine section (every mode runs with that section), `pool_overrides` fields
    of its pool section (the job's knobs, for their curves)."""
    from ie_batch.config import config_from_data

    shard = work / "input" / "documents.jsonl"
    shard.parent.mkdir(parents=True, exist_ok=True)
    with shard.open("w", encoding="utf-8") as handle:
        for row in documents:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    pool: dict[str, Any] = {"min_actors": 1, "max_actors": 1}
    if batch_size:
        pool["batch_size"] = batch_size
    pool.update(pool_overrides or {})
    data = {
        "input": {"paths": [str(shard.parent)]},
        "schemas": [schema],
        "output": str(work / "job"),
        "pool": pool,
        "engine": engine or {},
    }
    return config_from_data(data, "bench:throughput")


def run_recorded_job(
    config: JobConfig, documents: Sequence[dict[str, Any]], work: Path
) -> tuple[ModeFigures, Recording]:
    """Run the job once; its figures and what its engine was sent (documents assigned)."""
    from ie_batch.api import read_results
    from ie_batch.job.run import run_job

    folder = work / "recording"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    started = time.perf_counter()
    report = run_job(
        config, engine_factory=RecordingFactory(str(folder)), print_report=False, force=True
    )
    wall = time.perf_counter() - started
    recording = Recording.read(folder)
    assign_documents(recording.prompts, documents)
    table = read_results(config.output)
    total = report.total

    def column(name: str) -> int:
        return int(sum(v or 0 for v in table.column(name).to_pylist())) if table.num_rows else 0

    figures = ModeFigures(
        mode="b",
        documents=table.num_rows,
        prompts=len(recording.prompts),
        prompt_tokens=column("prompt_tokens"),
        completion_tokens=column("completion_tokens"),
        cached_tokens=column("cached_prompt_tokens"),
        seconds=recording.generate_seconds,
        engine_start_s=recording.engine_start_s,
        wall_s=wall,
        error_prompts=sum(len(errors or ()) for errors in table.column("errors").to_pylist())
        if table.num_rows
        else 0,
        note=f"job wall - engine start: {wall - recording.engine_start_s:.1f} s; "
        f"{len(recording.calls)} generate calls; error rows {total.error_rows}"
        + ("" if report.ok else f"; shards failed: {report.failed}"),
    )
    return figures, recording
