"""How VllmEngine stops vLLM's engine, checked without vLLM: a stand-in AsyncLLM whose output
loop is an asyncio task on a loop in another thread (as in a Ray async actor), and whose shutdown
does what vLLM's does to that loop: the engine core goes, the loop's next read fails.

vLLM's own order (core first) makes the loop log an `EngineDeadError` traceback at the end of
every successful job; VllmEngine cancels the loop first, so it ends quietly."""

from __future__ import annotations

import asyncio
import threading
import weakref

import pytest

from ie_batch.config import EngineConfig
from ie_batch.engines.base import EngineDead
from ie_batch.engines.vllm_engine import VllmEngine, _off_this_stack, shutdown_running_engines


class EngineDeadError(Exception):
    pass


class StandInAsyncLLM:
    """The part of vLLM's AsyncLLM that matters here: an output loop waiting for the engine
    core's next output, and a shutdown that kills the core under it."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.seen: list[str] = []
        self.shutdowns = 0
        self.core_output: asyncio.Future = asyncio.run_coroutine_threadsafe(
            self._future(), loop
        ).result()
        self.output_handler = asyncio.run_coroutine_threadsafe(self._start(), loop).result()

    async def _future(self) -> asyncio.Future:
        return asyncio.get_running_loop().create_future()

    async def _start(self) -> asyncio.Task:
        return asyncio.get_running_loop().create_task(self._output_loop())

    async def _output_loop(self) -> None:
        try:
            await self.core_output
        except asyncio.CancelledError:
            self.seen.append("cancelled")
            raise
        except EngineDeadError:
            self.seen.append("EngineDeadError")  # vLLM logs a traceback here

    def shutdown(self) -> None:
        self.shutdowns += 1
        self.loop.call_soon_threadsafe(self._core_dies)

    def _core_dies(self) -> None:
        if not self.core_output.done():
            self.core_output.set_exception(EngineDeadError("EngineCore encountered an issue."))


@pytest.fixture
def loop():
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield loop
    loop.call_soon_threadsafe(loop.stop)
    thread.join()
    loop.close()


def _settle(loop: asyncio.AbstractEventLoop, llm: StandInAsyncLLM) -> None:
    async def wait() -> None:
        await asyncio.gather(llm.output_handler, return_exceptions=True)

    asyncio.run_coroutine_threadsafe(wait(), loop).result(timeout=5)


def test_the_stand_in_shows_what_vllms_own_order_does(loop):
    llm = StandInAsyncLLM(loop)
    llm.shutdown()  # vLLM's AsyncLLM.shutdown: the core first
    _settle(loop, llm)
    assert llm.seen == ["EngineDeadError"]


def test_shutdown_cancels_the_output_loop_before_the_core_goes(loop):
    llm = StandInAsyncLLM(loop)
    engine = VllmEngine(llm, tokenizer=None, config=EngineConfig())
    engine.shutdown()
    _settle(loop, llm)
    assert llm.seen == ["cancelled"]
    assert llm.shutdowns == 1
    engine.shutdown()  # idempotent
    assert llm.shutdowns == 1


def test_shutdown_from_the_engines_own_loop(loop):
    llm = StandInAsyncLLM(loop)
    engine = VllmEngine(llm, tokenizer=None, config=EngineConfig())

    async def inside() -> None:
        engine.shutdown()

    asyncio.run_coroutine_threadsafe(inside(), loop).result(timeout=5)
    _settle(loop, llm)
    assert llm.seen == ["cancelled"]


def test_a_shut_engine_reports_itself_dead(loop, monkeypatch):
    import sys
    from types import ModuleType

    exceptions = ModuleType("vllm.v1.engine.exceptions")
    exceptions.EngineDeadError = EngineDeadError
    monkeypatch.setitem(sys.modules, "vllm.v1.engine.exceptions", exceptions)
    engine = VllmEngine(StandInAsyncLLM(loop), tokenizer=None, config=EngineConfig())
    engine.shutdown()
    with pytest.raises(EngineDead, match="shut down"):
        asyncio.run(engine.check_health())


def test_what_an_engine_start_keeps_of_its_frames_does_not_pin_its_caller():
    kept: list[BaseException] = []

    def start() -> object:
        try:  # as vLLM keeps the error of an optional import it tried, traceback and all
            raise ModuleNotFoundError("No module named 'an_optional_backend'")
        except ModuleNotFoundError as exc:
            kept.append(exc)
        return object()

    class Stage:
        def __init__(self, started) -> None:
            self.engine = started(start)

    pinned = Stage(lambda start: start())
    held = weakref.ref(pinned)
    del pinned
    assert held() is not None  # what happens when the engine starts on the caller's stack
    stage = Stage(_off_this_stack)
    freed = weakref.ref(stage)
    del stage
    assert freed() is None and len(kept) == 2


def test_the_exit_hook_stops_every_running_engine_in_order(loop):
    first, second = StandInAsyncLLM(loop), StandInAsyncLLM(loop)
    engines = [VllmEngine(llm, tokenizer=None, config=EngineConfig()) for llm in (first, second)]
    assert shutdown_running_engines() == 2
    for llm in (first, second):
        _settle(loop, llm)
        assert llm.seen == ["cancelled"] and llm.shutdowns == 1
    assert shutdown_running_engines() == 0
    del engines
