"""Fitting a prompt into the model's context: the whole text when it fits, else how much does.

The context holds prompt and answer; `max_tokens` of it are kept for the answer. Both the
first-round prompts (cut into windows) and the run-offs (a stretch around one mention) ask this.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ie_batch.engines.base import Engine
from ie_batch.extraction.windows import window_char_budget
from ie_batch.prompts import Prompt

#: Renders the prompt for a given text (the rest of the prompt fixed).
Render = Callable[[str], Prompt]


@dataclass(frozen=True)
class Fit:
    """`prompt` is the whole text's prompt when it fits; otherwise `max_chars` characters of text
    fit beside the rest of the prompt (0 when not even the rest fits: `overhead` tokens)."""

    prompt: Prompt | None
    max_chars: int
    overhead: int
    budget: int


class ContextFitter:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.budget = engine.max_model_len - engine.max_tokens

    def fits(self, prompt: Prompt) -> bool:
        return self.engine.count_tokens(prompt) <= self.budget

    def fit(self, text: str, render: Render) -> Fit:
        whole = render(text)
        full = self.engine.count_tokens(whole)
        if full <= self.budget:
            return Fit(whole, len(text), 0, self.budget)
        overhead = self.engine.count_tokens(render(""))
        room = self.budget - overhead
        if room <= 0:
            return Fit(None, 0, overhead, self.budget)
        return Fit(None, window_char_budget(text, full - overhead, room), overhead, self.budget)
