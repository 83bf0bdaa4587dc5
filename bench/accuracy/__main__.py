"""`python -m bench.accuracy`: the accuracy table, dataset x configuration.

    .venv/bin/python -m bench.accuracy --dataset conll2003-valid --limit 100 \
        --config plain --config defaults --config no-run-off

One local Ray (`ray.init(num_cpus=...)`) serves every run; each run is one `run_job`, so one
engine start per (data set, configuration). Results are printed, and written (merged with earlier
runs in the same folder unless --fresh) to `<output>/results.json` and `results.md`.
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import shutil
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from bench.accuracy.configurations import CONFIGURATIONS, get_configuration
from bench.accuracy.datasets import DATASETS, get_dataset
from bench.accuracy.runner import RunResult, run_one
from bench.accuracy.table import load_results, merge, render_text, write_results


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.accuracy",
        description="F1 of the real ie_batch job on public labelled data, per configuration.",
    )
    parser.add_argument(
        "--dataset",
        action="append",
        default=None,
        help=f"data set (repeatable; default conll2003-valid): {', '.join(DATASETS)}",
    )
    parser.add_argument(
        "--config",
        action="append",
        default=None,
        help=f"configuration (repeatable; join levers with '+'; default plain and defaults): "
        f"{', '.join(CONFIGURATIONS)}",
    )
    parser.add_argument(
        "--limit",
        type=int,
        default=40,
        help="evaluate N rows of each split (default 40; 0 = the whole split)",
    )
    parser.add_argument(
        "--sample",
        choices=["spread", "head"],
        default="spread",
        help="which N rows: evenly spaced over the split (default) or the first N in file order",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=Path("out/bench/accuracy"),
        help="folder for results.json, results.md and each run's job output",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="folder holding the relation/event sets no package ships (duie_dev.json, "
        "CMeIE_dev.json, duee_dev.json and their *_train.json pools; see bench/README.md)",
    )
    parser.add_argument("--batch-size", type=int, default=16, help="documents per batch")
    parser.add_argument("--num-cpus", type=int, default=2, help="CPUs of the local Ray")
    parser.add_argument("--fresh", action="store_true", help="do not merge with earlier results")
    parser.add_argument(
        "--verbose", action="store_true", help="show the Ray workers' logs and Ray Data progress"
    )
    parser.add_argument("--list", action="store_true", help="list data sets and configurations")
    return parser.parse_args(argv)


def machine_description() -> str:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    gpu = "no GPU"
    if shutil.which("nvidia-smi"):
        try:
            names = subprocess.run(
                ["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"],
                capture_output=True,
                text=True,
                timeout=10,
                check=True,
            ).stdout.split("\n")
            gpu = ", ".join(n.strip() for n in names if n.strip()) or gpu
        except (OSError, subprocess.SubprocessError):
            pass
    return f"{cores} cores, {gpu}, {platform.machine()}, Python {platform.python_version()}"


def print_plan(datasets: list, configurations: list, limit: int, sample: str) -> None:
    for dataset in datasets:
        if not limit:
            rows = "all rows"
        else:
            rows = f"first {limit} rows" if sample == "head" else f"{limit} rows spread evenly"
        print(
            f"bench: {dataset.name}: evaluated on split {dataset.split} ({rows}), "
            f"schema {dataset.schema_name}",
            file=sys.stderr,
        )
        for configuration in configurations:
            shots = (
                f", {configuration.few_shot_k} examples from split {dataset.example_split}"
                if configuration.few_shot_k
                else ""
            )
            print(f"bench:   {configuration.name}: {configuration.summary}{shots}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.list:
        for dataset in DATASETS.values():
            print(
                f"{dataset.name}: {dataset.task}, evaluated on {dataset.split}, "
                f"few-shot from {dataset.example_split}"
            )
        for configuration in CONFIGURATIONS.values():
            print(f"{configuration.name}: {configuration.summary}")
        return 0
    datasets = [get_dataset(name, args.data_dir) for name in args.dataset or ["conll2003-valid"]]
    configurations = [get_configuration(name) for name in args.config or ["plain", "defaults"]]
    limit = args.limit or None
    print_plan(datasets, configurations, args.limit, args.sample)
    for dataset in datasets:  # fetch and convert before starting anything heavy
        dataset.rows()

    import ray

    ray.init(num_cpus=args.num_cpus, include_dashboard=False, log_to_driver=args.verbose)
    # Ray Data logs a progress block every 10 s when stderr is not a terminal; the job's own
    # progress lines ("ie_batch: 20/40 rows, ...") are enough here
    ray.data.DataContext.get_current().enable_progress_bars = args.verbose
    given = sys.argv[1:] if argv is None else argv
    command = shlex.join([".venv/bin/python", "-m", "bench.accuracy", *given])
    machine = machine_description()
    previous = [] if args.fresh else load_results(args.output / "results.json")
    done: list[RunResult] = []
    try:
        with tempfile.TemporaryDirectory(prefix="ie_batch_bench_") as work:
            for dataset in datasets:
                for configuration in configurations:
                    print(f"bench: running {dataset.name} / {configuration.name}", file=sys.stderr)
                    result = run_one(
                        dataset,
                        configuration,
                        limit=limit,
                        output=args.output,
                        work=Path(work),
                        batch_size=args.batch_size,
                        sample=args.sample,
                    )
                    result.date = datetime.now(UTC).isoformat(timespec="seconds")
                    result.command = command
                    result.machine = machine
                    done.append(result)
                    print(render_text([result]).split("\n\n")[0], file=sys.stderr)
                    write_results(args.output, merge(previous, done))
    finally:
        ray.shutdown()
    print(render_text(done))
    json_path, md_path = write_results(args.output, merge(previous, done))
    print(f"\nwritten: {json_path}, {md_path}")
    return 1 if any(result.error for result in done) else 0


if __name__ == "__main__":  # vLLM spawns processes: keep the guard
    sys.exit(main())
