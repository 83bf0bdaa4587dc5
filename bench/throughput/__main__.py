"""Throughput of the ie_batch job against raw vLLM, Ray Data LLM and a naive plan, on the same
documents in one run. Not in CI.

    .venv/bin/python -m bench.throughput --dataset conll2003-valid --limit 32     # NER
    .venv/bin/python -m bench.throughput --dataset bbc-news-dev --limit 32        # classification
    .venv/bin/python -m bench.throughput --dataset peoples-daily-dev --schema re_zh_duie
    .venv/bin/python -m bench.throughput --dataset conll2003-valid --schema finance_events_en

Modes, run one after another in this process (each engine stopped before the next starts):
(b) the job, its engine recording every prompt; (a) raw vLLM `LLM.generate` on exactly those
prompts (the limit); (c) `ray.data.llm`'s processor on them, one row per prompt, regrouped per
document; (d) one prompt per document asking every label, on raw vLLM. Each prints docs/s,
generated and total tokens/s, prompts and tokens per document, prefix-cache hit rate and engine
start; then the ratios (b)/(a), (b)/(c), (b)/(d). `results.json` goes to `--output`.

Every mode runs the job's engine section (`--engine` overrides it for all of them) with the
scheduler limits the job's engine resolves (`--llm-defaults`: (a) and (d) with `LLM`'s own).
A document set given with another task's `--schema` is asked that schema (its gold dropped).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.throughput.figures import MODES, ModeFigures, ratio_lines, ratios, table

GOLD_COLUMNS = ("entities", "ner", "relations", "events", "label", "labels")


def load_documents(
    dataset: str, schema: str | None, limit: int, data_dir: Path | None, work: Path
) -> tuple[list[dict[str, Any]], str]:
    """The documents (id, text and, with the data set's own schema, its gold columns) and the
    schema to run: a bench.accuracy data set (its rows spread evenly, as bench.accuracy
    samples them) or a JSONL file, which needs `--schema`."""
    from bench.accuracy.runner import sample_rows

    path = Path(dataset)
    if path.suffix == ".jsonl" and path.is_file():
        if schema is None:
            raise SystemExit(f"{dataset}: a JSONL file needs --schema")
        with path.open(encoding="utf-8") as handle:
            rows = [json.loads(line) for line in handle if line.strip()]
        own_schema = None
    else:
        from bench.accuracy.datasets import get_dataset

        found = get_dataset(dataset, data_dir)
        rows = found.rows()
        own_schema = str(found.schema_file(work / "schemas"))
    rows = sample_rows(rows, limit or None, "spread")
    for index, row in enumerate(rows):
        row.setdefault("id", f"doc-{index:05d}")
    if schema is not None and own_schema is not None:  # another task's gold would be scored
        rows = [{k: v for k, v in row.items() if k not in GOLD_COLUMNS} for row in rows]
    return rows, schema or own_schema  # type: ignore[return-value]


def guarded(mode: str, run: Callable[[], ModeFigures], documents: int) -> ModeFigures:
    """A mode that fails is a row of the table saying why, not the end of the bench."""
    started = time.perf_counter()
    load = os.getloadavg()[0]
    print(f"bench.throughput: ({mode}) {MODES[mode]} ...", file=sys.stderr, flush=True)
    try:
        figures = run()
    except Exception as exc:  # noqa: BLE001
        traceback.print_exc(file=sys.stderr)
        figures = ModeFigures(
            mode=mode, documents=documents, unavailable=f"{type(exc).__name__}: {exc}"
        )
        figures.wall_s = time.perf_counter() - started
    figures.load = (round(load, 2), round(os.getloadavg()[0], 2))
    print(table([figures]).splitlines()[-1], file=sys.stderr, flush=True)
    return figures


def revision() -> str:
    """The checkout's commit, marked when the working tree has changes (the job's code is
    whatever the tree holds when the bench runs)."""
    import subprocess

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], capture_output=True, text=True, check=False)
        return done.stdout.strip()

    dirty = git("status", "--porcelain", "--untracked-files=no", "--", "ie_batch")
    return git("rev-parse", "--short", "HEAD") + (
        " + uncommitted ie_batch changes" if dirty else ""
    )


def read_prompts(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.throughput",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--dataset",
        default="conll2003-valid",
        help="A bench.accuracy data set name, or a JSONL file (with --schema).",
    )
    parser.add_argument(
        "--schema", default=None, help="Schema name or file; default the data set's own."
    )
    parser.add_argument("--limit", type=int, default=32, help="Documents (spread evenly).")
    parser.add_argument("--modes", default="a,b,c,d", help="Comma-separated, of a,b,c,d.")
    parser.add_argument(
        "--output",
        default="out/bench/throughput",
        help="Folder for results.json and the replayed prompts.",
    )
    parser.add_argument(
        "--recording",
        default=None,
        help="prompts.jsonl of an earlier run, for (a)/(c) without (b).",
    )
    parser.add_argument(
        "--engine",
        type=json.loads,
        default=None,
        help="JSON overrides of the job's engine section, used by every mode, e.g. "
        '\'{"engine_kwargs": {"block_size": 32}}\'.',
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        default=None,
        help="The job's pool.batch_size (default: the job's default).",
    )
    parser.add_argument(
        "--pool",
        type=json.loads,
        default=None,
        help="JSON overrides of the job's pool section, e.g. "
        '\'{"batches_in_flight": 8, "max_waiting_prompts": 128}\'.',
    )
    parser.add_argument(
        "--ray-batch-size",
        type=int,
        default=64,
        help="Rows per batch of ray.data.llm's engine stage.",
    )
    parser.add_argument(
        "--llm-defaults",
        action="store_true",
        help="(a) and (d) with LLM's own scheduler limits, not the job engine's.",
    )
    parser.add_argument(
        "--ray-engine-only",
        action="store_true",
        help="(c) without Ray Data LLM's tokenize/detokenize stages (the engine does both).",
    )
    parser.add_argument(
        "--ray-timeout", type=float, default=1800.0, help="Seconds before (c) is given up."
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="Folder of the RE/EE sets bench.accuracy reads from disk.",
    )
    parser.add_argument("--work", default=None, help="Work folder (default: a temporary one).")
    args = parser.parse_args()
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    unknown = [m for m in modes if m not in MODES]
    if unknown or not modes:
        raise SystemExit(f"--modes: unknown {unknown}; pick from {','.join(MODES)}")
    if {"a", "c"} & set(modes) and "b" not in modes and not args.recording:
        raise SystemExit("(a) and (c) replay the job's prompts: add b to --modes or --recording")

    import ray

    from bench.throughput.job import job_config, run_recorded_job
    from ie_batch.schema.catalog import resolve_schema

    output = Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    work = Path(args.work or tempfile.mkdtemp(prefix="ie_batch_throughput_"))
    documents, schema = load_documents(args.dataset, args.schema, args.limit, args.data_dir, work)
    config = job_config(documents, schema, work, args.batch_size, args.engine, args.pool)
    engine = config.engine
    print(
        f"bench.throughput: {len(documents)} documents of {args.dataset}, schema {schema}, "
        f"work {work}",
        file=sys.stderr,
        flush=True,
    )

    ray.init(include_dashboard=False, log_to_driver=False)
    results: list[ModeFigures] = []
    prompts: list[dict[str, Any]] = read_prompts(Path(args.recording)) if args.recording else []
    if "b" in modes:

        def job() -> ModeFigures:
            figures, recording = run_recorded_job(config, documents, work)
            prompts[:] = recording.prompts
            with (output / "prompts.jsonl").open("w", encoding="utf-8") as handle:
                for p in prompts:
                    handle.write(json.dumps(p, ensure_ascii=False) + "\n")
            return figures

        results.append(guarded("b", job, len(documents)))
    if "a" in modes:
        from bench.throughput.raw_vllm import run_llm_generate

        results.append(
            guarded(
                "a",
                lambda: run_llm_generate(
                    "a", prompts, engine, len(documents), llm_defaults=args.llm_defaults
                ),
                len(documents),
            )
        )
    if "c" in modes:
        from bench.throughput.ray_data_llm import run_processor

        results.append(
            guarded(
                "c",
                lambda: run_processor(
                    prompts,
                    engine,
                    len(documents),
                    args.ray_batch_size,
                    args.ray_timeout,
                    stages=not args.ray_engine_only,
                ),
                len(documents),
            )
        )
    if "d" in modes:
        from bench.throughput.naive import naive_prompts
        from bench.throughput.raw_vllm import run_llm_generate

        def naive() -> ModeFigures:
            asked = naive_prompts(documents, resolve_schema(schema), engine, config.prompt)
            return run_llm_generate(
                "d", asked, engine, len(documents), llm_defaults=args.llm_defaults
            )

        results.append(guarded("d", naive, len(documents)))
    ray.shutdown()

    results.sort(key=lambda f: f.mode)
    ratio_rows = ratios(results)
    print()
    print(
        f"{args.dataset}, schema {Path(schema).stem}, {len(documents)} documents, "
        f"ie_batch at {revision()}"
    )
    print(table(results))
    print()
    print(ratio_lines(ratio_rows))
    for f in results:
        load = f"load average {f.load[0]} -> {f.load[1]}" if f.load else ""
        if f.unavailable:
            print(f"({f.mode}) not available: {f.unavailable}")
        print(f"({f.mode}) " + "; ".join(part for part in (load, f.note) if part))
    document = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": shlex.join(
            [sys.executable.rsplit("/", 1)[-1], "-m", "bench.throughput", *sys.argv[1:]]
        ),
        "revision": revision(),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.platform()}",
        "dataset": args.dataset,
        "schema": schema,
        "documents": len(documents),
        "engine": engine.model_dump(),
        "pool": config.pool.model_dump(),
        "modes": [f.to_dict() for f in results],
        "ratios": ratio_rows,
        "work": str(work),
    }
    (output / "results.json").write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    print(f"\nwritten: {output / 'results.json'}")


if __name__ == "__main__":
    main()
