"""`ie-batch estimate`: what a job will cost before it runs, from a sample, with no engine.

It lists the shards and counts their rows, takes a sample of documents spread over the shards,
plans each one's first-round prompts exactly as the job would (the same schemas and routing,
slices, few-shot examples and windows cut to the context) and counts their tokens with the
model's own tokenizer and chat template. Answer tokens cannot be known without the model, so
they are given as the bound the job allows (`max_tokens` per prompt) and, when the caller passes
an expected number per prompt (from a trial run's `summary.json`), as that. Run-off rounds
(a second prompt for a mention several slices claimed) are not in the first round: a trial run
shows what they add. With a tokens/s figure (the bench's, or a trial run's), the tokens become
engine hours.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from ie_batch.config import JobConfig
from ie_batch.engines.base import Engine
from ie_batch.extraction.extractor import BatchExtractor, Document, ExtractionSettings
from ie_batch.io.reading import iter_shard_batches
from ie_batch.io.shards import count_shards, list_shards
from ie_batch.job.columns import row_id
from ie_batch.job.routing import Routing, load_job_schemas
from ie_batch.prompts import get_format
from ie_batch.prompts.few_shot import load_few_shot
from ie_batch.schema import AnySchema

#: Documents planned and counted, spread over the shards.
DEFAULT_SAMPLE = 200


@dataclass
class Estimate:
    shards: int
    rows: int
    sampled: int
    prompts_per_document: float
    prompt_tokens_per_document: float
    max_completion_tokens_per_document: float
    completion_tokens_per_prompt: float | None
    total_prompt_tokens: int
    total_max_completion_tokens: int
    total_completion_tokens: int | None
    tokens_per_second: float | None
    engine_hours: float | None
    seconds: float
    unreadable: dict[str, str] = field(default_factory=dict)
    unplannable: int = 0  # sampled documents no prompt fits the context for

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def estimate_job(
    config: JobConfig,
    counter: Engine,
    sample: int = DEFAULT_SAMPLE,
    tokens_per_second: float | None = None,
    completion_tokens_per_prompt: float | None = None,
) -> Estimate:
    started = time.perf_counter()
    listing = list_shards(config.input.paths, config.storage, exclude=[config.output])
    _, rows, unreadable = count_shards(listing.fs, listing.shards, config.input.limit)
    schemas = load_job_schemas(config)
    documents = _sample(config, schemas, listing, rows, sample)
    classified = {classifier.schema_ for classifier in config.classifiers}  # no prompts
    prompted = [schema for schema in schemas if schema.name not in classified]
    prompts, unplannable = (
        _extractor(config, prompted, counter).first_round_prompts(documents)
        if prompted
        else ([[] for _ in documents], 0)
    )
    sampled = len(documents)
    total_rows = sum(rows.values())
    per_doc_prompts = sum(map(len, prompts)) / sampled if sampled else 0.0
    per_doc_tokens = (
        sum(counter.count_tokens(p) for doc in prompts for p in doc) / sampled if sampled else 0.0
    )
    max_completion = per_doc_prompts * counter.max_tokens
    completion = (
        None
        if completion_tokens_per_prompt is None
        else round(per_doc_prompts * completion_tokens_per_prompt * total_rows)
    )
    total_prompt = round(per_doc_tokens * total_rows)
    hours = None
    if tokens_per_second:
        answered = completion if completion is not None else round(max_completion * total_rows)
        hours = (total_prompt + answered) / tokens_per_second / 3600
    return Estimate(
        shards=len(listing.shards),
        rows=total_rows,
        sampled=sampled,
        prompts_per_document=round(per_doc_prompts, 3),
        prompt_tokens_per_document=round(per_doc_tokens, 1),
        max_completion_tokens_per_document=round(max_completion, 1),
        completion_tokens_per_prompt=completion_tokens_per_prompt,
        total_prompt_tokens=total_prompt,
        total_max_completion_tokens=round(max_completion * total_rows),
        total_completion_tokens=completion,
        tokens_per_second=tokens_per_second,
        engine_hours=None if hours is None else round(hours, 3),
        seconds=round(time.perf_counter() - started, 3),
        unreadable={shard.name: reason for shard, reason in unreadable},
        unplannable=unplannable,
    )


def _extractor(config: JobConfig, schemas: list[AnySchema], counter: Engine) -> BatchExtractor:
    examples = load_few_shot(
        config.prompt.examples, config.prompt.few_shot_k, config.input.text_column
    )
    settings = ExtractionSettings.from_prompt(config.prompt, schemas, examples)
    return BatchExtractor(schemas, counter, get_format(config.prompt.format), settings)


def _sample(
    config: JobConfig,
    schemas: list[AnySchema],
    listing: Any,
    rows: dict[str, int],
    sample: int,
) -> list[Document]:
    """Up to `sample` documents, the first rows of as many shards as it takes, the same number
    from each, so one large shard does not stand for the whole corpus."""
    readable = [shard for shard in listing.shards if rows.get(shard.name)]
    if not readable or sample <= 0:
        return []
    per_shard = max(1, math.ceil(sample / len(readable)))
    routing = Routing(config, schemas)
    column, id_column = config.input.text_column, config.input.id_column
    documents: list[Document] = []
    for shard in readable:
        take = min(per_shard, rows[shard.name], sample - len(documents))
        if take <= 0:
            break
        for table in iter_shard_batches(listing.fs, shard, take, take, column):
            for row in table.to_pylist():
                text = row.get(column)
                if isinstance(text, str) and text:
                    schemas = routing.schemas_for(shard.name)
                    documents.append(Document(row_id(row, id_column), text, schemas))
    return documents
