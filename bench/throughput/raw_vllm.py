"""(a) and (d): vLLM's offline `LLM.generate` in this process, on given chat-templated prompts.

The engine is built from the job's `EngineConfig` exactly as `VllmEngine.from_config` builds the
job's engine (same arguments, same CPU environment variables), so the only difference left is
the API: every prompt handed to vLLM's scheduler at once, no Ray, no parsing, no second round
waiting for the first. With the job's own prompts that is the limit the job is measured
against.

One setting needs care: vLLM picks its scheduler's batch limits by who builds the engine. On CPU
`LLM` takes 256 sequences and 4,096 tokens per step, the `AsyncLLMEngine` the job (and Ray Data
LLM) builds 128 and 2,048. By default the limits the job's engine resolves are passed to `LLM`
explicitly, so the engines are the same; `llm_defaults=True` keeps `LLM`'s own.
"""

from __future__ import annotations

import gc
import os
import time
from collections.abc import Sequence
from typing import Any

from bench.throughput.figures import ModeFigures
from ie_batch.config import EngineConfig
from ie_batch.engines.cpu_dtype import engine_dtype


def engine_options(config: EngineConfig) -> dict[str, Any]:
    """The vLLM engine arguments `VllmEngine` uses for `config` on CPU (no GPU here)."""
    from ie_batch.engines.embedded_model import resolve_model

    options: dict[str, Any] = {
        "model": resolve_model(config.model),
        "dtype": engine_dtype(config.dtype, on_gpu=False),  # as the job's engine on CPU
        "max_model_len": config.max_model_len,
        "enable_prefix_caching": config.enable_prefix_caching,
        "tensor_parallel_size": config.tensor_parallel_size,
        "disable_log_stats": True,
        "enforce_eager": True if config.enforce_eager is None else config.enforce_eager,
    }
    if config.quantization:
        options["quantization"] = config.quantization
    options.update(config.engine_kwargs)
    return options


def job_scheduler_limits(options: dict[str, Any]) -> dict[str, int]:
    """The scheduler's batch limits the job's engine resolves for `options` (an
    `AsyncLLMEngine` built by `from_engine_args`), unless `options` sets them."""
    from vllm import AsyncEngineArgs
    from vllm.usage.usage_lib import UsageContext

    scheduler = (
        AsyncEngineArgs(**options).create_engine_config(UsageContext.ENGINE_CONTEXT)
    ).scheduler_config
    limits = {
        "max_num_seqs": scheduler.max_num_seqs,
        "max_num_batched_tokens": scheduler.max_num_batched_tokens,
    }
    return {key: value for key, value in limits.items() if key not in options}


def cpu_environment(config: EngineConfig) -> dict[str, str]:
    """The environment `VllmEngine` sets for vLLM's CPU backend (KV cache size, every core for
    OpenMP, no step timeout), unless the caller's environment already sets it."""
    wanted = {
        "VLLM_CPU_KVCACHE_SPACE": str(config.cpu_kv_cache_gib),
        "VLLM_CPU_OMP_THREADS_BIND": "auto",
        "VLLM_CPU_NUM_OF_RESERVED_CPU": "0",
        "VLLM_EXECUTE_MODEL_TIMEOUT_SECONDS": "3600",
    }
    return {name: os.environ.get(name, value) for name, value in wanted.items()}


def sampling_params(config: EngineConfig, answer_schema: dict[str, Any]) -> Any:
    """The job's sampling for one prompt: its temperature and answer cap, the answer bound to
    the prompt's JSON schema unless structured outputs are off."""
    from vllm import SamplingParams
    from vllm.sampling_params import StructuredOutputsParams

    structured = StructuredOutputsParams(json=answer_schema) if config.structured_outputs else None
    return SamplingParams(
        temperature=config.temperature,
        max_tokens=config.max_tokens,
        structured_outputs=structured,
    )


def token_ids(texts: Sequence[str], config: EngineConfig) -> list[list[int]]:
    """The prompts' token ids as the job's engine hands them to vLLM (the chat-templated text
    tokenized whole, no special tokens added: the template already has them)."""
    from transformers import AutoTokenizer

    from ie_batch.engines.embedded_model import resolve_model

    tokenizer = AutoTokenizer.from_pretrained(resolve_model(config.model))
    return [tokenizer(text, add_special_tokens=False)["input_ids"] for text in texts]


def run_llm_generate(
    mode: str,
    prompts: Sequence[dict[str, Any]],
    config: EngineConfig,
    documents: int,
    llm_defaults: bool = False,
) -> ModeFigures:
    """Start an engine, generate every prompt ({"text", "answer_schema"}) in one call, stop
    it. The prompts go in as token ids, tokenized before the clock starts (the limit pays no
    tokenization); engine start is timed apart from the generation. The scheduler's limits
    are the job engine's unless `llm_defaults` (see the module's docstring)."""
    from vllm import LLM

    started = time.perf_counter()
    inputs = [{"prompt_token_ids": ids} for ids in token_ids([p["text"] for p in prompts], config)]
    params = [sampling_params(config, p["answer_schema"]) for p in prompts]
    os.environ.update(cpu_environment(config))
    options = engine_options(config)
    limits = {} if llm_defaults else job_scheduler_limits(options)
    building = time.perf_counter()
    llm = LLM(**options, **limits)
    scheduler = llm.llm_engine.vllm_config.scheduler_config
    engine_start = time.perf_counter() - building
    generating = time.perf_counter()
    outputs = llm.generate(inputs, params, use_tqdm=False)
    seconds = time.perf_counter() - generating
    figures = ModeFigures(
        mode=mode,
        documents=documents,
        prompts=len(prompts),
        prompt_tokens=sum(len(o.prompt_token_ids or ()) for o in outputs),
        completion_tokens=sum(len(o.outputs[0].token_ids) for o in outputs if o.outputs),
        cached_tokens=sum(o.num_cached_tokens or 0 for o in outputs),
        seconds=seconds,
        engine_start_s=engine_start,
        error_prompts=sum(1 for o in outputs if not o.outputs),
        note=f"scheduler: max_num_seqs {scheduler.max_num_seqs}, max_num_batched_tokens "
        f"{scheduler.max_num_batched_tokens} ("
        + ("LLM's own defaults" if llm_defaults else "the job engine's")
        + ")",
    )
    _stop_core(llm)
    del llm, outputs
    gc.collect()
    figures.wall_s = time.perf_counter() - started
    return figures


def _stop_core(llm: Any) -> None:
    """Stop the engine core process now, so the next mode's engine has the cores to itself."""
    core = getattr(getattr(llm, "llm_engine", None), "engine_core", None)
    if core is not None:
        core.shutdown()
