"""A prompt's token ids, computed once and mostly from cache: the CPU an engine spends per prompt.

An engine needs every prompt's token ids twice: to fit it into the context (`count_tokens`) and
to hand the model exactly those ids (`vllm.TokensPrompt`, so vLLM does not tokenize the text a
second time on the actor's event loop). Done plainly, each prompt costs a Jinja render of the
chat template and a tokenizer pass over its whole text, ~0.25 ms on one core for a short news
sentence's prompt: the bottleneck of an actor that feeds a fast engine. Three things cut it:

- The chat template is rendered once per sequence of roles, with sentinels for the contents,
  and each prompt fills in that frame. The frame is checked against the template on probe
  messages; a template that changes what it inserts (strips, escapes) keeps the full render.
- A prompt's text splits where its format says the document's part of it ends
  (`Prompt.shared_prefix_chars`): every slice of a document shares that prefix, and every
  document asks the same few slice questions, so both halves are tokenized once and cached.
- The split is exact only where the tokenizer's pre-tokenizer cuts the text at that point
  anyway (after a blank line, before a word for byte-level BPE tokenizers). That is checked on
  probe texts when the tokenizer is first used and again on one prompt in `CHECK_EVERY`; a
  mismatch switches splitting off for good, and the ids are then the whole text's.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from ie_batch.prompts import Prompt

#: One prompt in this many is also tokenized whole, to check that the split gives the same ids.
CHECK_EVERY = 64
#: Cached prefixes (about one per document and window in flight) and question suffixes.
CACHED_PREFIXES = 4096
CACHED_SUFFIXES = 4096

_SENTINEL = "\x00ie_batch_content_{}\x00"
#: Contents the frame and the split are checked on: leading and trailing whitespace, newlines,
#: punctuation before the blank line, Chinese, a template's own markup characters.
_PROBE_CONTENTS = (
    "  You extract things.\n",
    'Text:\nAngela Merkel met Siemens in Berlin.\n\nWhich names occur? Answer {"x": []}.',
    "文本：\n北京大学的王小明说，“你好。”\n\n文本中出现了哪些名称？",
    'Text:\n  ends with spaces   \n\nAnswer with {"label": ...}.',
    "Text:\n<b>tag</b> & 'quote' \"dq\"\n\n\n\nSolved examples:\nText: a\nAnswer: {}",
)


class ChatFrame:
    """The chat template's output for one sequence of roles, with holes for the contents."""

    def __init__(self, pieces: Sequence[str]) -> None:
        self.pieces = tuple(pieces)  # len(contents) + 1 pieces around the contents

    @classmethod
    def probe(cls, tokenizer: Any, roles: Sequence[str]) -> ChatFrame | None:
        """The frame for `roles`, or None when filling it in would not give the template's own
        text (the template transforms contents, or renders one role's content twice)."""
        sentinels = [_SENTINEL.format(i) for i in range(len(roles))]
        rendered = _template(tokenizer, list(zip(roles, sentinels, strict=True)))
        pieces, rest = [], rendered
        for sentinel in sentinels:
            before, found, rest = rest.partition(sentinel)
            if not found or sentinel in rest:
                return None
            pieces.append(before)
        frame = cls([*pieces, rest])
        for offset in range(len(_PROBE_CONTENTS)):
            contents = [
                _PROBE_CONTENTS[(offset + i) % len(_PROBE_CONTENTS)] for i in range(len(roles))
            ]
            messages = list(zip(roles, contents, strict=True))
            if frame.fill(contents) != _template(tokenizer, messages):
                return None
        return frame

    def fill(self, contents: Sequence[str]) -> str:
        head, tail = self.split(contents, len(contents[-1]))
        return head + tail

    def split(self, contents: Sequence[str], cut: int) -> tuple[str, str]:
        """The filled-in text up to `cut` characters into the last content, and the rest."""
        parts = [self.pieces[0]]
        for content, piece in zip(contents[:-1], self.pieces[1:-1], strict=True):
            parts += (content, piece)
        parts.append(contents[-1][:cut])
        return "".join(parts), contents[-1][cut:] + self.pieces[-1]


class PromptTokenizer:
    """Chat text and token ids of prompts for one tokenizer; safe to call from several threads."""

    def __init__(self, tokenizer: Any) -> None:
        self._tokenizer = tokenizer
        #: a fast tokenizer's Rust core, called without transformers' per-call wrapping
        self._backend = getattr(tokenizer, "backend_tokenizer", None)
        self._frames: dict[tuple[str, ...], ChatFrame | None] = {}
        self._lock = threading.Lock()
        self._asked = 0
        self._splitting: bool | None = None  # probed on first use, not when the engine is built
        self._prefix_ids = lru_cache(maxsize=CACHED_PREFIXES)(self._encode)
        self._suffix_ids = lru_cache(maxsize=CACHED_SUFFIXES)(self._encode)
        self._whole_ids = lru_cache(maxsize=CACHED_PREFIXES)(self._encode)  # counted, then sent

    @property
    def splitting(self) -> bool:
        """Whether prompts are tokenized in two cached halves (see the module's docstring)."""
        if self._splitting is None:
            self._splitting = self._split_is_exact(_PROBE_CONTENTS)
        return self._splitting

    def text(self, prompt: Prompt) -> str:
        """The prompt as the model sees it: its chat template applied, ready for the answer."""
        prefix, suffix = self._halves(prompt)
        return prefix + suffix

    def ids(self, prompt: Prompt) -> list[int]:
        prefix, suffix = self._halves(prompt)
        if not prefix or not self.splitting:
            return list(self._whole_ids(prefix + suffix))
        ids = [*self._prefix_ids(prefix), *self._suffix_ids(suffix)]
        with self._lock:
            check = self._asked % CHECK_EVERY == 0  # the first prompt, then one in CHECK_EVERY
            self._asked += 1
        if not check:
            return ids
        whole = self._encode(prefix + suffix)
        if whole != ids:
            logging.getLogger(__name__).warning(
                "ie_batch: this tokenizer does not cut prompts where their document ends; "
                "prompts are tokenized whole from now on"
            )
            self._splitting = False
        return whole

    def count(self, prompt: Prompt) -> int:
        return len(self.ids(prompt))

    def _halves(self, prompt: Prompt) -> tuple[str, str]:
        """The chat text up to the end of the document's shared part, and the rest."""
        roles = tuple(m.role for m in prompt.messages)
        frame = self._frame(roles)
        contents = [m.content for m in prompt.messages]
        if frame is None:
            return "", _template(self._tokenizer, [(m.role, m.content) for m in prompt.messages])
        prefix, suffix = frame.split(contents, prompt.shared_prefix_chars)
        if not _cuttable(prefix, suffix):
            return "", prefix + suffix
        return prefix, suffix

    def _frame(self, roles: tuple[str, ...]) -> ChatFrame | None:
        if roles not in self._frames:
            frame = ChatFrame.probe(self._tokenizer, roles)
            with self._lock:
                self._frames[roles] = frame
        return self._frames[roles]

    def _encode(self, text: str) -> list[int]:
        if self._backend is not None:
            return self._backend.encode(text, add_special_tokens=False).ids
        return self._tokenizer(text, add_special_tokens=False)["input_ids"]

    def _split_is_exact(self, texts: Sequence[str]) -> bool:
        """Whether cutting after the blank line that ends a document's part gives the ids of the
        whole text, on every probe that has one."""
        for text in texts:
            head, blank, tail = text.partition("\n\n")
            prefix, suffix = head + blank, tail
            if blank and _cuttable(prefix, suffix):
                if self._encode(text) != self._encode(prefix) + self._encode(suffix):
                    return False
        return True


def _cuttable(prefix: str, suffix: str) -> bool:
    """Whether the cut falls where splitting is checked to be exact: right after a blank line
    that follows text, right before text (a cut inside a run of whitespace is not)."""
    return (
        prefix.endswith("\n\n")
        and len(prefix) > 2
        and not prefix[-3].isspace()
        and bool(suffix)
        and not suffix[0].isspace()
    )


def _template(tokenizer: Any, messages: Sequence[tuple[str, str]]) -> str:
    return tokenizer.apply_chat_template(
        [{"role": role, "content": content} for role, content in messages],
        add_generation_prompt=True,
        tokenize=False,
    )
