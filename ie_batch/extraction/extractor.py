"""Fan-out and fan-in for a batch of documents: the work one actor does, with any engine.

For every document, every task schema and every slice of its rotated label set (and every window
of a document too long for the context), one prompt is built; every document's first-round
prompts go to the engine at once, so its slices are decoded back to back and share its prefix in
the cache. Each document then moves through its later rounds on its own, as soon as its answers
are in: no round waits for the batch's slowest prompt, so the engine is never left with only a
straggler to decode while the rest of the batch waits. Answers are parsed, grounded in the text, and merged back into exactly one result per document.
Multi-class classification over several slices gets a run-off round among the slice winners, and
a mention that NER slices gave several types gets one among those types (`entity_type_run_off`).

This module knows nothing of Ray: the job's extraction stage wraps it in an actor, `Extractor` and
Serve run it on their own event loops, tests drive it with the fake engine.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections import defaultdict
from collections.abc import Awaitable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from ie_batch.config import PromptConfig
from ie_batch.engines.base import Engine, EngineDead, Generation
from ie_batch.extraction.fitting import ContextFitter
from ie_batch.extraction.windows import Window, split_into_windows
from ie_batch.parsing import SliceRecords, merge_slices
from ie_batch.prompts import Example, Prompt, PromptFormat, render_entity_type
from ie_batch.prompts.staging import second_stage, staged
from ie_batch.results import DocumentResult
from ie_batch.schema import (
    AnySchema,
    ClassificationSchema,
    NerSchema,
    SchemaSlice,
    entity_type_slice,
    final_round_slice,
)
from ie_batch.schema.catalog import check_unique_names
from ie_batch.schema.rotation import LabelOrder

T = TypeVar("T")


@dataclass(frozen=True)
class Document:
    id: str
    text: str
    schemas: frozenset[str] | None = None  # names of the schemas to ask; None means all


@dataclass
class DocumentOutcome:
    """One document's merged result and what it cost."""

    result: DocumentResult
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    prompts: int = 0
    windows: int = 1


@dataclass(frozen=True)
class ExtractionSettings:
    label_order: LabelOrder = "sorted"
    keep_ungrounded: bool = False
    entity_type_run_off: bool = True
    staged: bool = True
    window_overlap_chars: int = 200
    examples: Mapping[str, Sequence[Example]] = field(default_factory=dict)

    @classmethod
    def from_prompt(
        cls,
        prompt: PromptConfig,
        schemas: Sequence[AnySchema] = (),
        examples: Sequence[Example] = (),
    ) -> ExtractionSettings:
        """The settings a job's `prompt:` section asks for; the few-shot `examples` are shown
        for every one of `schemas`."""
        return cls(
            label_order=prompt.label_order,
            keep_ungrounded=prompt.keep_ungrounded,
            entity_type_run_off=prompt.entity_type_run_off,
            staged=prompt.staged_extraction,
            examples={schema.name: list(examples) for schema in schemas} if examples else {},
        )


@dataclass
class _Job:
    """One prompt of the batch, and where its answer goes."""

    document: int
    window: Window
    slice: SchemaSlice
    prompt: Prompt


class BatchExtractor:
    def __init__(
        self,
        schemas: Sequence[AnySchema],
        engine: Engine,
        prompt_format: PromptFormat,
        settings: ExtractionSettings = ExtractionSettings(),
    ) -> None:
        if not schemas:
            raise ValueError("an extractor needs at least one schema")
        check_unique_names((f"schemas[{i}]", schema) for i, schema in enumerate(schemas))
        self.schemas = list(schemas)
        self.engine = engine
        self.fitter = ContextFitter(engine)
        self.format = prompt_format
        self.settings = settings

    async def extract(self, documents: Sequence[Document]) -> list[DocumentOutcome]:
        """Every document's outcome, in order. Each document goes through its rounds on its own
        (first round, cap retries, second stages and run-offs), so a document's next round is
        asked as soon as its own answers are in, never after the batch's slowest prompt: the
        engine keeps decoding the other documents' prompts meanwhile."""
        # planning (rendering, the chat template, tokenizing to fit the context) runs on a
        # thread: the event loop meanwhile serves the engine (vLLM's output handler runs on it)
        plans = await asyncio.to_thread(
            lambda: [self._plan(index, document) for index, document in enumerate(documents)]
        )
        return await _all(
            self._extract_one(document, jobs, errors)
            for document, (jobs, errors) in zip(documents, plans, strict=True)
        )

    async def _extract_one(
        self, document: Document, jobs: list[_Job], errors: list[str]
    ) -> DocumentOutcome:
        outcome = DocumentOutcome(DocumentResult())
        outcome.windows = len({job.window.start for job in jobs}) or 1
        parts = [SliceRecords(errors=[e]) for e in errors]
        answered = await self._run(jobs, outcome)
        answered = await self._retry_smaller(answered, outcome)
        parts += [part for _, part in answered]
        follow_ups = self._second_stages(answered, parts)
        follow_ups += self._run_offs(jobs, parts)
        if self.settings.entity_type_run_off and jobs:
            follow_ups += self._entity_type_run_offs(jobs[0].document, document, parts)
        parts += [part for _, part in await self._run(follow_ups, outcome)]
        outcome.result = merge_slices(parts)
        return outcome

    def first_round_prompts(self, documents: Sequence[Document]) -> tuple[list[list[Prompt]], int]:
        """Each document's first-round prompts, as `extract` would send them, and how many
        documents have a slice no prompt of fits the context (for dry runs and benchmarks)."""
        prompts, unplannable = [], 0
        for index, document in enumerate(documents):
            jobs, errors = self._plan(index, document)
            prompts.append([job.prompt for job in jobs])
            unplannable += bool(errors)
        return prompts, unplannable

    def _plan(self, index: int, document: Document) -> tuple[list[_Job], list[str]]:
        """Every (window, slice) prompt of one document, or the reason it cannot be asked."""
        jobs: list[_Job] = []
        errors: list[str] = []
        for schema in self.schemas:
            if document.schemas is not None and schema.name not in document.schemas:
                continue
            examples = self.settings.examples.get(schema.name, ())
            in_stages = self.settings.staged and schema.kind in self.format.stages
            slices = self.format.slices(
                schema, document.id, self.settings.label_order, staged=in_stages
            )
            if in_stages:
                slices = staged(slices)
            for slice_ in slices:
                prompts, error = self._prompts(document.text, slice_, examples)
                if error:
                    errors.append(error)
                jobs.extend(_Job(index, window, slice_, prompt) for window, prompt in prompts)
        return jobs, errors

    def _prompts(
        self, text: str, slice_: SchemaSlice, examples: Sequence[Example]
    ) -> tuple[list[tuple[Window, Prompt]], str | None]:
        """The whole text's prompt when it fits the context, else one per overlapping window."""

        def render(part: str) -> Prompt:
            return self.format.render(part, slice_, examples)

        fit = self.fitter.fit(text, render)
        if fit.prompt is not None:
            return [(Window(0, text), fit.prompt)], None
        if not fit.max_chars:
            return [], (
                f"slice {slice_.key}: its prompt without the text takes {fit.overhead} tokens, "
                f"more than the {fit.budget} the context leaves after {self.engine.max_tokens} "
                "answer tokens"
            )
        overlap = min(self.settings.window_overlap_chars, fit.max_chars // 4)
        windows = split_into_windows(text, fit.max_chars, overlap)
        return [(w, render(w.text)) for w in windows], None

    async def _retry_smaller(
        self, answered: list[tuple[_Job, SliceRecords]], outcome: DocumentOutcome
    ) -> list[tuple[_Job, SliceRecords]]:
        """Each slice of several labels whose answer hit the token limit, asked once more as
        two halves: a smaller answer object leaves the model less room to loop. What the
        halves answer replaces the cut-off answer; a half that hits the limit again keeps its
        complete items and says so."""
        kept: list[tuple[_Job, SliceRecords]] = []
        retries: list[_Job] = []
        for job, part in answered:
            labels = job.slice.labels
            if not part.hit_limit or len(labels) < 2 or job.slice.anchor is not None:
                kept.append((job, part))
                continue
            examples = self.settings.examples.get(job.slice.schema.name, ())
            middle = len(labels) // 2
            for half in (labels[:middle], labels[middle:]):
                slice_ = dataclasses.replace(job.slice, labels=half)
                prompt = self.format.render(job.window.text, slice_, examples)
                retries.append(_Job(job.document, job.window, slice_, prompt))
        if retries:
            kept += await self._run(retries, outcome)
        return kept

    def _second_stages(
        self, answered: Sequence[tuple[_Job, SliceRecords]], parts: list[SliceRecords]
    ) -> list[_Job]:
        """The second-stage prompts of staged tasks (`prompts.staging`), over the window the
        first stage found each trigger or subject in; one per anchor even where overlapping
        windows both found it."""
        follow_ups: list[_Job] = []
        asked: set[SchemaSlice] = set()  # `answered` holds one document's jobs
        for job, part in answered:
            for slice_ in second_stage(part):
                if slice_ in asked:
                    continue
                asked.add(slice_)
                prompt = self.format.render(job.window.text, slice_)
                if not self.fitter.fits(prompt):
                    parts.append(
                        SliceRecords(
                            slice=slice_,
                            errors=[f"slice {slice_.key}: its prompt does not fit the context"],
                        )
                    )
                    continue
                follow_ups.append(_Job(job.document, job.window, slice_, prompt))
        return follow_ups

    def _run_offs(self, jobs: Sequence[_Job], parts: Sequence[SliceRecords]) -> list[_Job]:
        """A final round for each multi-class schema whose slices chose several labels, over the
        document's first window."""
        if not jobs:
            return []
        winners: dict[str, list[str]] = defaultdict(list)
        for part in parts:
            schema = part.schema
            if isinstance(schema, ClassificationSchema) and not schema.multi_label:
                winners[schema.name].extend(part.labels)
        run_offs = []
        by_name = {schema.name: schema for schema in self.schemas}
        window = jobs[0].window
        for name, labels in winners.items():
            schema = by_name[name]
            assert isinstance(schema, ClassificationSchema)
            slice_ = final_round_slice(schema, labels)
            if slice_ is not None:
                examples = self.settings.examples.get(name, ())
                prompt = self.format.render(window.text, slice_, examples)
                run_offs.append(_Job(jobs[0].document, window, slice_, prompt))
        return run_offs

    def _entity_type_run_offs(
        self, index: int, document: Document, parts: Sequence[SliceRecords]
    ) -> list[_Job]:
        """A run-off for each grounded mention that the slices of one NER schema gave several
        types (a mention not in the text has nothing to show the model, and is not asked).

        The candidates are every type of the schema, in the order the slices ask them, not only
        the types that claimed the mention: a town the location slice missed but the person and
        organisation slices claimed can still become a location (bench/: on 100 CoNLL-2003 valid
        rows, F1 0.497 -> 0.525 with the same answers; 0.514 -> 0.536 with both lists reversed).
        """
        run_offs = []
        mentions: dict[tuple[NerSchema, str], tuple[int, list[str]]] = {}
        for part in parts:
            schema = part.schema
            if not isinstance(schema, NerSchema):
                continue
            for entity in part.entities:
                if entity.start is not None:
                    key = (schema, entity.text)
                    mentions.setdefault(key, (entity.start, []))[1].append(entity.type)
        asking_order: dict[NerSchema, list[str]] = {}
        for (schema, span), (start, types) in mentions.items():
            if len(set(types)) < 2 and not schema.verify_mentions:
                continue
            if schema not in asking_order:
                asking_order[schema] = [
                    name
                    for schema_slice in self.format.slices(
                        schema, document.id, self.settings.label_order
                    )
                    for name in schema_slice.label_names
                ]
            slice_ = entity_type_slice(
                schema, span, asking_order[schema], check=schema.verify_mentions
            )
            job = slice_ and self._run_off_job(index, document.text, start, slice_)
            if job:
                run_offs.append(job)
        return run_offs

    def _run_off_job(self, index: int, text: str, start: int, slice_: SchemaSlice) -> _Job | None:
        """The run-off over the whole text when it fits the context, else over the stretch of
        text around the mention that does; None when not even the question fits (the mention
        then keeps every type, as with no run-off)."""

        def render(part: str) -> Prompt:
            return render_entity_type(part, slice_)

        fit = self.fitter.fit(text, render)
        if fit.prompt is not None:
            return _Job(index, Window(0, text), slice_, fit.prompt)
        max_chars = fit.max_chars
        middle = start + len(slice_.span or "") // 2
        while max_chars > len(slice_.span or ""):
            first = max(0, min(middle - max_chars // 2, len(text) - max_chars))
            window = Window(first, text[first : first + max_chars])
            prompt = render(window.text)
            if self.fitter.fits(prompt):
                return _Job(index, window, slice_, prompt)
            max_chars = int(max_chars * 0.8)  # denser text than the average: narrow it
        return None

    async def _run(
        self, jobs: Sequence[_Job], outcome: DocumentOutcome
    ) -> list[tuple[_Job, SliceRecords]]:
        """One round of one document: every prompt of `jobs` at once; each job's parsed answer,
        its costs counted on `outcome`."""
        if not jobs:
            return []
        try:
            generations = await self.engine.generate([job.prompt for job in jobs])
        except EngineDead:
            raise  # the engine must be replaced; its owner decides what becomes of the batch
        except Exception as exc:  # the engine itself failed: every prompt of the batch did
            reason = f"engine failed: {type(exc).__name__}: {exc}"
            generations = [Generation(text="", error=reason) for _ in jobs]
        answered = []
        for job, generation in zip(jobs, generations, strict=True):
            outcome.prompts += 1
            outcome.prompt_tokens += generation.prompt_tokens
            outcome.completion_tokens += generation.completion_tokens
            outcome.cached_tokens += generation.cached_tokens
            if generation.error is not None:
                part = SliceRecords(
                    slice=job.slice, errors=[f"slice {job.slice.key}: {generation.error}"]
                )
            else:
                part = self.format.parse(
                    generation.text,
                    job.slice,
                    job.window.text,
                    keep_ungrounded=self.settings.keep_ungrounded,
                    offset=job.window.start,
                )
                if generation.finish_reason == "length":  # one message, not two
                    part.hit_limit = True
                    part.errors[:] = [e for e in part.errors if "was cut off" not in e]
                    part.errors.append(
                        f"slice {job.slice.key}: the answer hit the {self.engine.max_tokens}-token "
                        "limit; kept its complete items"
                    )
            answered.append((job, part))
        return answered


async def _all(awaitables: Iterable[Awaitable[T]]) -> list[T]:
    """Every result, in order; when one fails, the others are cancelled before the failure is
    raised (an engine that died must not leave prompts of the batch running behind it)."""
    tasks = [asyncio.ensure_future(awaitable) for awaitable in awaitables]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
