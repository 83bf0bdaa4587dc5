"""Which extraction actors a plan started, so the driver can end them when the plan is over.

Ray Data lets go of a finished plan's actors by dropping its references rather than killing
them, and Ray restarts an actor that crashed even as its plan ends: such an actor lingers,
holding its CPUs, GPU and engine memory, and the next plan on a small cluster waits for it
forever. Every `ExtractionStage` registers its own handle here when it starts (a restarted one
registers again); after each plan the driver kills what registered.
"""

from __future__ import annotations

import uuid
from typing import Any


def start_registry() -> tuple[str, Any]:
    """A fresh registry actor (no resources) on the driver's node; returns its name and handle.

    It needs no CPU, so Ray would place it on any node; on a worker node that is lost mid-job
    it would die with it and take the job down, where the extraction actors it lists are
    restarted. The driver's node outlives the job or ends it anyway."""
    import ray
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    @ray.remote(num_cpus=0)
    class _Registry:
        def __init__(self) -> None:
            self.handles: list[Any] = []

        def add(self, handle: Any) -> None:
            self.handles.append(handle)

        def drain(self) -> list[Any]:
            handles, self.handles = self.handles, []
            return handles

    name = f"ie-batch-actors-{uuid.uuid4().hex[:12]}"
    here = NodeAffinitySchedulingStrategy(ray.get_runtime_context().get_node_id(), soft=False)
    return name, _Registry.options(name=name, scheduling_strategy=here).remote()


def register_self(registry: str | None) -> None:
    """Called by an extraction actor as it starts; nothing outside an actor or registry."""
    if registry is None:
        return
    import ray

    if not ray.is_initialized():
        return
    actor = ray.get_runtime_context().current_actor
    ray.get(ray.get_actor(registry).add.remote(actor))


def end_registered(handle: Any) -> int:
    """Kill every actor that registered since the last call (no restart); how many."""
    import ray

    handles = ray.get(handle.drain.remote())
    for actor in handles:
        ray.kill(actor, no_restart=True)
    return len(handles)
