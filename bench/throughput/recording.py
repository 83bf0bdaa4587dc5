"""The job's prompts as the engine saw them: a recording wrapper around the job's own engine.

The job's engine lives in a Ray actor, so the wrapper writes what it sees to files in the work
folder, which the driver reads once the job is over:

    <folder>/prompts.jsonl   one line per prompt: chat-templated text, answer schema, slice key
    <folder>/calls.jsonl     one line per `generate` call: wall-clock start and end, prompts
    <folder>/engine.jsonl    one line per engine started: seconds `from_config` took

Raw vLLM and Ray Data LLM replay `prompts.jsonl`, so they decode exactly the prompts the job
sent, run-off rounds and second stages included. A prompt does not say which document it is
about; `assign_documents` finds that back from the text it contains.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ie_batch.config import EngineConfig
from ie_batch.prompts import Prompt

PROMPTS = "prompts.jsonl"
CALLS = "calls.jsonl"
ENGINES = "engine.jsonl"
#: Characters of a window's start used to find the document it was cut from.
WINDOW_PROBE_CHARS = 120


def _append(path: Path, rows: Sequence[dict[str, Any]]) -> None:
    """One write per call: several batches in flight on one actor never interleave lines."""
    text = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(text)


class RecordingEngine:
    """Delegates everything to the wrapped engine (`__getattr__`, so methods the engine gains
    later keep working) and records the prompts of every `generate` call.

    Not an `Engine` subclass on purpose: the base class's default methods (`check_health`,
    `shutdown`) would shadow the wrapped engine's instead of reaching them."""

    def __init__(self, engine: Any, folder: Path) -> None:
        self._engine = engine
        self._folder = folder

    def __getattr__(self, name: str) -> Any:
        return getattr(self._engine, name)

    async def generate(self, prompts: Sequence[Prompt]) -> Any:
        _append(
            self._folder / PROMPTS,
            [
                {
                    "text": self._engine.render(prompt),
                    "answer_schema": prompt.answer_schema,
                    "slice": prompt.slice.key,
                }
                for prompt in prompts
            ],
        )
        started = time.time()
        try:
            return await self._engine.generate(prompts)
        finally:
            _append(
                self._folder / CALLS,
                [{"started": started, "ended": time.time(), "prompts": len(prompts)}],
            )


@dataclass(frozen=True)
class RecordingFactory:
    """The job's engine factory: the job's own `VllmEngine`, wrapped. Pickled to the actor, so
    it carries the folder as a plain string."""

    folder: str

    def __call__(self, config: EngineConfig, num_gpus: float = 0) -> RecordingEngine:
        from ie_batch.engines.vllm_engine import VllmEngine

        started = time.time()
        engine = VllmEngine.from_config(config, num_gpus=num_gpus)
        folder = Path(self.folder)
        _append(folder / ENGINES, [{"started": started, "seconds": time.time() - started}])
        return RecordingEngine(engine, folder)


@dataclass(frozen=True)
class Recording:
    """What the job's engine saw, read back in the driver."""

    prompts: list[dict[str, Any]]
    calls: list[dict[str, Any]]
    engine_start_s: float

    @classmethod
    def read(cls, folder: Path) -> Recording:
        engines = _read_jsonl(folder / ENGINES)
        return cls(
            prompts=_read_jsonl(folder / PROMPTS),
            calls=_read_jsonl(folder / CALLS),
            engine_start_s=sum(row["seconds"] for row in engines),
        )

    @property
    def generate_seconds(self) -> float:
        """From the first prompt handed to the engine to the last answer back: the job's time
        with engine start (and the read before, the write after) left out."""
        if not self.calls:
            return 0.0
        return max(c["ended"] for c in self.calls) - min(c["started"] for c in self.calls)


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def assign_documents(prompts: list[dict[str, Any]], documents: Sequence[dict[str, Any]]) -> None:
    """Set each prompt's "document" (the id) from the text it holds: the document whose whole
    text it contains (the longest, should one document's text hold another's), else, for a
    window of a long document, the one that contains the window's start. None when neither.
    Documents with the same text (data sets have duplicates) get the first one's id."""
    by_length = sorted(documents, key=lambda doc: len(doc["text"]), reverse=True)
    for prompt in prompts:
        text = prompt["text"]
        found = next((doc["id"] for doc in by_length if doc["text"] in text), None)
        start = _window_start(text)
        for chars in (WINDOW_PROBE_CHARS, WINDOW_PROBE_CHARS // 4):  # a short last window
            if found is not None or not start[:chars]:
                break
            found = next((doc["id"] for doc in by_length if start[:chars] in doc["text"]), None)
        prompt["document"] = found


def _window_start(text: str) -> str:
    """The first characters after the document_first format's text header ("Text:" / "文本：")."""
    from ie_batch.prompts.document_first import TEXT_HEADER

    for header in TEXT_HEADER.values():
        at = text.find(header + "\n")
        if at >= 0:
            start = at + len(header) + 1
            return text[start : start + WINDOW_PROBE_CHARS]
    return ""
