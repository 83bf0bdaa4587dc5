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
guard (vLLM spawns its engine process).
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections.abc import Coroutine, Mapping, Sequence
from concurrent.futures import Future
from typing import Any, TypeVar

from ie_batch.classifiers import Classifier, ClassifierCard, read_card
from ie_batch.config import EngineConfig, PromptConfig
from ie_batch.engines.base import Engine
from ie_batch.engines.factory import EngineFactory, build_engine
from ie_batch.extraction.classifying import ClassifyingExtractor
from ie_batch.extraction.extractor import BatchExtractor, ExtractionSettings
from ie_batch.extraction.texts import extract_texts
from ie_batch.prompts import get_format
from ie_batch.prompts.few_shot import load_few_shot
from ie_batch.schema import AnySchema, ClassificationSchema
from ie_batch.schema.catalog import SchemaSpec, resolve_schemas

__all__ = ["Extractor"]

_T = TypeVar("_T")


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
    otherwise) and `lora_adapter` for `engine.lora_adapter` (an adapter folder written by
    `ie-batch train` for that model); `engine` and `prompt` take an `EngineConfig`/`PromptConfig` or a mapping of their
    fields. `classifiers` maps a classification schema's name to a folder `ie-batch
    train-classifier` wrote: that schema is scored by the encoder, not prompted (as a job's
    `classifiers:`), and the engine starts only once a schema without one is asked.
    `num_gpus` > 0 runs vLLM (and the encoders) on GPU. `engine_factory(engine_config,
    num_gpus)` builds the engine (default: vLLM); tests pass one that builds a `FakeEngine`.

    Calling the extractor with a text or a list of texts returns one dict per text, in the shape
    of the batch job's result rows: `id` (the text's position), `entities`, `relations`,
    `events`, `labels` and `errors`. Close it (or use it as a context manager) to stop the engine.
    """

    def __init__(
        self,
        *schemas: SchemaSpec,
        model: str | None = None,
        lora_adapter: str | None = None,
        classifiers: Mapping[str, str] | None = None,
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
        shorthands = {"model": model, "lora_adapter": lora_adapter}
        given = {name: value for name, value in shorthands.items() if value is not None}
        if given:
            engine_config = engine_config.model_copy(update=given)
        self.engine_config = engine_config
        self.prompt_config = PromptConfig.model_validate({} if prompt is None else prompt)
        self.batch_size = batch_size
        self._format = get_format(self.prompt_config.format)
        self._examples = load_few_shot(self.prompt_config.examples, self.prompt_config.few_shot_k)
        self._factory = engine_factory or build_engine
        self._num_gpus = num_gpus
        self._classifiers = _load_classifiers(self.schemas, classifiers or {}, num_gpus)

        self._runner = _EngineLoop()
        self._holder: dict[str, Engine] = {}
        # Runs at close() or, if the caller never closes, at interpreter exit.
        self._finalizer = weakref.finalize(self, _shutdown, self._runner, self._holder)
        try:
            self._extractor = self._batch_extractor(self.schemas)
        except BaseException:
            self._finalizer()
            raise

    def _started_engine(self) -> Engine:
        """The engine, started the first time a schema without a classifier is asked."""
        if "engine" not in self._holder:
            factory, config, num_gpus = self._factory, self.engine_config, self._num_gpus

            async def start() -> Engine:  # inside the loop: vLLM's async engine binds to it
                return factory(config, num_gpus)

            self._holder["engine"] = self._runner.run(start())
        return self._holder["engine"]

    def _batch_extractor(self, schemas: list[AnySchema]) -> ClassifyingExtractor:
        classifiers = {}
        for schema in schemas:
            if schema.name in self._classifiers:
                folder, card, classifier = self._classifiers[schema.name]
                _check_fits(schema.name, folder, card, schema)  # set_schema may change it
                classifiers[schema.name] = classifier
        prompted = [schema for schema in schemas if schema.name not in classifiers]
        extractor = None
        if prompted:
            settings = ExtractionSettings.from_prompt(self.prompt_config, prompted, self._examples)
            extractor = BatchExtractor(prompted, self._started_engine(), self._format, settings)
        return ClassifyingExtractor(extractor, classifiers)

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
        # shuts the engine down once more) finds half the interpreter gone; the finalizer took
        # it out of the holder, the extractor is the last to hold it.
        self.__dict__.pop("_extractor", None)

    def __enter__(self) -> Extractor:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        names = ", ".join(schema.name for schema in self.schemas)
        state = "closed" if self.closed else "open"
        return f"Extractor({names}; model={self.engine_config.model!r}, {state})"


def _load_classifiers(
    schemas: Sequence[AnySchema], folders: Mapping[str, str], num_gpus: float
) -> dict[str, tuple[str, ClassifierCard, Classifier]]:
    """Each classifier by the schema it predicts, with its folder and card; checked, loaded."""
    from ie_batch.classifiers.encoder import EncoderClassifier

    loaded = {}
    for name, folder in folders.items():
        card = read_card(folder)
        for schema in schemas:
            if schema.name == name:
                _check_fits(name, folder, card, schema)
                break
        else:
            known = ", ".join(schema.name for schema in schemas)
            raise ValueError(f"classifiers[{name!r}]: not a schema of this Extractor ({known})")
        loaded[name] = (folder, card, EncoderClassifier.load(folder, num_gpus=num_gpus))
    return loaded


def _check_fits(name: str, folder: str, card: ClassifierCard, schema: AnySchema) -> None:
    if not isinstance(schema, ClassificationSchema):
        raise ValueError(f"classifiers[{name!r}]: a {schema.kind.value} schema, not classification")
    problem = card.mismatch(schema)
    if problem:
        raise ValueError(f"classifiers[{name!r}]: the encoder in {folder} {problem}")


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
