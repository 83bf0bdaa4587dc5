"""Pacing an actor's batches by its engine's own signal, not by a fixed count alone.

An actor runs at most `pool.batches_in_flight` batches at once, of however many blocks Ray Data
has handed it (the stage cuts each block into batches). Whether the engine needs another one is
what its scheduler says: vLLM reports after every step how many requests it is
decoding, how many wait for a slot, and how full its KV cache is (`Engine.load`). A batch whose
prompts would only join a long queue, or push a nearly full KV cache into preempting running
requests, waits here until the queue shortens; a queue that runs short lets the next batch in at
once. A batch is never held while no other batch of the actor is in flight: it cannot then be
the engine's surplus, and nothing would free room for it. Engines that report no load (the
OpenAI-compatible client, the fake engine) are paced by `batches_in_flight` alone.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from ie_batch.engines.base import Engine, EngineLoad

#: How often a held batch looks at the engine's report again (vLLM reports once per step).
POLL_S = 0.02


@dataclass(frozen=True)
class AdmissionLimits:
    max_waiting_prompts: int
    max_kv_cache_usage: float

    def full(self, load: EngineLoad | None) -> bool:
        if load is None:
            return False
        kv_full = load.kv_cache_usage is not None and load.kv_cache_usage >= self.max_kv_cache_usage
        return load.waiting >= self.max_waiting_prompts or kv_full


class Admission:
    """The batches of one actor: how many are in flight, and the gate a new one passes."""

    def __init__(
        self, engine: Engine | None, limits: AdmissionLimits, batches_in_flight: int | None = None
    ) -> None:
        self.engine = engine
        self.limits = limits
        self.batches_in_flight = batches_in_flight
        self.in_flight = 0
        self.held_seconds = 0.0  # how long batches waited for room, summed
        self._slots: tuple[asyncio.AbstractEventLoop, asyncio.Semaphore] | None = None

    @asynccontextmanager
    async def batch(self) -> AsyncIterator[None]:
        """Wait for a place among the batches in flight and for room in the engine, then
        hold the place."""
        async with self._slot():
            held = asyncio.get_running_loop().time()
            while (
                self.in_flight and self.engine is not None and self.limits.full(self.engine.load())
            ):
                await asyncio.sleep(POLL_S)
            self.held_seconds += asyncio.get_running_loop().time() - held
            self.in_flight += 1
            try:
                yield
            finally:
                self.in_flight -= 1

    def _slot(self) -> asyncio.Semaphore | contextlib.nullcontext[None]:
        """The semaphore of the running loop: a Ray actor has one loop for its life, but a
        stage driven without Ray may see a new loop per call, and a semaphore is bound to the
        loop it first waited on."""
        if self.batches_in_flight is None:
            return contextlib.nullcontext()
        loop = asyncio.get_running_loop()
        if self._slots is None or self._slots[0] is not loop:
            self._slots = (loop, asyncio.Semaphore(self.batches_in_flight))
        return self._slots[1]
