"""The job as a Ray Data plan: read shards -> extract in an actor pool -> write.

    read (one streaming task per shard, rows numbered)
      -> map_batches(ExtractionStage, actor pool; async, several batches in flight per actor)
      -> map_batches(write_results)     scored Parquet parts + error sidecars, staged; one
                                        summary row per (shard, part)

No shuffle: results stream to storage as batches finish. The plan is lazy; `run` drains it.
"""

from __future__ import annotations

from typing import Any

from ie_batch.config import JobConfig
from ie_batch.engines.factory import EngineFactory
from ie_batch.io.shards import Shard
from ie_batch.job.extract_stage import ExtractionStage
from ie_batch.job.write_stage import write_results

#: Rows per block a read task yields at least: small blocks cost scheduling, not memory.
MIN_READ_BLOCK_ROWS = 256
#: CPUs a read task reserves (Ray Data's default, said here so cluster sizing can use it).
READ_TASK_CPUS = 1.0
#: CPUs a write task reserves: writing is I/O, several run beside the engine actors.
WRITE_TASK_CPUS = 0.25


def build_plan(
    config: JobConfig,
    in_fs: Any,
    shards: list[Shard],
    limits: dict[str, int],
    engine_factory: EngineFactory,
) -> Any:
    """The Ray Data plan for `shards`; lazily built, run by iterating over it."""
    import ray

    from ie_batch.io.layout import OutputLayout
    from ie_batch.io.ray_datasource import ShardDatasource

    dataset = ray.data.read_datasource(
        ShardDatasource(
            in_fs,
            shards,
            batch_rows=max(config.pool.batch_size, MIN_READ_BLOCK_ROWS),
            row_limits=limits,
            failures=OutputLayout.open(config.output, config.storage),
        ),
        num_cpus=READ_TASK_CPUS,
    )
    dataset = add_extraction(dataset, config, engine_factory)
    return dataset.map_batches(
        write_results,
        fn_kwargs={"config": config},
        batch_format="pyarrow",
        batch_size=None,
        num_cpus=WRITE_TASK_CPUS,
    )


def add_extraction(dataset: Any, config: JobConfig, engine_factory: EngineFactory) -> Any:
    """`dataset` mapped through the extraction actor pool that `config.pool` describes."""
    import ray

    pool = config.pool
    return dataset.map_batches(
        ExtractionStage,
        fn_constructor_kwargs={"config": config, "engine_factory": engine_factory},
        batch_size=pool.batch_size,
        batch_format="pyarrow",
        compute=ray.data.ActorPoolStrategy(
            min_size=pool.min_actors,
            max_size=max(pool.min_actors, pool.max_actors),
            max_tasks_in_flight_per_actor=pool.batches_in_flight,
        ),
        num_gpus=pool.num_gpus or None,
        num_cpus=pool.num_cpus,
    )
