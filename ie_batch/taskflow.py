"""`Extractor`: in-process extraction in the spirit of PaddleNLP's Taskflow.

    from ie_batch import Extractor

    with Extractor("news_ner_en", "topic_en") as ie:
        ie("Angela Merkel met Emmanuel Macron in Paris.")
        # [{"id": "0", "entities": [{"type": "person", "text": "Angela Merkel", "start": 0,
        #   "end": 13}, ...], "relations": [], "events": [], "labels": [...], "errors": [],
        #   "warnings": []}]

No Ray: the engine runs in this process. A background thread owns an asyncio event loop; the
engine is created inside it (vLLM's async engine must be) and every call runs `BatchExtractor` —
the same prompts, parsing, grounding and merging as the batch job — on that loop, while the
caller's thread (a script, or a notebook whose own loop is already running) waits for the result.

A script that creates an `Extractor` with the vLLM engine needs the `if __name__ == "__main__":`
guard (vLLM spawns its engine process). `resolve_schema` and `extract_texts` are shared with the
online endpoint (`ie_batch.serve`).
"""

from __future__ import annotations

import asyncio
import os
import threading
import weakref
from collections.abc import Callable, Coroutine, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, TypeVar

from ie_batch.config import SHIPPED_SCHEMAS, EngineConfig, PromptConfig, schema_path
from ie_batch.engines.base import Engine
from ie_batch.extractor import BatchExtractor, Document, ExtractionSettings
from ie_batch.prompts import Example, get_format
from ie_batch.schema import (
    AnySchema,
    ClassificationSchema,
    EeSchema,
    NerSchema,
    ReSchema,
    SchemaError,
    load_schema,
    schema_from_data,
)

__all__ = [
    "EngineFactory",
    "Extractor",
    "SchemaSpec",
    "TextResults",
    "extract_texts",
    "extraction_settings",
    "load_few_shot",
    "resolve_schema",
    "resolve_schemas",
    "shipped_schema_names",
    "vllm_engine_factory",
]

#: A schema as callers give it: a shipped schema's name ("news_ner_en"), a schema file, a PP-UIE
#: schema (`["person", "location"]`, `{"person": ["works_for"]}`), a native mapping
#: (`{"task": "ner", "entities": [...]}`), or a schema object.
SchemaSpec = str | os.PathLike[str] | list[Any] | dict[str, Any] | AnySchema

#: Builds the engine from its configuration; runs inside the engine's event loop.
EngineFactory = Callable[[EngineConfig], Engine]

_SCHEMA_TYPES = (NerSchema, ReSchema, EeSchema, ClassificationSchema)
_T = TypeVar("_T")


def shipped_schema_names() -> list[str]:
    """Names of the ready-made schemas in `schemas/` (each loads by its bare name)."""
    return sorted(path.stem for path in SHIPPED_SCHEMAS.glob("*.yaml"))


def resolve_schema(spec: SchemaSpec, source: str = "<schema>") -> AnySchema:
    """One schema from any of the forms in `SchemaSpec`; `SchemaError` names what is wrong."""
    if isinstance(spec, _SCHEMA_TYPES):
        return spec
    if isinstance(spec, str | os.PathLike):
        path = schema_path(os.fspath(spec))
        if not path.is_file():
            raise SchemaError(
                os.fspath(spec),
                "",
                "no such schema file, and not the name of a shipped schema (one of "
                f"{', '.join(shipped_schema_names())}); a PP-UIE schema of one type is a list: "
                f"[{os.fspath(spec)!r}]",
            )
        return load_schema(path)
    if isinstance(spec, list | dict):
        return schema_from_data(spec, source=source)
    raise SchemaError(
        source,
        "",
        "expected a schema name, a file path, a PP-UIE list or dict, or a schema object, "
        f"got {type(spec).__name__}",
    )


def resolve_schemas(specs: Sequence[SchemaSpec]) -> list[AnySchema]:
    """Several schemas; at least one, with distinct names (results are keyed by them)."""
    if not specs:
        raise ValueError("at least one schema is needed")
    several = len(specs) > 1
    schemas = [
        resolve_schema(spec, f"schemas[{i}]" if several else "schema")
        for i, spec in enumerate(specs)
    ]
    seen: dict[str, int] = {}
    for position, schema in enumerate(schemas):
        if schema.name in seen:
            raise ValueError(
                f"schemas[{seen[schema.name]}] and schemas[{position}] are both named "
                f"{schema.name!r}; give each schema a distinct `name`"
            )
        seen[schema.name] = position
    return schemas


def load_few_shot(prompt: PromptConfig, text_column: str = "text") -> list[Example]:
    """The first `few_shot_k` rows of `prompt.examples` that carry gold labels."""
    if not prompt.examples or prompt.few_shot_k == 0:
        return []
    from ie_batch.metrics import gold_from_row, read_rows

    examples: list[Example] = []
    for row in read_rows(prompt.examples):
        gold = gold_from_row(row)
        text = row.get(text_column)
        if gold is not None and isinstance(text, str):
            examples.append(Example(text=text, result=gold.result))
            if len(examples) >= prompt.few_shot_k:
                break
    return examples


def extraction_settings(
    prompt: PromptConfig, schemas: Sequence[AnySchema], examples: Sequence[Example] = ()
) -> ExtractionSettings:
    return ExtractionSettings.from_prompt(
        prompt, {schema.name: list(examples) for schema in schemas}
    )


@dataclass
class TextResults:
    """One result row per text, in order, and the tokens they cost."""

    rows: list[dict[str, Any]]
    prompt_tokens: int = 0
    completion_tokens: int = 0


async def extract_texts(
    extractor: BatchExtractor,
    texts: Sequence[str],
    *,
    batch_size: int = 16,
    batches_in_flight: int = 4,
) -> TextResults:
    """Run `texts` through `extractor`, `batch_size` documents per batch, several batches at
    once so the engine never idles while a batch is parsed. A text's id is its position."""
    documents = [Document(id=str(i), text=text) for i, text in enumerate(texts)]
    gate = asyncio.Semaphore(batches_in_flight)

    async def one_batch(start: int) -> list[Any]:
        async with gate:
            return await extractor.extract(documents[start : start + batch_size])

    batches = await asyncio.gather(*(one_batch(s) for s in range(0, len(documents), batch_size)))
    results = TextResults(rows=[])
    for outcomes in batches:
        for outcome in outcomes:
            results.rows.append({"id": str(len(results.rows)), **outcome.result.to_row()})
            results.prompt_tokens += outcome.prompt_tokens
            results.completion_tokens += outcome.completion_tokens
    return results


def vllm_engine_factory(num_gpus: float = 0) -> EngineFactory:
    """The default factory: a vLLM engine, on GPU when `num_gpus` > 0."""

    def build(config: EngineConfig) -> Engine:
        from ie_batch.engines.vllm_engine import VllmEngine

        return VllmEngine.from_config(config, num_gpus=num_gpus)

    return build


class _EngineLoop:
    """A daemon thread running an event loop; coroutines are submitted from other threads."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(
            target=self.loop.run_forever, name="ie-batch-engine", daemon=True
        )
        self.thread.start()

    def submit(self, coroutine: Coroutine[Any, Any, _T]) -> Future[_T]:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop)

    def run(self, coroutine: Coroutine[Any, Any, _T]) -> _T:
        """Wait for `coroutine` on the loop; an interrupted wait (Ctrl-C) cancels it there."""
        future = self.submit(coroutine)
        try:
            return future.result()
        except BaseException:
            future.cancel()
            raise

    def stop(self) -> None:
        """Cancel what still runs on the loop (as `asyncio.run` does), then stop and close it."""
        if self.loop.is_closed():
            return
        self.run(_cancel_pending())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join()
        self.loop.close()


async def _cancel_pending() -> None:
    current = asyncio.current_task()
    pending = [task for task in asyncio.all_tasks() if task is not current]
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)


def _shutdown(runner: _EngineLoop, holder: dict[str, Engine]) -> None:
    """Shut the engine down inside its loop, then stop the loop (also runs at exit)."""
    engine = holder.pop("engine", None)
    if engine is not None and not runner.loop.is_closed():

        async def shutdown() -> None:
            engine.shutdown()

        runner.run(shutdown())
    runner.stop()


class Extractor:
    """Extract entities, relations, events and class labels from texts with one in-process engine.

    `schemas`: one or more schemas — a shipped name ("news_ner_en"), a schema file, a PP-UIE
    schema (`["person", "location"]`, `{"person": ["works_for"]}`), a native mapping, or a
    schema object. `model` is a shorthand for `engine.model` ("embedded" unless either says
    otherwise); `engine` and `prompt` take an `EngineConfig`/`PromptConfig` or a mapping of their
    fields. `num_gpus` > 0 runs vLLM on GPU. `engine_factory(engine_config)` builds the engine
    (default: `VllmEngine.from_config`); tests pass one that builds a `FakeEngine`.

    Calling the extractor with a text or a list of texts returns one dict per text, in the shape
    of the batch job's result rows: `id` (the text's position), `entities`, `relations`,
    `events`, `labels` and `errors`. Close it (or use it as a context manager) to stop the engine.
    """

    def __init__(
        self,
        *schemas: SchemaSpec,
        model: str | None = None,
        engine: EngineConfig | Mapping[str, Any] | None = None,
        prompt: PromptConfig | Mapping[str, Any] | None = None,
        num_gpus: float = 0,
        batch_size: int = 16,
        engine_factory: EngineFactory | None = None,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        self.schemas = resolve_schemas(schemas)
        engine_config = EngineConfig.model_validate({} if engine is None else engine)
        if model is not None:
            engine_config = engine_config.model_copy(update={"model": model})
        self.engine_config = engine_config
        self.prompt_config = PromptConfig.model_validate({} if prompt is None else prompt)
        self.batch_size = batch_size
        self._format = get_format(self.prompt_config.format)
        self._examples = load_few_shot(self.prompt_config)
        factory = engine_factory or vllm_engine_factory(num_gpus)

        self._runner = _EngineLoop()
        self._holder: dict[str, Engine] = {}
        # Runs at close() or, if the caller never closes, at interpreter exit.
        self._finalizer = weakref.finalize(self, _shutdown, self._runner, self._holder)

        async def start() -> Engine:  # inside the loop: vLLM's async engine binds to it
            return factory(engine_config)

        try:
            self._engine = self._runner.run(start())
        except BaseException:
            self._finalizer()
            raise
        self._holder["engine"] = self._engine
        self._extractor = self._batch_extractor(self.schemas)

    def _batch_extractor(self, schemas: list[AnySchema]) -> BatchExtractor:
        settings = extraction_settings(self.prompt_config, schemas, self._examples)
        return BatchExtractor(schemas, self._engine, self._format, settings)

    def set_schema(self, *schemas: SchemaSpec) -> None:
        """Ask other schemas from now on, with the same engine (no restart)."""
        self._check_open()
        resolved = resolve_schemas(schemas)
        self._extractor = self._batch_extractor(resolved)
        self.schemas = resolved

    def __call__(self, texts: str | Sequence[str]) -> list[dict[str, Any]]:
        self._check_open()
        batch = _as_texts(texts)
        if not batch:
            return []
        coroutine = extract_texts(self._extractor, batch, batch_size=self.batch_size)
        return self._runner.run(coroutine).rows

    def _check_open(self) -> None:
        if self.closed:
            raise RuntimeError("this Extractor is closed")

    @property
    def closed(self) -> bool:
        return not self._finalizer.alive

    def close(self) -> None:
        """Shut the engine down and stop its thread; calling it again does nothing."""
        self._finalizer()
        # Drop the engine now rather than at interpreter exit, when vLLM's own finalizer (which
        # shuts the engine down once more) finds half the interpreter gone.
        self.__dict__.pop("_engine", None)
        self.__dict__.pop("_extractor", None)

    def __enter__(self) -> Extractor:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        names = ", ".join(schema.name for schema in self.schemas)
        state = "closed" if self.closed else "open"
        return f"Extractor({names}; model={self.engine_config.model!r}, {state})"


def _as_texts(texts: str | Sequence[str]) -> list[str]:
    if isinstance(texts, str):
        return [texts]
    if isinstance(texts, bytes) or not isinstance(texts, Sequence):
        raise TypeError(f"expected a text or a list of texts, got {type(texts).__name__}")
    batch = list(texts)
    for position, text in enumerate(batch):
        if not isinstance(text, str):
            raise TypeError(f"texts[{position}]: expected a string, got {type(text).__name__}")
    return batch
