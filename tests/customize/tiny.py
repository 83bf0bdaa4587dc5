"""What the training tests train on: a tiny random Qwen2 and a folder of real job prompts.

The model has the embedded model's architecture (Qwen2ForCausalLM) and tokenizer, with two
layers and a small width, built here from a config (no download): seconds per step, and vLLM
loads it like any Qwen2 checkpoint. The examples are the job's own prompts for a small NER schema
(rendered by the document_first format) with gold answers, written in the training-example
contract by the test itself, so these tests do not depend on the exporter's code.
"""

from __future__ import annotations

import json
from pathlib import Path

from ie_batch.prompts import get_format
from ie_batch.results import DocumentResult, Entity
from ie_batch.schema import load_schema

SCHEMA_YAML = """\
task: ner
name: people_places
language: en
entities:
  person: A person's name.
  location: A city or a country.
"""

DOCUMENTS = {
    "d1": (
        "Angela Merkel met Emmanuel Macron in Paris.",
        [("person", "Angela Merkel"), ("person", "Emmanuel Macron"), ("location", "Paris")],
    ),
    "d2": ("Tim Cook opened a store in Berlin.", [("person", "Tim Cook"), ("location", "Berlin")]),
    "d3": ("It rained all day.", []),
    "d4": ("Rome welcomed Pope Leo.", [("location", "Rome"), ("person", "Pope Leo")]),
    "d5": ("Ada Lovelace lived in London.", [("person", "Ada Lovelace"), ("location", "London")]),
    "d6": ("Nobody came to Madrid.", [("location", "Madrid")]),
}
DEV_DOCUMENTS = ("d5", "d6")


def embedded_tokenizer_dir() -> str:
    """The prepared embedded model's folder (its tokenizer is what the tiny model uses)."""
    from ie_batch.engines.embedded_model import resolve_model

    return resolve_model("embedded", log=lambda line: None)


def build_tiny_qwen2(out_dir: Path, seed: int = 0) -> Path:
    """A randomly initialised 2-layer Qwen2 with the embedded model's tokenizer, saved."""
    import torch
    from transformers import AutoConfig, AutoTokenizer, Qwen2Config, Qwen2ForCausalLM

    source = embedded_tokenizer_dir()
    reference = AutoConfig.from_pretrained(source)
    config = Qwen2Config(
        vocab_size=reference.vocab_size,
        hidden_size=128,
        intermediate_size=256,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
        max_position_embeddings=2048,
        tie_word_embeddings=True,
        bos_token_id=reference.bos_token_id,
        eos_token_id=reference.eos_token_id,
    )
    torch.manual_seed(seed)
    model = Qwen2ForCausalLM(config).to(torch.bfloat16)
    model.save_pretrained(out_dir)
    AutoTokenizer.from_pretrained(source).save_pretrained(out_dir)
    return out_dir


def write_example_dir(directory: Path) -> Path:
    """train.jsonl, dev.jsonl and manifest.json in the training-example contract."""
    directory.mkdir(parents=True, exist_ok=True)
    schema_path = directory / "people_places.yaml"
    schema_path.write_text(SCHEMA_YAML)
    schema = load_schema(schema_path)
    fmt = get_format("document_first")
    counts = {"train": 0, "dev": 0}
    files = {split: (directory / f"{split}.jsonl").open("w") for split in counts}
    for doc_id, (text, mentions) in DOCUMENTS.items():
        split = "dev" if doc_id in DEV_DOCUMENTS else "train"
        result = DocumentResult(entities=[Entity(type=t, text=m) for t, m in mentions])
        for slice_ in fmt.slices(schema, doc_id):
            prompt = fmt.render(text, slice_)
            answer = fmt.example_answer(result, slice_)
            record = {
                "id": f"{doc_id}/{schema.name}/{slice_.index}",
                "doc_id": doc_id,
                "split": split,
                "format": "document_first",
                "schema": schema.name,
                "task": "ner",
                "stage": None,
                "messages": prompt.chat(),
                "answer": json.dumps(answer, ensure_ascii=False),
                "answer_schema": prompt.answer_schema,
                "labels": slice_.label_names,
                "negatives": [n for n in slice_.label_names if not answer[n]],
            }
            files[split].write(json.dumps(record, ensure_ascii=False) + "\n")
            counts[split] += 1
    for handle in files.values():
        handle.close()
    manifest = {
        "format": "document_first",
        "counts": counts,
        "schemas": [{"name": schema.name, "task": "ner", "file": schema_path.name}],
        "gold_sha256": "0" * 64,
    }
    (directory / "manifest.json").write_text(json.dumps(manifest))
    return directory
