"""A scripted engine for tests of the pipeline logic: no model, no accuracy claims.

It answers each prompt with whatever `answer_fn(prompt)` returns (a JSON string, garbage, or an
exception to simulate an engine failure) and counts tokens as whitespace-separated words, so
window splitting can be tested deterministically.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from ie_batch.engines.base import Engine, EngineDead, Generation
from ie_batch.prompts import Prompt

AnswerFn = Callable[[Prompt], str]


def _empty_answer(prompt: Prompt) -> str:
    return "{}"


class FakeEngine(Engine):
    def __init__(
        self,
        answer_fn: AnswerFn = _empty_answer,
        max_model_len: int = 4096,
        max_tokens: int = 256,
        delay_s: float = 0.0,
        keep_prompts: bool = True,
    ) -> None:
        self.answer_fn = answer_fn
        #: tests read `prompts_seen`; a bench of millions of prompts must not keep them all
        self.keep_prompts = keep_prompts
        self.delay_s = delay_s  # per prompt, awaited: batches in flight overlap as on a real engine
        self.max_model_len = max_model_len
        self.max_tokens = max_tokens
        self.prompts_seen: list[Prompt] = []
        self.dead = False  # set it to play an engine whose process died

    async def check_health(self) -> None:
        if self.dead:
            raise EngineDead("fake: the engine is dead")

    async def generate(self, prompts: Sequence[Prompt]) -> list[Generation]:
        await self.check_health()
        await asyncio.sleep(self.delay_s * len(prompts))  # yield like a real engine would
        outputs = []
        for prompt in prompts:
            if self.keep_prompts:
                self.prompts_seen.append(prompt)
            try:
                text = self.answer_fn(prompt)
            except EngineDead:
                raise
            except Exception as exc:  # a scripted engine failure
                outputs.append(Generation(text="", error=f"engine failed: {exc}"))
                continue
            outputs.append(
                Generation(
                    text=text,
                    prompt_tokens=self.count_tokens(prompt),
                    completion_tokens=len(text.split()),
                    finish_reason="stop",
                )
            )
        return outputs

    def count_tokens(self, prompt: Prompt) -> int:
        return sum(len(message.content.split()) for message in prompt.messages)


class LexiconAnswers:
    """Answers by looking words up in the prompt: entity mentions from a fixed lexicon, the
    first class whose keyword occurs. Deterministic and picklable, so Ray actors can run it;
    it measures the plumbing, never accuracy."""

    def __init__(
        self, entities: dict[str, list[str]], labels: dict[str, list[str]] | None = None
    ) -> None:
        self.entities = entities
        self.labels = labels or {}

    def __call__(self, prompt: Prompt) -> str:
        import json

        user = prompt.messages[-1].content
        keys = list(prompt.answer_schema["properties"])
        if keys == ["label"]:
            allowed = prompt.answer_schema["properties"]["label"]["enum"]
            for label, words in self.labels.items():
                if label in allowed and any(word in user for word in words):
                    return json.dumps({"label": label})
            return json.dumps({"label": allowed[-1]})
        return json.dumps(
            {key: [w for w in self.entities.get(key, []) if w in user] for key in keys}
        )


class FakeEngineFactory:
    """`engine_factory` for jobs in tests: builds a FakeEngine in each actor."""

    def __init__(self, answer_fn: AnswerFn = _empty_answer, **engine_kwargs: float) -> None:
        self.answer_fn = answer_fn
        self.engine_kwargs = engine_kwargs

    def __call__(self, config: object, num_gpus: float = 0) -> FakeEngine:
        return FakeEngine(self.answer_fn, **self.engine_kwargs)


class FailingAnswers:
    """Wraps an answer function and fails every prompt that mentions one of `words`, the way
    an engine fails a request: for tests of error rows and of `retry-errors`."""

    def __init__(self, inner: AnswerFn, words: list[str]) -> None:
        self.inner = inner
        self.words = words

    def __call__(self, prompt: Prompt) -> str:
        user = prompt.messages[-1].content
        for word in self.words:
            if word in user:
                raise RuntimeError(f"scripted failure on {word!r}")
        return self.inner(prompt)


def claim_once(marker: str) -> bool:
    """True for the first caller across every process of a job (the one that creates the file
    `marker`), False for the rest: how a scripted fault happens exactly once."""
    import os

    try:
        os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        return False
    return True


class CrashingAnswers:
    """Wraps an answer function and kills its own process on every prompt that mentions one of
    `words`, the way a native crash (`os._exit`) or the kernel's OOM killer (SIGKILL) does:
    nothing is raised, the actor is just gone. For tests of poison-row isolation; with
    `once_marker` (a file path) only the first such prompt of the whole job kills, as a one-off
    crash does."""

    def __init__(
        self,
        inner: AnswerFn,
        words: list[str],
        signal_kill: bool = False,
        once_marker: str | None = None,
    ) -> None:
        self.inner = inner
        self.words = words
        self.signal_kill = signal_kill
        self.once_marker = once_marker

    def __call__(self, prompt: Prompt) -> str:
        import os
        import signal

        user = prompt.messages[-1].content
        if any(word in user for word in self.words) and self._first_time():
            if self.signal_kill:
                os.kill(os.getpid(), signal.SIGKILL)
            os._exit(134)
        return self.inner(prompt)

    def _first_time(self) -> bool:
        return self.once_marker is None or claim_once(self.once_marker)


class DyingEngineAnswers:
    """Wraps an answer function; the first prompt that mentions `word` finds the engine dead
    (`EngineDead`, as when vLLM's engine core process is killed), once per `marker` file, so
    the retried batch succeeds. For tests of engine death without a model."""

    def __init__(self, inner: AnswerFn, word: str, marker: str) -> None:
        self.inner = inner
        self.word = word
        self.marker = marker

    def __call__(self, prompt: Prompt) -> str:
        import os

        from ie_batch.engines.base import EngineDead

        if self.word in prompt.messages[-1].content and not os.path.exists(self.marker):
            with open(self.marker, "w", encoding="utf-8") as handle:
                handle.write(str(os.getpid()))
            raise EngineDead("scripted: the engine core process died")
        return self.inner(prompt)
