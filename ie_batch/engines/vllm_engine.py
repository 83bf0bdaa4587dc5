"""The vLLM engine: the only module of ie_batch that imports vllm.

One async engine per Ray actor. Every prompt of a batch is submitted at once and vLLM's scheduler
interleaves them with the other batches in flight on the same actor; the slices of one document
share its rendered prefix, which prefix caching computes once. Each answer is constrained to its
slice's JSON schema (structured outputs) unless that is switched off.

The engine is stopped in an order that keeps a successful job's end quiet: its output loop first,
then the engine core. Left to vLLM, the order is wrong three ways, each of which ends a job with
"engine core exited unexpectedly" and an `EngineDeadError` traceback:
- vLLM's own shutdown stops the core while the output loop still waits on it;
- its engine-core process manager stops the core from a finalizer, and a garbage collector pass
  runs such finalizers before any `__del__`;
- a Ray actor that exits kills its child processes, the engine core among them, before the
  process's exit hooks run.
So the engine is started on a thread of its own, since vLLM keeps tracebacks of the imports it
tried at start (a missing optional audio package) and their frames would pin the caller, the
job's extraction stage, until the process ends. The stage is then freed when Ray Data lets go of
it, as the actor exits, and its `__del__` stops the engine while the core still runs; an engine
freed by reference counting stops itself in order, and the process's exit hook stops whatever
is still running. An engine must not be dropped inside a reference cycle: call `shutdown()`.
"""

from __future__ import annotations

import asyncio
import atexit
import gc
import logging
import os
import threading
import uuid
import weakref
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from ie_batch.config import EngineConfig
from ie_batch.engines.base import Engine, EngineDead, EngineLoad, Generation
from ie_batch.engines.cpu_dtype import engine_dtype
from ie_batch.engines.embedded_model import resolve_model
from ie_batch.engines.prompt_tokens import PromptTokenizer
from ie_batch.prompts import Prompt

#: Seconds to wait for the engine's event loop to take the output loop's cancellation.
CANCEL_WAIT_S = 2.0

T = TypeVar("T")

#: The engines of this process that have not been shut down, for the exit hook.
_RUNNING: weakref.WeakSet[VllmEngine] = weakref.WeakSet()


def shutdown_running_engines() -> int:
    """Stop every engine of this process in order; how many were running."""
    engines = list(_RUNNING)
    for engine in engines:
        try:
            engine.shutdown()
        except Exception:  # noqa: BLE001 - one engine's failure must not keep the others running
            logging.getLogger(__name__).exception("ie_batch: stopping a vLLM engine failed")
    return len(engines)


class VllmEngine(Engine):
    def __init__(
        self,
        engine: Any,
        tokenizer: Any,
        config: EngineConfig,
        lora: Any = None,
        reports: list[EngineLoad] | None = None,
    ) -> None:
        self._engine = engine
        self._tokens = PromptTokenizer(tokenizer)
        self._config = config
        self._lora = lora
        self._reports = reports if reports is not None else []  # see `_load_reporter`
        self.max_model_len = config.max_model_len
        self.max_tokens = config.max_tokens
        _RUNNING.add(self)
        # (re)registered after vLLM built this engine, so after the hooks that run vLLM's
        # finalizers at exit: exit hooks run last-registered first, so this one comes first
        atexit.unregister(shutdown_running_engines)
        atexit.register(shutdown_running_engines)

    @classmethod
    def from_config(cls, config: EngineConfig, num_gpus: float = 0) -> VllmEngine:
        return _off_this_stack(lambda: cls._started(config, num_gpus))

    @classmethod
    def _started(cls, config: EngineConfig, num_gpus: float) -> VllmEngine:
        from vllm import AsyncEngineArgs, AsyncLLMEngine

        model = resolve_model(config.model)
        options: dict[str, Any] = {
            "model": model,
            "dtype": engine_dtype(config.dtype, on_gpu=num_gpus > 0),
            "max_model_len": config.max_model_len,
            "enable_prefix_caching": config.enable_prefix_caching,
            "tensor_parallel_size": config.tensor_parallel_size,
            "disable_log_stats": True,
        }
        if config.quantization:
            options["quantization"] = config.quantization
        options["enforce_eager"] = (
            config.enforce_eager if config.enforce_eager is not None else num_gpus == 0
        )
        if num_gpus > 0:
            options["gpu_memory_utilization"] = config.gpu_memory_utilization
        else:
            # vLLM's CPU backend sizes its KV cache from this variable, not from the arguments;
            # and by default it keeps a core for its scheduler, which on a small machine halves
            # decoding speed: let its OpenMP threads use every core the process may run on.
            os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", str(config.cpu_kv_cache_gib))
            os.environ.setdefault("VLLM_CPU_OMP_THREADS_BIND", "auto")
            os.environ.setdefault("VLLM_CPU_NUM_OF_RESERVED_CPU", "0")
            # One scheduler step on a shared, oversubscribed CPU (two engines' OpenMP pools on the
            # same cores) has taken over vLLM's 300 s limit, which kills the engine and fails every
            # prompt in flight; a slow step is better than a dead engine.
            os.environ.setdefault("VLLM_EXECUTE_MODEL_TIMEOUT_SECONDS", "3600")
        if config.lora_adapter:
            options["enable_lora"] = True
        options.update(config.engine_kwargs)
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(model)
        reports: list[EngineLoad] = []
        engine = AsyncLLMEngine.from_engine_args(
            AsyncEngineArgs(**options), stat_loggers=[_load_reporter(reports)]
        )
        lora = None
        if config.lora_adapter:
            from vllm.lora.request import LoRARequest

            lora = LoRARequest("adapter", 1, config.lora_adapter)
        return cls(engine, tokenizer, config, lora, reports)

    def load(self) -> EngineLoad | None:
        return self._reports[-1] if self._reports else None

    def render(self, prompt: Prompt) -> str:
        return self._tokens.text(prompt)

    def count_tokens(self, prompt: Prompt) -> int:
        return self._tokens.count(prompt)

    async def generate(self, prompts: Sequence[Prompt]) -> list[Generation]:
        return list(await asyncio.gather(*(self._one(prompt) for prompt in prompts)))

    async def _one(self, prompt: Prompt) -> Generation:
        from vllm.sampling_params import RequestOutputKind, SamplingParams, StructuredOutputsParams

        structured = (
            StructuredOutputsParams(json=prompt.answer_schema)
            if self._config.structured_outputs
            else None
        )
        params = SamplingParams(
            temperature=self._config.temperature,
            max_tokens=self._config.max_tokens,
            structured_outputs=structured,
            output_kind=RequestOutputKind.FINAL_ONLY,
        )
        from vllm.v1.engine.exceptions import EngineDeadError

        final = None
        try:
            # token ids, not text: they were computed (and cached) when the prompt was fitted
            # to the context, and vLLM would tokenize the text again on this event loop
            async for output in self._engine.generate(
                {"prompt_token_ids": self._tokens.ids(prompt)},
                params,
                uuid.uuid4().hex,
                lora_request=self._lora,
            ):
                final = output
        except EngineDeadError as exc:  # every later prompt would fail too: not a row's error
            raise EngineDead(f"vllm: the engine died: {exc}") from exc
        except Exception as exc:  # noqa: BLE001 - one failed prompt must not fail its batch
            return Generation(text="", error=f"vllm: {type(exc).__name__}: {exc}")
        if final is None or not final.outputs:
            return Generation(text="", error="vllm: the engine returned no output")
        completion = final.outputs[0]
        return Generation(
            text=completion.text,
            prompt_tokens=len(final.prompt_token_ids or ()),
            completion_tokens=len(completion.token_ids),
            cached_tokens=getattr(final, "num_cached_tokens", None) or 0,
            finish_reason=completion.finish_reason,
        )

    async def check_health(self) -> None:
        from vllm.v1.engine.exceptions import EngineDeadError

        if self._engine is None:
            raise EngineDead("vllm: the engine was shut down")
        try:
            await self._engine.check_health()  # raises once the engine core process is gone
        except EngineDeadError as exc:
            raise EngineDead(f"vllm: the engine died: {exc}") from exc

    def shutdown(self) -> None:
        """Stop the engine: its output loop first, then the engine core (see the module's
        docstring). Idempotent; the engine answers nothing afterwards."""
        engine, self._engine = self._engine, None
        if engine is None:
            return
        _RUNNING.discard(self)
        _cancel_output_loop(engine)
        engine.shutdown()
        # vLLM's engine object sits in reference cycles: collect it now, while the modules its
        # own `__del__` (a second, harmless shutdown) calls are still there
        del engine
        gc.collect()

    def __del__(self) -> None:
        try:
            self.shutdown()
        except Exception:  # noqa: BLE001 - at interpreter exit vLLM's modules may be half gone
            pass


def _load_reporter(reports: list[EngineLoad]) -> Any:
    """A vLLM stat logger class that keeps the scheduler's last report in `reports` (one item:
    the engine's output loop calls `record` after every step, on the actor's event loop). vLLM
    then gathers its statistics for this logger only: its default loggers stay off."""
    from vllm.v1.metrics.loggers import StatLoggerBase

    class LoadReporter(StatLoggerBase):
        def __init__(self, vllm_config: Any, engine_index: int = 0) -> None:
            pass

        def record(
            self,
            scheduler_stats: Any,
            iteration_stats: Any,
            mm_cache_stats: Any = None,
            engine_idx: int = 0,
        ) -> None:
            if scheduler_stats is not None:
                reports[:] = [
                    EngineLoad(
                        running=scheduler_stats.num_running_reqs,
                        waiting=scheduler_stats.num_waiting_reqs,
                        kv_cache_usage=scheduler_stats.kv_cache_usage,
                    )
                ]

        def log_engine_initialized(self) -> None:
            pass

    return LoadReporter


def _off_this_stack(start: Callable[[], T]) -> T:
    """`start()` on a short-lived thread: what it keeps of its own frames (a stored exception's
    traceback) then reaches no frame of the caller's (see the module's docstring)."""
    with ThreadPoolExecutor(1, thread_name_prefix="ie-batch-engine-start") as pool:
        return pool.submit(start).result()


def _cancel_output_loop(engine: Any) -> None:
    """Cancel vLLM's output loop (an asyncio task on the loop the engine was first used from,
    which may run in another thread, as in a Ray async actor) and wait until it is cancelled, so
    it never sees the engine core go."""
    task = getattr(engine, "output_handler", None)
    if task is None or task.done():
        return
    loop = task.get_loop()
    if loop.is_closed():
        return
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is loop or not loop.is_running():
        task.cancel()  # on its own thread, or on a loop that runs no more: no race either way
        return
    cancelled = threading.Event()

    def cancel() -> None:
        task.cancel()
        cancelled.set()

    loop.call_soon_threadsafe(cancel)
    cancelled.wait(CANCEL_WAIT_S)
