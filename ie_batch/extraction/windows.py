"""Split a document that does not fit the context window into overlapping windows.

Each window keeps its start offset, so spans found in it are grounded back into the original
text. The overlap makes a mention cut by one window's edge whole in the next; the duplicates it
causes are removed when the windows' results are merged (same type, text and offsets).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: Where a window may end, best first: paragraph, sentence end (Latin and CJK), clause, space.
_BREAKS = (
    re.compile(r"\n\s*\n"),
    re.compile(r"[.!?。！？；;]\s*"),
    re.compile(r"[,，、:：]\s*"),
    re.compile(r"\s+"),
)


@dataclass(frozen=True)
class Window:
    start: int
    text: str

    @property
    def end(self) -> int:
        return self.start + len(self.text)


def split_into_windows(text: str, max_chars: int, overlap_chars: int = 0) -> list[Window]:
    """Windows of at most `max_chars` characters that cover `text`, overlapping by about
    `overlap_chars`; cuts fall on the best natural break in the last fifth of a window."""
    if max_chars < 1:
        raise ValueError(f"max_chars must be >= 1, got {max_chars}")
    if not 0 <= overlap_chars < max_chars:
        raise ValueError(f"overlap_chars must be in [0, max_chars), got {overlap_chars}")
    if len(text) <= max_chars:
        return [Window(0, text)]
    windows: list[Window] = []
    start = 0
    while True:
        limit = start + max_chars
        if limit >= len(text):
            windows.append(Window(start, text[start:]))
            return windows
        end = _best_break(text, start + max_chars * 4 // 5, limit) or limit
        windows.append(Window(start, text[start:end]))
        next_start = max(end - overlap_chars, start + 1)
        if overlap_chars:  # begin the overlap at a word boundary, not mid-word: look back
            space = text.rfind(" ", start + 1, next_start)
            next_start = space + 1 if space != -1 else next_start
        start = next_start


def _best_break(text: str, lower: int, upper: int) -> int | None:
    """The end of the last natural break between `lower` and `upper`, trying stronger breaks first."""
    segment = text[lower:upper]
    for pattern in _BREAKS:
        ends = [m.end() for m in pattern.finditer(segment)]
        if ends:
            return lower + ends[-1]
    return None


def window_char_budget(text: str, text_tokens: int, token_budget: int) -> int:
    """How many characters of `text` fit `token_budget` tokens, from its own chars-per-token
    ratio and a 10% margin (token density varies along a document)."""
    if text_tokens <= 0:
        return len(text)
    chars_per_token = len(text) / text_tokens
    return max(1, int(token_budget * chars_per_token * 0.9))
