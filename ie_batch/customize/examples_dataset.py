"""The training-example folder `ie-batch training-data` writes, read back for training.

    <dir>/train.jsonl   one example per (document, slice): the job's prompt and the gold answer
    <dir>/dev.jsonl     held out the same way, for dev loss and dev F1
    <dir>/manifest.json what was exported: format, counts, schema files, sha256 of the gold input

An example's `messages` are exactly `Prompt.chat()` of the prompt the job renders and `answer`
the text its parser reads, so training on them teaches the model the job's own questions. Every
record is checked when it is read; a bad one is an error naming the file, the line and the field
(`ExampleError`), never skipped.

`encode_example` turns one example into token ids with the model's chat template, the way the
engine renders a prompt (`ie_batch.engines.prompt_tokens.PromptTokenizer.text`), plus the answer turn: the
loss covers the answer and the end-of-turn token after it (so the model learns to stop), never the
prompt (-100 there, which transformers' loss ignores).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

SPLITS = ("train", "dev")
MANIFEST_NAME = "manifest.json"
#: What the loss ignores (transformers' CrossEntropyLoss ignore_index).
IGNORE_INDEX = -100


class ExampleError(ValueError):
    """A training-example file or record that cannot be used; names the file, line and field."""


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    role: Literal["system", "user"]
    content: str


class TrainingExample(BaseModel):
    """One line of train.jsonl / dev.jsonl (the contract `ie-batch training-data` writes)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    id: str = Field(min_length=1, description="<doc_id>/<schema name>/<slice index or key>")
    doc_id: str
    split: Literal["train", "dev"]
    format: Literal["document_first", "iepile"]
    schema_name: str = Field(alias="schema", min_length=1)
    task: Literal["ner", "re", "ee", "classification"]
    stage: str | None = Field(description="The slice's stage (staged extraction), or null.")
    messages: list[ChatMessage] = Field(min_length=1)
    answer: str = Field(min_length=1, description="The answer text exactly as the parser reads it.")
    answer_schema: dict[str, Any]
    labels: list[str]
    negatives: list[str]


@dataclass(frozen=True)
class DataManifest:
    """manifest.json: what the examples were exported from. Kept whole in the training record."""

    path: Path
    content: dict[str, Any]

    @property
    def sha256(self) -> str | None:
        """The sha256 of the gold input the examples came from."""
        value = self.content.get("gold_sha256")
        return value if isinstance(value, str) else None

    def schema_files(self) -> list[Path]:
        """The schema files the manifest lists (`schemas: [{"file": ...}]`, relative to its
        folder); one that is listed but missing is an error."""
        files = []
        entries = self.content.get("schemas") or []
        for position, entry in enumerate(entries if isinstance(entries, list) else [entries]):
            name = entry.get("file") if isinstance(entry, dict) else None
            if not isinstance(name, str):
                raise ExampleError(f"{self.path}: field 'schemas.{position}.file': expected a path")
            path = self.path.parent / name
            if not path.is_file():
                raise ExampleError(f"{self.path}: field 'schemas.{position}.file': {path}: missing")
            files.append(path)
        return files


@dataclass(frozen=True)
class ExampleSet:
    """A training-example folder, read and checked."""

    directory: Path
    train: list[TrainingExample]
    dev: list[TrainingExample]
    manifest: DataManifest


def read_example_dir(directory: Path) -> ExampleSet:
    """Read and check train.jsonl, dev.jsonl (may be empty or absent) and manifest.json."""
    directory = Path(directory)
    if not directory.is_dir():
        raise ExampleError(f"{directory}: not a folder of training examples")
    manifest = read_manifest(directory / MANIFEST_NAME)
    manifest.schema_files()  # checked now, not after the training that copies them
    train = read_examples(directory / "train.jsonl", "train")
    if not train:
        raise ExampleError(f"{directory / 'train.jsonl'}: no training example")
    dev_path = directory / "dev.jsonl"
    dev = read_examples(dev_path, "dev") if dev_path.exists() else []
    overlap = {e.id for e in train} & {e.id for e in dev}
    if overlap:
        raise ExampleError(
            f"{directory}: {len(overlap)} example id(s) in both train.jsonl and dev.jsonl, "
            f"e.g. {sorted(overlap)[0]!r}"
        )
    return ExampleSet(directory, train, dev, manifest)


def read_manifest(path: Path) -> DataManifest:
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ExampleError(
            f"{path}: missing (the folder must come from ie-batch training-data)"
        ) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ExampleError(f"{path}: not readable JSON: {exc}") from None
    if not isinstance(content, dict):
        raise ExampleError(f"{path}: expected a JSON object, got {type(content).__name__}")
    return DataManifest(path, content)


def read_examples(path: Path, split: str) -> list[TrainingExample]:
    """The examples of one split's file, each line checked against the contract."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}")
    examples: list[TrainingExample] = []
    seen: dict[str, int] = {}
    try:
        handle = path.open(encoding="utf-8")
    except OSError as exc:
        raise ExampleError(f"{path}: cannot be read: {exc}") from None
    with handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            example = _parse_line(path, number, line)
            if example.split != split:
                raise ExampleError(
                    f"{path}:{number}: field 'split': {example.split!r} in the {split} file"
                )
            if example.id in seen:
                raise ExampleError(
                    f"{path}:{number}: field 'id': {example.id!r} already on line {seen[example.id]}"
                )
            seen[example.id] = number
            examples.append(example)
    return examples


def _parse_line(path: Path, number: int, line: str) -> TrainingExample:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ExampleError(f"{path}:{number}: not a JSON object: {exc}") from None
    if not isinstance(record, dict):
        raise ExampleError(f"{path}:{number}: expected a JSON object, got {type(record).__name__}")
    try:
        return TrainingExample.model_validate(record)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(part) for part in error["loc"]) or "(record)"
        raise ExampleError(f"{path}:{number}: field {field!r}: {error['msg']}") from None


# --------------------------------------------------------------------------- tokens


@dataclass(frozen=True)
class EncodedExample:
    """Token ids of one example: the prompt as the engine renders it, then the answer turn."""

    example_id: str
    prompt_ids: list[int]
    answer_ids: list[int]

    @property
    def length(self) -> int:
        return len(self.prompt_ids) + len(self.answer_ids)

    def features(self) -> dict[str, list[int]]:
        """What the trainer's collator pads: the loss on the answer tokens only."""
        ids = self.prompt_ids + self.answer_ids
        return {
            "input_ids": ids,
            "attention_mask": [1] * len(ids),
            "labels": [IGNORE_INDEX] * len(self.prompt_ids) + self.answer_ids,
        }


def encode_example(
    tokenizer: Any, example: TrainingExample, max_length: int, where: str = ""
) -> EncodedExample:
    """The example's token ids with `tokenizer`'s chat template. The answer's part is what the
    template writes after the generation prompt when the assistant turn is the answer, up to the
    end-of-turn token (trailing whitespace after it is not the model's to say)."""
    messages = [m.model_dump() for m in example.messages]
    prompt = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    full = tokenizer.apply_chat_template(
        [*messages, {"role": "assistant", "content": example.answer}], tokenize=False
    )
    label = f"{where}example {example.id!r}"
    if not full.startswith(prompt):
        raise ExampleError(
            f"{label}: the chat template renders the conversation with the answer differently "
            "from the prompt alone, so the answer tokens cannot be told apart"
        )
    completion = full[len(prompt) :].rstrip()
    if example.answer not in completion:
        raise ExampleError(f"{label}: the chat template changed the answer text")
    prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    answer_ids = tokenizer(completion, add_special_tokens=False)["input_ids"]
    encoded = EncodedExample(example.id, list(prompt_ids), list(answer_ids))
    if encoded.length > max_length:
        raise ExampleError(
            f"{label}: {encoded.length} tokens ({len(prompt_ids)} prompt, {len(answer_ids)} "
            f"answer), more than the maximum length {max_length} (raise --max-length)"
        )
    return encoded


def encode_examples(
    tokenizer: Any, examples: Sequence[TrainingExample], max_length: int, source: Path
) -> list[EncodedExample]:
    return [encode_example(tokenizer, e, max_length, f"{source}: ") for e in examples]
