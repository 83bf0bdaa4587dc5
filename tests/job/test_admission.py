"""The engine's load paces an actor's batches: held while the queue or KV cache is full, never
while nothing else of the actor is in flight, and not at all for engines that report no load."""

import asyncio

from ie_batch.engines.base import EngineLoad
from ie_batch.engines.fake import FakeEngine
from ie_batch.job import admission
from ie_batch.job.admission import Admission, AdmissionLimits
from ie_batch.job.extract_stage import ExtractionStage
from tests.job.conftest import LEXICON

LIMITS = AdmissionLimits(max_waiting_prompts=8, max_kv_cache_usage=0.9)


class LoadedEngine(FakeEngine):
    def __init__(self, load: EngineLoad | None) -> None:
        super().__init__(LEXICON)
        self.report = load

    def load(self) -> EngineLoad | None:
        return self.report


def _starts(gate: Admission, engine: LoadedEngine, free_after_s: float) -> list[str]:
    """The order in which a first batch, a second one and the freeing of the engine happen."""
    events: list[str] = []

    async def batch(name: str, hold_s: float) -> None:
        async with gate.batch():
            events.append(f"start {name}")
            await asyncio.sleep(hold_s)

    async def free() -> None:
        await asyncio.sleep(free_after_s)
        events.append("engine has room")
        engine.report = EngineLoad(running=4, waiting=0, kv_cache_usage=0.2)

    async def main() -> None:
        first = asyncio.create_task(batch("first", 0.3))
        await asyncio.sleep(0)
        await asyncio.gather(first, batch("second", 0), free())

    asyncio.run(main())
    return events


def test_a_batch_waits_while_the_engines_queue_is_full(monkeypatch):
    monkeypatch.setattr(admission, "POLL_S", 0.005)
    engine = LoadedEngine(EngineLoad(running=16, waiting=8, kv_cache_usage=0.5))
    gate = Admission(engine, LIMITS)
    events = _starts(gate, engine, free_after_s=0.05)
    assert events == ["start first", "engine has room", "start second"]
    assert gate.held_seconds >= 0.04
    assert gate.in_flight == 0


def test_a_batch_waits_while_the_kv_cache_is_nearly_full(monkeypatch):
    monkeypatch.setattr(admission, "POLL_S", 0.005)
    engine = LoadedEngine(EngineLoad(running=16, waiting=0, kv_cache_usage=0.93))
    events = _starts(Admission(engine, LIMITS), engine, free_after_s=0.05)
    assert events == ["start first", "engine has room", "start second"]


def test_a_batch_with_room_in_the_engine_starts_at_once():
    engine = LoadedEngine(EngineLoad(running=3, waiting=7, kv_cache_usage=0.5))
    events = _starts(Admission(engine, LIMITS), engine, free_after_s=0.05)
    assert events == ["start first", "start second", "engine has room"]


def test_an_engine_that_reports_no_load_is_paced_by_the_count_alone():
    engine = LoadedEngine(None)
    events = _starts(Admission(engine, LIMITS), engine, free_after_s=0.05)
    assert events == ["start first", "start second", "engine has room"]


def test_the_only_batch_in_flight_is_never_held():
    engine = LoadedEngine(EngineLoad(running=16, waiting=500, kv_cache_usage=1.0))
    gate = Admission(engine, LIMITS)

    async def one() -> bool:
        async with gate.batch():
            return True

    assert asyncio.run(asyncio.wait_for(one(), timeout=1))


def test_the_stage_takes_its_limits_from_the_pool_section(job_config):
    config = job_config.model_copy(
        update={
            "pool": job_config.pool.model_copy(
                update={"max_waiting_prompts": 3, "max_kv_cache_usage": 0.5}
            )
        }
    )
    stage = ExtractionStage(config, lambda engine, gpus: LoadedEngine(None))
    assert stage.admission.limits == AdmissionLimits(3, 0.5)
    assert stage.admission.engine is stage.engine
