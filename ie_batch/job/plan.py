"""The job as a Ray Data plan: read shards -> extract in an actor pool -> write.

    read (one streaming task per shard, rows numbered, blocks of `pool.batch_size` rows)
      -> map_batches(ExtractionStage, actor pool; async, several batches in flight per actor;
                     one read block is one batch)
      -> map_batches(write_results)     scored Parquet parts + error sidecars, staged; one
                                        summary row per (shard, part)

No shuffle: results stream to storage as batches finish. The plan is lazy; `run` drains it.

A batch is one read block, never rows of two blocks put together: blocks of different shards
may have columns of different types (a column that is a number in one file and text in another),
which Ray Data cannot concatenate; a block on its own always works.
"""

from __future__ import annotations

from typing import Any

from ie_batch.config import JobConfig
from ie_batch.engines.factory import EngineFactory
from ie_batch.io.shards import Shard
from ie_batch.job.extract_stage import ExtractionStage
from ie_batch.job.write_stage import write_results

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
            batch_rows=config.pool.batch_size,
            row_limits=limits,
            text_column=config.input.text_column,
            failures=OutputLayout.open(config.output, config.storage),
        ),
        num_cpus=READ_TASK_CPUS,
    )
    dataset = add_extraction(dataset, config, engine_factory, whole_blocks=True)
    return dataset.map_batches(
        write_results,
        fn_kwargs={"config": config},
        batch_format="pyarrow",
        batch_size=None,
        num_cpus=WRITE_TASK_CPUS,
    )


def add_extraction(
    dataset: Any, config: JobConfig, engine_factory: EngineFactory, whole_blocks: bool = False
) -> Any:
    """`dataset` mapped through the extraction actor pool that `config.pool` describes; with
    `whole_blocks`, each block (already `pool.batch_size` rows) is one batch."""
    import ray

    pool = config.pool
    return dataset.map_batches(
        ExtractionStage,
        fn_constructor_kwargs={"config": config, "engine_factory": engine_factory},
        batch_size=None if whole_blocks else pool.batch_size,
        batch_format="pyarrow",
        compute=ray.data.ActorPoolStrategy(
            min_size=pool.min_actors,
            max_size=max(pool.min_actors, pool.max_actors),
            max_tasks_in_flight_per_actor=pool.batches_in_flight,
        ),
        num_gpus=pool.num_gpus or None,
        num_cpus=pool.num_cpus,
    )
