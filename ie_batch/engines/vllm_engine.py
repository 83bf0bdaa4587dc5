"""The vLLM engine: the only module of ie_batch that imports vllm.

One async engine per Ray actor. Every prompt of a batch is submitted at once and vLLM's scheduler
interleaves them with the other batches in flight on the same actor; the slices of one document
share its rendered prefix, which prefix caching computes once. Each answer is constrained to its
slice's JSON schema (structured outputs) unless that is switched off.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Sequence
from typing import Any

from ie_batch.config import EngineConfig
from ie_batch.engines.base import Engine, EngineDead, Generation
from ie_batch.engines.embedded_model import resolve_model
from ie_batch.engines.token_counter import chat_text, chat_tokens
from ie_batch.prompts import Prompt


class VllmEngine(Engine):
    def __init__(self, engine: Any, tokenizer: Any, config: EngineConfig, lora: Any = None) -> None:
        self._engine = engine
        self._tokenizer = tokenizer
        self._config = config
        self._lora = lora
        self.max_model_len = config.max_model_len
        self.max_tokens = config.max_tokens

    @classmethod
    def from_config(cls, config: EngineConfig, num_gpus: float = 0) -> VllmEngine:
        from vllm import AsyncEngineArgs, AsyncLLMEngine

        model = resolve_model(config.model)
        options: dict[str, Any] = {
            "model": model,
            "dtype": config.dtype,
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
        # Tokenizer before engine: nothing imported after the engine starts may keep a frame that
        # references it, or vLLM only collects it at interpreter exit (with a noisy traceback).
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(model)
        engine = AsyncLLMEngine.from_engine_args(AsyncEngineArgs(**options))
        lora = None
        if config.lora_adapter:
            from vllm.lora.request import LoRARequest

            lora = LoRARequest("adapter", 1, config.lora_adapter)
        return cls(engine, tokenizer, config, lora)

    def render(self, prompt: Prompt) -> str:
        return chat_text(self._tokenizer, prompt)

    def count_tokens(self, prompt: Prompt) -> int:
        return chat_tokens(self._tokenizer, prompt)

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
            async for output in self._engine.generate(
                {"prompt": self.render(prompt)},
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
            finish_reason=completion.finish_reason,
        )

    async def check_health(self) -> None:
        from vllm.v1.engine.exceptions import EngineDeadError

        try:
            await self._engine.check_health()  # raises once the engine core process is gone
        except EngineDeadError as exc:
            raise EngineDead(f"vllm: the engine died: {exc}") from exc

    def shutdown(self) -> None:
        self._engine.shutdown()
