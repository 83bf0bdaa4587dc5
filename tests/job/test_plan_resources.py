"""What the extraction actor pool asks Ray for (ie_batch.job.plan.add_extraction) and what each
actor's engine is built with, for GPU and CPU pools. No cluster and no GPU: the plan's
`map_batches` call is recorded, and the actor class is constructed with a recording factory."""

from __future__ import annotations

import pytest

from ie_batch.config import config_from_data
from ie_batch.engines.fake import FakeEngineFactory
from ie_batch.job.extract_stage import ExtractionStage
from ie_batch.job.plan import EXTRACTION_ACTOR_MAX_RESTARTS, add_extraction

pytest.importorskip("ray.data")

#: A tensor-parallel GPU pool: each actor holds one engine over two GPUs of its node.
GPU_JOB = {
    "input": {"paths": ["s3://bucket/in/"]},
    "schemas": ["news_ner_en"],
    "output": "s3://bucket/out/",
    "engine": {"model": "Qwen/Qwen2.5-32B-Instruct", "tensor_parallel_size": 2},
    "pool": {
        "min_actors": 1,
        "max_actors": 4,
        "num_gpus": 2,
        "num_cpus": 6,
        "batch_size": 32,
        "block_rows": 512,
        "batches_in_flight": 3,
    },
}


class _RecordingDataset:
    def __init__(self) -> None:
        self.calls: list[tuple[object, dict]] = []

    def map_batches(self, fn, **kwargs):
        self.calls.append((fn, kwargs))
        return self


def _pool_request(data: dict, **kwargs) -> dict:
    dataset = _RecordingDataset()
    add_extraction(dataset, config_from_data(data), FakeEngineFactory(), **kwargs)
    ((fn, request),) = dataset.calls
    assert fn is ExtractionStage
    return request


def test_a_gpu_pool_asks_for_its_gpus_and_cpus_per_actor_and_scales_between_its_bounds():
    request = _pool_request(GPU_JOB)
    assert request["num_gpus"] == 2  # pool.num_gpus, one engine's tensor-parallel ranks
    assert request["num_cpus"] == 6
    pool = request["compute"]
    assert (pool.min_size, pool.max_size) == (1, 4)
    assert pool.max_tasks_in_flight_per_actor == 3  # blocks in flight, so the engine never idles
    assert pool.max_concurrent_calls_per_actor == 3  # and running at once, not queued
    assert request["batch_size"] == 512  # a block per call; the stage cuts the batches
    # an actor that died is restarted, and its batch is not retried in place
    assert request["max_restarts"] == EXTRACTION_ACTOR_MAX_RESTARTS
    assert request["max_task_retries"] == 0


def test_whole_blocks_hand_each_block_to_the_stage_as_it_is():
    assert _pool_request(GPU_JOB, whole_blocks=True)["batch_size"] is None


def test_a_cpu_pool_asks_for_no_gpus_at_all():
    cpu = {**GPU_JOB, "engine": {"model": "embedded"}, "pool": {"num_cpus": 2}}
    request = _pool_request(cpu)
    assert request["num_gpus"] is None  # no GPU resource asked for, so any node will do
    assert request["num_cpus"] == 2


def test_each_actor_builds_its_engine_with_the_pools_gpus_and_the_engine_section():
    built = []

    class Recording(FakeEngineFactory):
        def __call__(self, config, num_gpus=0):
            built.append((config, num_gpus))
            return super().__call__(config, num_gpus)

    config = config_from_data(GPU_JOB)
    ExtractionStage(config, engine_factory=Recording())
    assert built == [(config.engine, 2)]
    assert built[0][0].tensor_parallel_size == 2
