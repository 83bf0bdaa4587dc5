"""The vLLM engine arguments a configuration produces (VllmEngine.from_config), on GPU and on CPU,
checked without vLLM or a GPU: `vllm` and `transformers` are stand-ins that record what they are
given, so this runs on any machine, and the GPU path is checked where no GPU exists."""

from __future__ import annotations

import os
import sys
import types
from types import SimpleNamespace

import pytest

from ie_batch.config import EngineConfig
from ie_batch.engines.vllm_engine import VllmEngine, shutdown_running_engines

#: What the CPU path sets in the environment (vLLM's CPU backend reads these, not arguments).
CPU_ENVIRONMENT = (
    "VLLM_CPU_KVCACHE_SPACE",
    "VLLM_CPU_OMP_THREADS_BIND",
    "VLLM_CPU_NUM_OF_RESERVED_CPU",
    "VLLM_EXECUTE_MODEL_TIMEOUT_SECONDS",
)


@pytest.fixture
def recorded(monkeypatch):
    """Stand-ins for vllm and transformers; returns what they were handed."""
    seen = SimpleNamespace(options=None, tokenizer=None, lora=None, stat_loggers=None)

    class AsyncEngineArgs:
        def __init__(self, **options):
            seen.options = options

    class AsyncLLMEngine:
        @classmethod
        def from_engine_args(cls, args, stat_loggers=None):
            seen.stat_loggers = stat_loggers
            return SimpleNamespace(args=args, shutdown=lambda: None)

    class LoRARequest:
        def __init__(self, name, int_id, path):
            seen.lora = (name, int_id, path)

    class AutoTokenizer:
        @staticmethod
        def from_pretrained(model):
            seen.tokenizer = model
            return object()

    vllm = types.ModuleType("vllm")
    vllm.AsyncEngineArgs, vllm.AsyncLLMEngine = AsyncEngineArgs, AsyncLLMEngine
    lora_request = types.ModuleType("vllm.lora.request")
    lora_request.LoRARequest = LoRARequest
    loggers = types.ModuleType("vllm.v1.metrics.loggers")
    loggers.StatLoggerBase = type("StatLoggerBase", (), {})
    transformers = types.ModuleType("transformers")
    transformers.AutoTokenizer = AutoTokenizer
    for name, module in {
        "vllm": vllm,
        "vllm.lora": types.ModuleType("vllm.lora"),
        "vllm.lora.request": lora_request,
        "vllm.v1": types.ModuleType("vllm.v1"),
        "vllm.v1.metrics": types.ModuleType("vllm.v1.metrics"),
        "vllm.v1.metrics.loggers": loggers,
        "transformers": transformers,
    }.items():
        monkeypatch.setitem(sys.modules, name, module)
    for variable in CPU_ENVIRONMENT:  # unset for the test, restored after it
        monkeypatch.setenv(variable, "")
        monkeypatch.delenv(variable)
    yield seen
    shutdown_running_engines()  # the engines built on the stand-ins


def test_a_gpu_config_gives_tensor_parallel_gpu_engine_arguments(recorded):
    config = EngineConfig(
        model="Qwen/Qwen2.5-32B-Instruct",
        dtype="bfloat16",
        max_model_len=4096,
        tensor_parallel_size=4,
        gpu_memory_utilization=0.85,
        quantization="awq",
    )
    VllmEngine.from_config(config, num_gpus=4)
    options = recorded.options
    assert options["model"] == "Qwen/Qwen2.5-32B-Instruct"  # a hub id goes to vLLM as it is
    assert recorded.tokenizer == "Qwen/Qwen2.5-32B-Instruct"
    assert options["tensor_parallel_size"] == 4
    assert options["gpu_memory_utilization"] == 0.85
    assert options["dtype"] == "bfloat16" and options["max_model_len"] == 4096
    assert options["quantization"] == "awq"
    assert options["enforce_eager"] is False  # CUDA graphs on GPU unless asked otherwise
    assert options["enable_prefix_caching"] is True
    assert "enable_lora" not in options and recorded.lora is None
    # nothing of the CPU backend's set-up happens on a GPU actor
    assert [v for v in CPU_ENVIRONMENT if v in os.environ] == []


def test_a_lora_adapter_is_enabled_and_sent_with_every_request(recorded):
    config = EngineConfig(
        model="Qwen/Qwen2.5-7B-Instruct",
        lora_adapter="/mnt/model-cache/adapters/news-ner",
        engine_kwargs={"max_lora_rank": 32, "revision": "a1b2c3"},
    )
    engine = VllmEngine.from_config(config, num_gpus=1)
    assert recorded.options["enable_lora"] is True
    assert recorded.options["max_lora_rank"] == 32  # engine_kwargs pass through as they are
    assert recorded.options["revision"] == "a1b2c3"
    assert recorded.lora == ("adapter", 1, "/mnt/model-cache/adapters/news-ner")
    assert engine._lora is not None  # handed to every generate() call


def test_the_schedulers_reports_reach_the_engines_load(recorded):
    engine = VllmEngine.from_config(EngineConfig(model="Qwen/Qwen2.5-7B-Instruct"), num_gpus=1)
    assert engine.load() is None  # no step reported yet
    (reporter_class,) = recorded.stat_loggers
    reporter = reporter_class(None, 0)  # vLLM builds it from (vllm_config, engine index)
    stats = SimpleNamespace(num_running_reqs=12, num_waiting_reqs=30, kv_cache_usage=0.4)
    reporter.record(stats, None)
    reporter.record(None, None)  # a step without scheduler figures keeps the last report
    load = engine.load()
    assert (load.running, load.waiting, load.kv_cache_usage) == (12, 30, 0.4)


def test_engine_kwargs_win_over_the_arguments_built_from_fields(recorded):
    config = EngineConfig(model="org/model", engine_kwargs={"enforce_eager": True, "seed": 7})
    VllmEngine.from_config(config, num_gpus=1)
    assert recorded.options["enforce_eager"] is True and recorded.options["seed"] == 7


def test_a_cpu_config_runs_eager_and_sizes_the_kv_cache_through_the_environment(recorded):
    config = EngineConfig(model="org/model", cpu_kv_cache_gib=3, gpu_memory_utilization=0.5)
    VllmEngine.from_config(config, num_gpus=0)
    options = recorded.options
    assert options["enforce_eager"] is True
    assert "gpu_memory_utilization" not in options  # a GPU setting, not given on CPU
    assert os.environ["VLLM_CPU_KVCACHE_SPACE"] == "3"
    assert os.environ["VLLM_CPU_NUM_OF_RESERVED_CPU"] == "0"


def test_auto_dtype_on_a_cpu_without_bfloat16_becomes_float32_and_not_on_a_gpu(
    recorded, monkeypatch
):
    from ie_batch.engines import cpu_dtype

    monkeypatch.setattr(cpu_dtype, "cpu_flags", lambda: frozenset({"avx", "avx2"}))
    VllmEngine.from_config(EngineConfig(model="org/model"), num_gpus=0)
    assert recorded.options["dtype"] == "float32"
    VllmEngine.from_config(EngineConfig(model="org/model"), num_gpus=1)
    assert recorded.options["dtype"] == "auto"


def test_enforce_eager_set_in_the_config_wins_on_either_device(recorded):
    VllmEngine.from_config(EngineConfig(model="org/model", enforce_eager=True), num_gpus=1)
    assert recorded.options["enforce_eager"] is True
    VllmEngine.from_config(EngineConfig(model="org/model", enforce_eager=False), num_gpus=0)
    assert recorded.options["enforce_eager"] is False
