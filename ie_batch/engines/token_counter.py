"""An engine that only counts: the model's own tokenizer and chat template, no weights loaded.

`ie-batch estimate` plans a job's prompts exactly as the job would (windows cut to the context
included) and needs the token count of each; loading the tokenizer takes seconds where starting
vLLM takes a minute and a GPU. It answers no prompt.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ie_batch.config import EngineConfig
from ie_batch.engines.base import Engine, Generation
from ie_batch.engines.embedded_model import resolve_model
from ie_batch.engines.prompt_tokens import PromptTokenizer
from ie_batch.prompts import Prompt


class TokenCounter(Engine):
    def __init__(self, tokenizer: Any, config: EngineConfig) -> None:
        self._tokens = PromptTokenizer(tokenizer)
        self.max_model_len = config.max_model_len
        self.max_tokens = config.max_tokens

    @classmethod
    def from_config(cls, config: EngineConfig) -> TokenCounter:
        from transformers import AutoTokenizer

        return cls(AutoTokenizer.from_pretrained(resolve_model(config.model)), config)

    def count_tokens(self, prompt: Prompt) -> int:
        return self._tokens.count(prompt)

    async def generate(self, prompts: Sequence[Prompt]) -> list[Generation]:
        raise NotImplementedError("a token counter answers no prompt: it is for dry runs")
