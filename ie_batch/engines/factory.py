"""The one engine-factory type: how the job's actors, `Extractor` and Serve replicas build engines.

A factory runs where the engine will live (inside a Ray actor, a replica, or the local event-loop
thread), so it must pickle; it gets the engine section and the GPUs that place has.
"""

from __future__ import annotations

from typing import Protocol

from ie_batch.config import EngineConfig
from ie_batch.engines.base import Engine


class EngineFactory(Protocol):
    def __call__(self, config: EngineConfig, num_gpus: float) -> Engine:
        """An engine for `config`, on GPU when `num_gpus` > 0."""
        ...


def build_engine(config: EngineConfig, num_gpus: float) -> Engine:
    """The default factory: the engine `config.kind` names. 'vllm' (the default) starts an
    in-process vLLM engine; 'openai' builds a client of an OpenAI-compatible server, which
    takes no GPU (`num_gpus` is 0 for it: the configuration refuses GPUs for such actors)."""
    if config.kind == "openai":
        from ie_batch.engines.openai_engine import OpenAIEngine

        return OpenAIEngine.from_config(config)
    from ie_batch.engines.vllm_engine import VllmEngine

    return VllmEngine.from_config(config, num_gpus=num_gpus)
