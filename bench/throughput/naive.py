"""(d) the naive baseline's prompts: each document asked once for every label of the schema.

The job's prompt format renders it (`document_first`, one slice holding all labels, the same
answer schema the format derives), so what differs from the job is only the plan: no schema
rotation into slices, no second stage, no run-off. A document too long for the context is asked
once per window, cut as the job cuts it (`ContextFitter`, the job's window overlap), so the naive
run reads the same text. The prompts run on raw vLLM (`raw_vllm`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ie_batch.config import EngineConfig, PromptConfig
from ie_batch.schema import AnySchema, SchemaSlice

#: The job's default overlap between windows (`ExtractionSettings.window_overlap_chars`).
WINDOW_OVERLAP_CHARS = 200


def all_labels_slice(schema: AnySchema) -> SchemaSlice:
    """One slice with every label, sorted by name as the job's default rotation orders them."""
    labels = sorted(schema.label_specs, key=lambda label: label.name)
    return SchemaSlice(schema=schema, labels=tuple(labels), index=0, count=1)


def naive_prompts(
    documents: Sequence[dict[str, Any]],
    schema: AnySchema,
    config: EngineConfig,
    prompt_config: PromptConfig | None = None,
) -> list[dict[str, Any]]:
    """{"text" (chat-templated), "answer_schema", "slice", "document"} per prompt."""
    from transformers import AutoTokenizer

    from ie_batch.engines.embedded_model import resolve_model
    from ie_batch.engines.token_counter import TokenCounter
    from ie_batch.extraction.fitting import ContextFitter
    from ie_batch.extraction.windows import split_into_windows
    from ie_batch.prompts import get_format

    prompt_format = get_format((prompt_config or PromptConfig()).format)
    tokenizer = AutoTokenizer.from_pretrained(resolve_model(config.model))
    fitter = ContextFitter(TokenCounter(tokenizer, config))
    slice_ = all_labels_slice(schema)
    out = []
    for doc in documents:
        fit = fitter.fit(doc["text"], lambda text: prompt_format.render(text, slice_))
        if fit.prompt is not None:
            prompts = [fit.prompt]
        else:
            overlap = min(WINDOW_OVERLAP_CHARS, fit.max_chars // 4)
            windows = split_into_windows(doc["text"], fit.max_chars, overlap)
            prompts = [prompt_format.render(w.text, slice_) for w in windows]
        out.extend(
            {
                "text": tokenizer.apply_chat_template(
                    prompt.chat(), add_generation_prompt=True, tokenize=False
                ),
                "answer_schema": prompt.answer_schema,
                "slice": prompt.slice.key,
                "document": doc["id"],
            }
            for prompt in prompts
        )
    return out
