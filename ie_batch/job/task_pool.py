"""Where a function the driver calls per shard runs: here and now (`InlinePool`), or as Ray
tasks with a bounded number in flight (`RayTaskPool`); either way its answers, or the exceptions
it raised, are collected by key as they come.

The commit's reading half (`job.commit.prepare_shard`) carries a shard's bytes: run in the
driver, on object storage, every one of them would cross the driver's network link, one shard
after another. As tasks, the merges run on the cluster beside the plan and the driver only lists
and renames. The bound keeps a job whose 100,000 shards complete at once from queueing 100,000
tasks in the cluster: the rest wait here, as keys and small arguments, in order.

The driver must not block on the pool while the plan streams (`ready()` returns what is done):
the engine actors hold their CPUs until their pass ends, and a driver waiting for a task that
cannot be scheduled before they go would wait forever. `ready(block=True)` is for after a pass.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any, Protocol

#: A call's answer, or the exception it raised (the caller decides what a failure costs).
Outcome = Any


class TaskPool(Protocol):
    def submit(self, key: str, *args: Any) -> None:
        """Call the pool's function with `args`; its outcome comes back under `key`."""

    def ready(self, block: bool = False) -> list[tuple[str, Outcome]]:
        """The outcomes of calls done since last asked; with `block`, at least one unless
        nothing is pending."""

    @property
    def busy(self) -> bool:
        """Some call's outcome has not been handed out yet."""


class InlinePool:
    """Calls at once, in this process: the commits of tests, of `retry-errors`, and of a job
    before it joins Ray (shards without rows, which have nothing to merge)."""

    def __init__(self, function: Callable[..., Any]) -> None:
        self.function = function
        self._done: list[tuple[str, Outcome]] = []

    def submit(self, key: str, *args: Any) -> None:
        try:
            outcome = self.function(*args)
        except Exception as exc:  # noqa: BLE001 - handed to the caller, as a task's would be
            outcome = exc
        self._done.append((key, outcome))

    def ready(self, block: bool = False) -> list[tuple[str, Outcome]]:
        done, self._done = self._done, []
        return done

    @property
    def busy(self) -> bool:
        return bool(self._done)


class RayTaskPool:
    """Calls as Ray tasks, at most `max_in_flight` at once, each reserving `num_cpus`; the rest
    wait in submission order. A task lost with its worker or node is retried by Ray (the
    function must be idempotent); an exception it raised is its outcome."""

    def __init__(self, function: Callable[..., Any], max_in_flight: int, num_cpus: float) -> None:
        import ray

        self.max_in_flight = max_in_flight
        self._remote = ray.remote(num_cpus=num_cpus)(function)
        self._waiting: deque[tuple[str, tuple[Any, ...]]] = deque()
        self._running: dict[Any, str] = {}

    def submit(self, key: str, *args: Any) -> None:
        self._waiting.append((key, args))
        self._launch()

    def ready(self, block: bool = False) -> list[tuple[str, Outcome]]:
        import ray

        if not self._running:
            return []
        refs = list(self._running)
        if block:
            done, _ = ray.wait(refs, num_returns=1)
        else:
            done, _ = ray.wait(refs, num_returns=len(refs), timeout=0)
        outcomes = [(self._running.pop(ref), _outcome(ref)) for ref in done]
        self._launch()
        return outcomes

    @property
    def busy(self) -> bool:
        return bool(self._waiting or self._running)

    def _launch(self) -> None:
        while self._waiting and len(self._running) < self.max_in_flight:
            key, args = self._waiting.popleft()
            self._running[self._remote.remote(*args)] = key


def _outcome(ref: Any) -> Outcome:
    import ray
    from ray.exceptions import RayError, RayTaskError

    try:
        return ray.get(ref)
    except RayTaskError as exc:  # the function raised: its own exception, not Ray's wrapper
        return exc.cause if isinstance(exc.cause, Exception) else exc
    except RayError as exc:  # lost past Ray's retries (its worker or node died)
        return exc
