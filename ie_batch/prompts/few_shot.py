"""Few-shot examples: the first labelled rows of an examples file, as prompt `Example`s.

One loader for the batch job's actors, `Extractor` and the Serve replicas, so the same job file
shows the model the same examples wherever it runs.
"""

from __future__ import annotations

from ie_batch.prompts.base import Example


def load_few_shot(path: str | None, k: int, text_column: str = "text") -> list[Example]:
    """The first `k` rows of `path` (JSONL or Parquet) that carry gold labels and a text."""
    if not path or k == 0:
        return []
    from ie_batch.metrics import gold_from_row, read_rows

    examples: list[Example] = []
    for row in read_rows(path):
        gold = gold_from_row(row)
        text = row.get(text_column)
        if gold is not None and isinstance(text, str):
            examples.append(Example(text=text, result=gold.result))
            if len(examples) >= k:
                break
    return examples
