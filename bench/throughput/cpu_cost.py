"""The CPU the extraction code spends per prompt, outside the model. Not in CI.

    .venv/bin/python -m bench.throughput.cpu_cost --dataset conll2003-valid --limit 1000

One actor is one Python process: everything it does besides decoding (rendering the prompts,
the chat template, tokenizing them to fit the context and for the engine, parsing and grounding
the answers, merging a document's slices, the run-off rounds) bounds how many prompts per second
it can feed an engine, whatever the engine's speed. This runs the job's own `BatchExtractor` on
real documents with an engine that answers at once and takes the real tokenizer's token ids,
as vLLM's engine is handed them; it answers each slice with the document's gold mentions of
that slice's types, so parsing, grounding and run-offs do the work real answers give them. CPU
time is the process's (every thread), measured after one warm-up batch.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import pstats
import time
from collections import defaultdict
from typing import Any

from ie_batch.config import EngineConfig
from ie_batch.engines.fake import FakeEngine
from ie_batch.engines.prompt_tokens import PromptTokenizer
from ie_batch.engines.token_counter import TokenCounter
from ie_batch.extraction.extractor import BatchExtractor, Document, ExtractionSettings
from ie_batch.prompts import Prompt, get_format


class GoldAnswers:
    """A slice's answer: the gold mentions of its types in the prompt's document."""

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.gold: dict[str, dict[str, list[str]]] = {}
        for row in rows:
            by_type: dict[str, list[str]] = defaultdict(list)
            for entity in row.get("entities") or ():
                by_type[entity["type"]].append(entity["text"])
            self.gold[row["text"]] = by_type

    def __call__(self, prompt: Prompt) -> str:
        user = prompt.messages[-1].content
        text = user[: prompt.shared_prefix_chars].split("\n", 1)[-1].removesuffix("\n\n")
        gold = self.gold.get(text, {})
        if prompt.slice.span is not None:  # an entity-type run-off
            kinds = [t for t, spans in gold.items() if prompt.slice.span in spans]
            return json.dumps({"type": kinds[0] if kinds else prompt.slice.label_names[0]})
        if prompt.slice.schema.kind.value == "classification":
            return json.dumps({"label": prompt.slice.label_names[0]})
        return json.dumps({name: gold.get(name, []) for name in prompt.slice.label_names})


class InstantEngine(FakeEngine):
    """Answers at once; takes each prompt's token ids as `VllmEngine` hands them to vLLM."""

    def __init__(self, answers: GoldAnswers, config: EngineConfig) -> None:
        super().__init__(answers, config.max_model_len, config.max_tokens, keep_prompts=False)
        self.tokens: PromptTokenizer = TokenCounter.from_config(config)._tokens

    def count_tokens(self, prompt: Prompt) -> int:
        return len(self.tokens.ids(prompt))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default="conll2003-valid")
    parser.add_argument("--limit", type=int, default=1000)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--profile", action="store_true", help="Print the top functions.")
    args = parser.parse_args()

    from bench.accuracy.datasets import get_dataset
    from bench.accuracy.runner import sample_rows
    from ie_batch.schema import load_schema

    dataset = get_dataset(args.dataset)
    rows = sample_rows(dataset.rows(), args.limit, "spread")
    schema = load_schema(dataset.schema)
    engine = InstantEngine(GoldAnswers(rows), EngineConfig())
    extractor = BatchExtractor([schema], engine, get_format("document_first"), ExtractionSettings())
    documents = [Document(row["id"], row["text"]) for row in rows]
    batches = [
        documents[i : i + args.batch_size] for i in range(0, len(documents), args.batch_size)
    ]

    async def run(batches: list[list[Document]]) -> int:
        prompts = 0
        for batch in batches:
            prompts += sum(outcome.prompts for outcome in await extractor.extract(batch))
        return prompts

    asyncio.run(run(batches[:1]))  # warm-up: the chat frame and the tokenizer's probes
    profile = cProfile.Profile() if args.profile else None
    cpu, wall = time.process_time(), time.perf_counter()
    if profile:
        profile.enable()
    prompts = asyncio.run(run(batches[1:]))
    if profile:
        profile.disable()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    documents_run = sum(len(batch) for batch in batches[1:])
    figures = {
        "dataset": args.dataset,
        "documents": documents_run,
        "prompts": prompts,
        "prompts_per_document": round(prompts / max(1, documents_run), 3),
        "cpu_ms_per_prompt": round(1000 * cpu / max(1, prompts), 4),
        "wall_ms_per_prompt": round(1000 * wall / max(1, prompts), 4),
        "prompts_per_cpu_second": round(prompts / cpu, 1) if cpu else None,
        "profiled": bool(profile),
    }
    print(json.dumps(figures, indent=2))
    if profile:
        pstats.Stats(profile).sort_stats("tottime").print_stats(25)


if __name__ == "__main__":
    main()
