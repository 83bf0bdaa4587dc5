"""Running a list of texts through a `BatchExtractor`: what `Extractor` and Serve both do.

Batches of `batch_size` texts, several in flight at once, so the engine never idles while a
batch is parsed; one result row per text, in order, its id its position.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ie_batch.extraction.classifying import ClassifyingExtractor
from ie_batch.extraction.extractor import BatchExtractor, Document


@dataclass
class TextResults:
    """One result row per text, in order, and the tokens they cost."""

    rows: list[dict[str, Any]]
    prompt_tokens: int = 0
    completion_tokens: int = 0


async def extract_texts(
    extractor: BatchExtractor | ClassifyingExtractor,
    texts: Sequence[str],
    *,
    batch_size: int = 16,
    batches_in_flight: int = 4,
) -> TextResults:
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
