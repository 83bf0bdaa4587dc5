"""The job as a Ray Data plan: read shards -> extract in an actor pool -> write.

    read (one streaming task per shard, rows numbered)
      -> repartition(target_num_rows_per_block=pool.block_rows)   blocks, each of one shard
      -> map_batches(ExtractionStage, actor pool; async; each block cut into batches of
                     `pool.batch_size`, `pool.batches_in_flight` batches running at once
                     per actor)
      -> map_batches(write_results)     scored Parquet parts + error sidecars, staged; one
                                        summary row per (shard, part)

No shuffle: results stream to storage as batches finish. The plan is lazy; `run` drains it.

A block, and so a batch, never holds rows of two shards: blocks of different shards may have
columns of different types (a column that is a number in one file and text in another), which
Ray Data cannot concatenate; a block on its own always works.

Blocks are larger than batches because Ray Data's cost is per block: the driver keeps ~14 KB
of bookkeeping and spends ~0.1 s of CPU per block (`bench.scale.ray_blocks`), so blocks of a
16-row batch made a million rows 62,500 blocks, most of a GiB in the driver. The batch, not the
block, is what error isolation works on: a block lost with its actor is asked again in blocks
and batches of half the batch size (`job.run`).
"""

from __future__ import annotations

from typing import Any

from ie_batch.config import JobConfig
from ie_batch.engines.factory import EngineFactory
from ie_batch.io.shards import Shard
from ie_batch.job.extract_stage import ExtractionStage
from ie_batch.job.write_stage import write_results

#: Restarts an extraction actor gets; each batch lost with it is asked again by the driver.
EXTRACTION_ACTOR_MAX_RESTARTS = 64
#: CPUs a read task reserves (Ray Data's default, said here so cluster sizing can use it).
READ_TASK_CPUS = 1.0
#: CPUs a write task reserves: writing is I/O, several run beside the engine actors.
WRITE_TASK_CPUS = 0.25


def build_plan(
    config: JobConfig,
    in_fs: Any,
    shards: list[Shard],
    limits: dict[str, int | None],
    engine_factory: EngineFactory,
    only_rows: dict[str, frozenset[int]] | None = None,
    registry: str | None = None,
) -> Any:
    """The Ray Data plan for `shards` (only some of their rows, with `only_rows`); lazily
    built, run by iterating over it.

    A batch that fails (its actor died, a stage raised) is dropped, not retried in place and
    not fatal: the driver finds its rows missing from the parts and asks them again in smaller
    batches (`job.run`), which is how a row that kills its actor every time is isolated."""
    dataset = read_batches(config, in_fs, shards, limits, only_rows)
    dataset = add_extraction(dataset, config, engine_factory, whole_blocks=True, registry=registry)
    return dataset.map_batches(
        write_results,
        fn_kwargs={"config": config},
        batch_format="pyarrow",
        batch_size=None,
        num_cpus=WRITE_TASK_CPUS,
    )


def read_batches(
    config: JobConfig,
    in_fs: Any,
    shards: list[Shard],
    limits: dict[str, int | None],
    only_rows: dict[str, frozenset[int]] | None = None,
) -> Any:
    """The shards' rows as blocks of `pool.block_rows` rows (fewer at a shard's end), each of
    one shard: a block is a task of the extraction pool.

    A read task yields its shard in tables of `batch_size` rows, but Ray Data shapes a task's
    output to `target_max_block_size` (128 MiB), which merges them back into one block per
    shard, then splits those blocks evenly when there are fewer read tasks than it wants. Left
    so, a block would be a whole shard or a fraction of it: an actor's death would cost every
    row of it, and the halving retries (`job.run`), which shrink `block_rows` with the batch,
    could never isolate a poison row. So the read keeps one block per shard
    (`override_num_blocks`) and a streaming repartition cuts the blocks: it cuts each block on
    its own and never joins two (one cheap task per read block; blocks of different shards may
    have columns of different types, which could not be joined anyway)."""
    import ray

    from ie_batch.io.layout import OutputLayout
    from ie_batch.io.ray_datasource import ShardDatasource

    dataset = ray.data.read_datasource(
        ShardDatasource(
            in_fs,
            shards,
            batch_rows=config.pool.block_rows,
            row_limits=limits,
            text_column=config.input.text_column,
            failures=OutputLayout.open(config.output, config.storage),
            only_rows=only_rows,
        ),
        num_cpus=READ_TASK_CPUS,
        override_num_blocks=max(1, len(shards)),
    )
    dataset.context.max_errored_blocks = -1
    return dataset.repartition(target_num_rows_per_block=config.pool.block_rows)


def add_extraction(
    dataset: Any,
    config: JobConfig,
    engine_factory: EngineFactory,
    whole_blocks: bool = False,
    registry: str | None = None,
) -> Any:
    """`dataset` mapped through the extraction actor pool that `config.pool` describes: each
    call gets `pool.block_rows` rows, or with `whole_blocks` one block as it is (already cut to
    size), and cuts it into batches itself; the actors register with `registry` (`job.actors`)
    when one is given."""
    import ray

    pool = config.pool
    return dataset.map_batches(
        ExtractionStage,
        fn_constructor_kwargs={
            "config": config,
            "engine_factory": engine_factory,
            "registry": registry,
        },
        batch_size=None if whole_blocks else pool.block_rows,
        batch_format="pyarrow",
        compute=ray.data.ActorPoolStrategy(
            min_size=pool.min_actors,
            max_size=max(pool.min_actors, pool.max_actors),
            max_tasks_in_flight_per_actor=pool.batches_in_flight,
            # and as many run at once: the stage is async, and blocks smaller than a batch
            # (small shards) still fill the actor; the stage's own gate keeps the batches
            # running at once to batches_in_flight (without this an actor runs one Ray Data
            # task at a time, and the engine idles while a block's last batch finishes)
            max_concurrent_calls_per_actor=pool.batches_in_flight,
        ),
        # an actor calling an OpenAI-compatible server holds no GPU, the server does (the
        # configuration refuses pool.num_gpus for it); its concurrency is the engine's, not Ray's
        num_gpus=None if config.engine.kind == "openai" else pool.num_gpus or None,
        num_cpus=pool.num_cpus,
        # An actor that died is restarted (a bounded number of times); the batch it was on is
        # not retried in place, where a poison row would kill it again forever.
        max_restarts=EXTRACTION_ACTOR_MAX_RESTARTS,
        max_task_retries=0,
    )
