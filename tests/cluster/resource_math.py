"""Does a job's actor pool fit a cluster? The arithmetic behind tests/cluster/test_manifests.py.

A cluster is reduced to its node groups (Ray CPUs and GPUs per node, how many nodes at most),
read from a KubeRay RayCluster spec or a Ray cluster-launcher config the way Ray itself reads
them. `capacity_problems` then checks what the job's Ray Data plan asks for
(`ie_batch/job/plan.py`, whose resource constants it uses):

- engine actors: `pool.max_actors` of them, each `pool.num_gpus` GPUs and `pool.num_cpus` CPUs
  on one node, one engine each with `engine.tensor_parallel_size` GPUs;
- read tasks: one per shard, `READ_TASK_CPUS` each;
- write tasks: `WRITE_TASK_CPUS` each.

It fits when every engine gets whole tensor-parallel GPUs on one node, all `pool.max_actors`
actors can be placed at the groups' maximum sizes (GPUs and CPUs of the same node), and a read
task and a write task can run at the same time without an engine node: on the CPU-only nodes
(head included) for a GPU pool, beside the actors for a CPU pool. `serve_capacity_problems`
does the same for the Serve app's replicas (a RayService's `rayClusterConfig`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ie_batch.config import JobConfig
from ie_batch.job.plan import READ_TASK_CPUS, WRITE_TASK_CPUS
from ie_batch.serve.settings import DeploymentSettings, ServiceConfig

GPU_RESOURCE = "nvidia.com/gpu"


@dataclass(frozen=True)
class NodeGroup:
    """Nodes of one kind: the Ray resources one node offers, and how many nodes there can be."""

    name: str
    cpus: float
    gpus: float
    min_nodes: int
    max_nodes: int


@dataclass(frozen=True)
class ClusterShape:
    head: NodeGroup
    workers: tuple[NodeGroup, ...]

    @property
    def groups(self) -> tuple[NodeGroup, ...]:
        return (self.head, *self.workers)


def capacity_problems(config: JobConfig, shape: ClusterShape) -> list[str]:
    """What keeps `config`'s plan from running at full size on `shape`; empty when it fits."""
    pool, engine = config.pool, config.engine
    problems: list[str] = []
    if pool.min_actors > pool.max_actors:
        problems.append(f"pool.min_actors {pool.min_actors} > pool.max_actors {pool.max_actors}")
    actor_groups = [g for g in shape.groups if g.gpus > 0] if pool.num_gpus > 0 else []
    if pool.num_gpus > 0:  # fewer GPUs than tensor-parallel ranks: JobConfig refuses it
        if not actor_groups:
            problems.append("pool.num_gpus > 0 but no node group has GPUs")
        for group in actor_groups:
            if engine.tensor_parallel_size > group.gpus:
                problems.append(
                    f"engine.tensor_parallel_size {engine.tensor_parallel_size} > {group.gpus:g} "
                    f"GPU(s) per node of group {group.name!r}: an engine's ranks share one node"
                )
        cluster_gpus = sum(g.gpus * g.max_nodes for g in actor_groups)
        wanted_gpus = pool.max_actors * pool.num_gpus
        if wanted_gpus > cluster_gpus:
            problems.append(
                f"GPUs: pool.max_actors {pool.max_actors} x pool.num_gpus {pool.num_gpus:g} = "
                f"{wanted_gpus:g} > {cluster_gpus:g} GPU(s) at most ("
                + ", ".join(f"{g.name}: {g.max_nodes} x {g.gpus:g}" for g in actor_groups)
                + ")"
            )
    else:
        actor_groups = [g for g in shape.groups if g.cpus > 0]
    slots = {g.name: _actors_per_node(g, config) for g in actor_groups}
    placeable = sum(slots[g.name] * g.max_nodes for g in actor_groups)
    if actor_groups and placeable < pool.max_actors:
        problems.append(
            f"actors: {pool.max_actors} wanted, {placeable} fit ("
            + ", ".join(
                f"{g.name}: {g.max_nodes} node(s) x {slots[g.name]} actor(s) of "
                f"{pool.num_gpus:g} GPU + {pool.num_cpus:g} CPU on {g.gpus:g} GPU + {g.cpus:g} CPU"
                for g in actor_groups
            )
            + ")"
        )
    # Reading and writing must not wait for (or scale up) engine nodes: with a GPU pool they fit
    # on the CPU-only nodes, the head included; a CPU pool leaves them room beside its actors.
    if pool.num_gpus > 0:
        spare = sum(g.cpus * g.max_nodes for g in shape.groups if g.gpus == 0)
        where = "on the CPU-only nodes (head included)"
    else:
        spare = _cpus_left_by_actors(actor_groups, slots, pool.max_actors, pool.num_cpus)
        where = f"beside {pool.max_actors} actor(s) of {pool.num_cpus:g} CPU"
    needed = READ_TASK_CPUS + WRITE_TASK_CPUS
    if spare < needed:
        problems.append(
            f"CPUs for reading and writing: {spare:g} {where}, {needed:g} needed "
            f"(a read task {READ_TASK_CPUS:g} + a write task {WRITE_TASK_CPUS:g})"
        )
    return problems


def serve_capacity_problems(
    service: ServiceConfig, deployment: DeploymentSettings, shape: ClusterShape
) -> list[str]:
    """What keeps the Serve app from reaching its most replicas on `shape`; empty when it fits.

    A replica is an actor of `service.num_gpus` GPUs and `deployment.num_cpus` CPUs on one node,
    holding one engine of `engine.tensor_parallel_size` GPUs; the most replicas are
    `autoscaling.max_replicas` (or the fixed `num_replicas`), at the groups' maximum sizes."""
    problems: list[str] = []
    replicas = (
        deployment.autoscaling.max_replicas if deployment.autoscaling else deployment.num_replicas
    )
    tensor_parallel = service.engine.tensor_parallel_size
    if service.num_gpus > 0 and service.num_gpus < tensor_parallel:
        problems.append(
            f"num_gpus {service.num_gpus:g} < engine.tensor_parallel_size {tensor_parallel}"
        )
    groups = [g for g in shape.groups if g.gpus > 0] if service.num_gpus > 0 else list(shape.groups)
    if not groups:
        problems.append("num_gpus > 0 but no node group has GPUs")

    def per_node(group: NodeGroup) -> int:
        by_cpu = math.floor(group.cpus / deployment.num_cpus + 1e-9)
        if service.num_gpus <= 0:
            return by_cpu
        return min(math.floor(group.gpus / service.num_gpus + 1e-9), by_cpu)

    placeable = sum(per_node(g) * g.max_nodes for g in groups)
    if groups and placeable < replicas:
        problems.append(
            f"replicas: {replicas} wanted, {placeable} fit ("
            + ", ".join(
                f"{g.name}: {g.max_nodes} node(s) x {per_node(g)} replica(s) of "
                f"{service.num_gpus:g} GPU + {deployment.num_cpus:g} CPU"
                for g in groups
            )
            + ")"
        )
    return problems


def _actors_per_node(group: NodeGroup, config: JobConfig) -> int:
    pool = config.pool
    by_cpu = math.floor(group.cpus / pool.num_cpus + 1e-9)
    if pool.num_gpus <= 0:
        return by_cpu
    return min(math.floor(group.gpus / pool.num_gpus + 1e-9), by_cpu)


def _cpus_left_by_actors(
    groups: list[NodeGroup], slots: dict[str, int], actors: int, cpus_per_actor: float
) -> float:
    """CPUs free on the actors' nodes once `actors` are placed, filling nodes one by one."""
    free = 0.0
    left = actors
    for group in groups:
        for _ in range(group.max_nodes):
            here = min(slots[group.name], left)
            left -= here
            free += group.cpus - here * cpus_per_actor
    return free


# --------------------------------------------------------------------------- reading manifests


def cpu_quantity(value: Any) -> float:
    """A Kubernetes CPU quantity ("500m", "4", 4) in CPUs."""
    text = str(value)
    return float(text[:-1]) / 1000 if text.endswith("m") else float(text)


_MEMORY_SUFFIXES = {
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
    "k": 10**3,
    "M": 10**6,
    "G": 10**9,
    "T": 10**12,
}


def memory_quantity(value: Any) -> float:
    """A Kubernetes memory quantity ("16Gi", "500M", 1024) in bytes."""
    text = str(value)
    for suffix, factor in sorted(_MEMORY_SUFFIXES.items(), key=lambda item: -len(item[0])):
        if text.endswith(suffix):
            return float(text[: -len(suffix)]) * factor
    return float(text)


def ray_container(template: dict[str, Any]) -> dict[str, Any]:
    """The Ray container of a pod template: KubeRay takes the first one."""
    return template["spec"]["containers"][0]


def _kuberay_group(name: str, group: dict[str, Any], min_nodes: int, max_nodes: int) -> NodeGroup:
    """Ray resources of a KubeRay group's node: rayStartParams win, else the container's limits
    (requests when no limit), as KubeRay sets `ray start --num-cpus/--num-gpus`."""
    params = group.get("rayStartParams") or {}
    resources = ray_container(group["template"]).get("resources", {})
    limits, requests = resources.get("limits", {}), resources.get("requests", {})
    if "num-cpus" in params:
        cpus = float(params["num-cpus"])
    else:
        cpus = cpu_quantity(limits.get("cpu", requests.get("cpu", 0)))
    if "num-gpus" in params:
        gpus = float(params["num-gpus"])
    else:
        gpus = float(limits.get(GPU_RESOURCE, requests.get(GPU_RESOURCE, 0)))
    return NodeGroup(name, cpus, gpus, min_nodes, max_nodes)


def shape_from_raycluster(spec: dict[str, Any]) -> ClusterShape:
    """The shape of a RayCluster spec (also a RayJob's rayClusterSpec)."""
    head = _kuberay_group("head", spec["headGroupSpec"], 1, 1)
    workers = tuple(
        _kuberay_group(
            group["groupName"], group, int(group.get("minReplicas", 0)), int(group["maxReplicas"])
        )
        for group in spec.get("workerGroupSpecs", [])
    )
    return ClusterShape(head, workers)


def shape_from_launcher(config: dict[str, Any]) -> ClusterShape:
    """The shape of a Ray cluster-launcher config; node types must state CPU (and GPU) in
    `resources`, since auto-detection from the instance type needs the cloud."""
    types = config["available_node_types"]
    head_type = config["head_node_type"]
    cap = int(config.get("max_workers", 2))

    def group(name: str, node_type: dict[str, Any], min_nodes: int, max_nodes: int) -> NodeGroup:
        resources = node_type["resources"]
        if "CPU" not in resources:
            raise ValueError(f"node type {name!r}: state `resources: {{CPU: ...}}` explicitly")
        return NodeGroup(
            name, float(resources["CPU"]), float(resources.get("GPU", 0)), min_nodes, max_nodes
        )

    head = group(head_type, types[head_type], 1, 1)
    workers = tuple(
        group(name, t, int(t.get("min_workers", 0)), min(int(t.get("max_workers", cap)), cap))
        for name, t in types.items()
        if name != head_type
    )
    return ClusterShape(head, workers)
