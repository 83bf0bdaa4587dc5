"""Engines turn prompts into answer texts. Only `vllm_engine` imports vLLM, and only when used."""

from ie_batch.engines.base import Engine, EngineDead, Generation

__all__ = ["Engine", "EngineDead", "Generation"]
