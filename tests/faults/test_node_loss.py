"""Node loss: a three-node Ray cluster on this machine (`ray.cluster_utils.Cluster`, the tool
Ray's own tests use). The extraction actor runs on a worker node (it asks for more CPUs than
the head has); that node is removed mid-job. The actor comes back on the other worker, the
batches and blocks lost with the node are asked again, and every row comes out exactly once."""

import time

import pytest

from ie_batch.engines.fake import FakeEngineFactory
from ie_batch.job.run import run_job
from tests.faults.conftest import LEXICON, assert_exactly_once, job, write_jsonl

pytestmark = pytest.mark.ray

SHARDS = {f"s{k}": 12 for k in range(3)}
ACTOR_CPUS = 2
WAIT_S = 120
#: Notice a dead node in about a second, not Ray's default of ~15 s (as Ray's own tests do).
FAST_NODE_DEATH = {"health_check_period_ms": 500, "health_check_failure_threshold": 2}


@pytest.fixture
def cluster():
    ray = pytest.importorskip("ray")
    from ray.cluster_utils import Cluster

    cluster = Cluster(
        initialize_head=True, head_node_args={"num_cpus": 1, "_system_config": FAST_NODE_DEATH}
    )
    workers = [cluster.add_node(num_cpus=ACTOR_CPUS) for _ in range(2)]
    ray.init(address=cluster.address, include_dashboard=False, log_to_driver=False)
    cluster.wait_for_nodes()
    yield cluster, workers
    ray.shutdown()
    cluster.shutdown()


def _extraction_actor_node(ray) -> str | None:
    from ray.util.state import list_actors

    for actor in list_actors(filters=[("state", "=", "ALIVE")]):
        if "MapWorker" in actor.class_name and "ExtractionStage" in actor.class_name:
            return actor.node_id
    return None


def test_a_worker_node_lost_mid_job_costs_no_row(cluster, tmp_path):
    import threading

    import ray

    cluster, workers = cluster
    corpus = tmp_path / "in"
    for name, rows in SHARDS.items():
        write_jsonl(corpus / f"{name}.jsonl", [{"text": f"Ada {name}.{i}"} for i in range(rows)])
    output = tmp_path / "out"
    # blocks of two batches, so that parts are staged, and the node removed, mid-shard
    config = job(corpus, output, pool={"batch_size": 4, "block_rows": 8, "num_cpus": ACTOR_CPUS})
    removed: list[tuple[str, int]] = []  # (node, shards committed when it was removed)

    def remove_the_actors_node() -> None:
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline and not list((output / "_staging").rglob("*.parquet")):
            time.sleep(0.05)  # until the job has written its first part
        node_id = _extraction_actor_node(ray)
        for node in workers:
            if node.node_id == node_id:
                committed = len(list((output / "_manifest").glob("*.json")))
                cluster.remove_node(node, allow_graceful=False)
                removed.append((node_id, committed))

    killer = threading.Thread(target=remove_the_actors_node, daemon=True)
    killer.start()
    factory = FakeEngineFactory(LEXICON, delay_s=0.25)
    report = run_job(config, engine_factory=factory, print_report=False)
    killer.join(timeout=5)

    assert removed, "the actor's worker node was never removed: the test proved nothing"
    assert removed[0][1] < len(SHARDS), "the node was removed after the job's work was done"
    assert report.ok, report.failed
    for name, rows in SHARDS.items():
        assert_exactly_once(output, name, rows)


def test_the_actor_registry_lives_on_the_drivers_node(cluster):
    # needing no CPU, it could be placed on a worker node, and a job whose registry's node was
    # lost died with it (ActorDiedError from end_registered) where the actors themselves came back
    import ray
    from ray.util.state import list_actors

    from ie_batch.job.actors import end_registered, start_registry

    name, handle = start_registry()
    assert end_registered(handle) == 0  # it is up
    (actor,) = list_actors(filters=[("name", "=", name)])
    assert actor.node_id == ray.get_runtime_context().get_node_id()
    ray.kill(handle)
