"""What the driver spends on a lake of many shards before the first Ray Data plan starts:
listing, the manifest lookups, clearing each pending shard's output, the job record. Not in CI.

    .venv/bin/python -m bench.scale.listing --shards 100000

It writes `--shards` one-row JSONL files and runs the real `run_job` over them, stopped at the
moment it hands its shards to `build_plan` (the plan itself costs Ray Data per block, which
`bench.scale` and `bench.scale.ray_blocks` measure). Prints the seconds and the driver's RSS at
that moment, and for `list_shards` alone.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.scale.ray_blocks import driver_rss_mib


class _PlanReached(Exception):
    """Raised in place of building the plan: the driver's preparations are over."""


def write_shards(folder: Path, shards: int) -> None:
    for index in range(shards):
        row = {"id": f"s{index}", "text": f"Ada Lovelace wrote note {index}."}
        (folder / f"s{index:06d}.jsonl").write_text(json.dumps(row) + "\n", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--shards", type=int, default=100_000)
    parser.add_argument("--work", default=None, help="Folder for the shards and the output.")
    args = parser.parse_args()

    import ray

    from ie_batch.config import config_from_data
    from ie_batch.io.shards import list_shards
    from ie_batch.job import run

    work = Path(args.work or tempfile.mkdtemp(prefix="ie_batch_listing_"))
    corpus = work / "in"
    corpus.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    write_shards(corpus, args.shards)
    print(f"corpus: {args.shards} shards, {time.perf_counter() - started:.1f} s")
    config = config_from_data(
        {"input": {"paths": [str(corpus)]}, "schemas": ["news_ner_en"], "output": str(work / "out")}
    )
    ray.init(include_dashboard=False, log_to_driver=False)
    rss_before = driver_rss_mib()

    started = time.perf_counter()
    listed = len(list_shards(config.input.paths).shards)
    listing_seconds = time.perf_counter() - started
    assert listed == args.shards, f"{listed} shards listed of {args.shards}"

    reached: dict[str, Any] = {}

    def stop_at_the_plan(config: Any, fs: Any, shards: list[Any], *rest: Any) -> None:
        reached.update(shards=len(shards), rss=driver_rss_mib())
        raise _PlanReached

    run.build_plan = stop_at_the_plan  # type: ignore[assignment]
    started = time.perf_counter()
    try:
        run.run_job(config, print_report=False)
    except _PlanReached:
        pass
    assert reached.get("shards") == args.shards, f"the plan was handed {reached}"
    print(
        json.dumps(
            {
                "shards": args.shards,
                "list_shards_seconds": round(listing_seconds, 1),
                "to_the_plan_seconds": round(time.perf_counter() - started, 1),
                "driver_rss_mib_before": rss_before,
                "driver_rss_mib_at_the_plan": reached["rss"],
                "work": str(work),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
