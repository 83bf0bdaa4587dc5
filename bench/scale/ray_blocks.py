"""Driver memory that Ray Data itself spends per block, without ie_batch: the plan's shape
(200 read blocks -> streaming repartition -> an actor stage -> a task stage) on `ray.data.range`
rows, drained in the driver. Not in CI.

    .venv/bin/python -m bench.scale.ray_blocks --rows 1000000 --rows-per-block 64

The job's block count is rows / pool.block_rows; this separates what that count costs the
driver in Ray Data from what the job's own bookkeeping costs (`bench.scale` measures the two
together), which is how `block_rows` was chosen.
"""

from __future__ import annotations

import argparse
import json
import resource
import time

import pyarrow as pa


class Identity:
    """An actor stage that returns its block, as the extraction pool's place in the plan."""

    def __call__(self, block: pa.Table) -> pa.Table:
        return block


def one_summary_row(block: pa.Table) -> pa.Table:
    """A task stage that returns one row per block, as the write stage's summaries."""
    return pa.table({"rows": [block.num_rows]})


def driver_rss_mib() -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS"):
                return int(line.split()[1]) // 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rows-per-block", type=int, default=64)
    parser.add_argument("--read-blocks", type=int, default=200)
    args = parser.parse_args()

    import ray

    ray.init(num_cpus=2, include_dashboard=False)
    dataset = ray.data.range(args.rows, override_num_blocks=args.read_blocks)
    dataset = dataset.repartition(target_num_rows_per_block=args.rows_per_block)
    dataset = dataset.map_batches(
        Identity,
        batch_size=None,
        batch_format="pyarrow",
        compute=ray.data.ActorPoolStrategy(min_size=1, max_size=1),
    )
    dataset = dataset.map_batches(
        one_summary_row, batch_size=None, batch_format="pyarrow", num_cpus=0.25
    )
    start, rss_before = time.perf_counter(), driver_rss_mib()
    blocks = rows = 0
    for batch in dataset.iter_batches(batch_size=None, batch_format="pyarrow"):
        blocks += 1
        rows += sum(batch.column("rows").to_pylist())
    assert rows == args.rows, f"{rows} rows came back of {args.rows}"
    print(
        json.dumps(
            {
                "rows": rows,
                "rows_per_block": args.rows_per_block,
                "blocks": blocks,
                "seconds": round(time.perf_counter() - start, 1),
                "driver_rss_mib_before": rss_before,
                "driver_rss_mib_after": driver_rss_mib(),
                "driver_peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
            }
        )
    )


if __name__ == "__main__":
    main()
