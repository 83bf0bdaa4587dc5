"""What the extraction code needs from an engine: turn prompts into answer texts, and count tokens.

Engines are async so one actor can keep several batches in flight: while one batch's answers are
parsed, the engine is already decoding the next. Nothing here imports vLLM.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass

from ie_batch.prompts import Prompt


@dataclass(frozen=True)
class Generation:
    """One prompt's answer. `error` is set (and `text` empty) when the engine failed on it."""

    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    #: prompt tokens the engine took from its prefix cache instead of computing them (a
    #: document's slices share its prefix; this says how well that works)
    cached_tokens: int = 0
    finish_reason: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class EngineLoad:
    """How busy the engine is, as its scheduler last reported: the signal an actor paces its
    batches by (`job.admission`). vLLM's names: requests being decoded, requests queued for a
    slot, and the share of the KV cache in use (None where the engine does not say)."""

    running: int
    waiting: int
    kv_cache_usage: float | None = None


class EngineDead(RuntimeError):
    """The engine itself is gone (its process died): no prompt can be answered by it again.
    Not an answer to put on rows: whoever owns the engine must replace it."""


class Engine(ABC):
    """An LLM behind prompts. `max_model_len` bounds prompt + answer tokens."""

    max_model_len: int
    max_tokens: int

    @abstractmethod
    async def generate(self, prompts: Sequence[Prompt]) -> list[Generation]:
        """Answers in the order of `prompts`; a failure of one prompt never fails the others."""

    @abstractmethod
    def count_tokens(self, prompt: Prompt) -> int:
        """Tokens the prompt takes once the chat template is applied."""

    async def check_health(self) -> None:  # noqa: B027 - an engine with no process of its own
        """Raise `EngineDead` when the engine can answer no prompt any more, so its owner (a
        Serve replica's health check) replaces it instead of failing every request."""

    def load(self) -> EngineLoad | None:
        """The scheduler's last report; None when this engine reports none (its owner then
        paces batches by their count alone)."""
        return None

    def shutdown(self) -> None:  # noqa: B027 - most engines hold nothing to release
        """Release the engine's processes and memory."""
