"""Gold rows -> the training-example folder `ie-batch train` reads (`customize.examples_dataset`):

    <dir>/train.jsonl, <dir>/dev.jsonl   one example per (document, slice)
    <dir>/schema.json                    the schema the examples ask (loads with load_schema)
    <dir>/manifest.json                  everything needed to export the same examples again

The examples follow the job's prompt settings: its `prompt:` section when a job file is given
(format, label order, staged extraction, keep_ungrounded), else the job's defaults; few-shot
examples are never shown. Export with the job file the adapter will run under, and the examples
ask exactly what that job asks.

Documents go to dev when a hash of the seed and their id falls under `dev_fraction`: the same
document lands in the same split on every run and machine, whatever else the gold file holds,
and all of a document's examples share its split.

A gold row that cannot be used (no id, a duplicate id, no text, a gold column in no accepted
shape, no gold for the schema's task, labels the schema does not have) is left out, and so is an
example whose answer the parser does not read back (`customize.training_examples`); each is a
problem in the manifest and the returned `ExportManifest`, never dropped silently.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ie_batch.config import JobConfig, PromptConfig, load_config
from ie_batch.customize.confusions import Confusions, count_confusions, read_predictions
from ie_batch.customize.examples_dataset import MANIFEST_NAME, SPLITS, TrainingExample
from ie_batch.customize.negatives import (
    HardNegatives,
    NegativeSampler,
    checked_hard_negatives,
    load_hard_negatives,
    merged,
)
from ie_batch.customize.training_examples import (
    SliceExample,
    document_examples,
    first_slices,
    gold_labels,
    run_off_examples,
)
from ie_batch.extraction.extractor import ExtractionSettings
from ie_batch.metrics import ColumnShapeError, gold_from_row, labels_outside, read_rows
from ie_batch.prompts import get_format
from ie_batch.results import DocumentResult
from ie_batch.schema import AnySchema, ClassificationSchema
from ie_batch.schema.catalog import SchemaSpec, resolve_schema, schema_text

#: Version of the folder's layout, for readers that must tell layouts apart.
LAYOUT_VERSION = 1
SCHEMA_FILE = "schema.json"
DEFAULT_DEV_FRACTION = 0.1


@dataclass(frozen=True)
class ExportManifest:
    """What an export wrote: the folder, manifest.json's content, and what was left out."""

    directory: Path
    content: dict[str, Any]

    @property
    def problems(self) -> list[str]:
        return list(self.content["problems"])

    @property
    def counts(self) -> dict[str, Any]:
        return dict(self.content["counts"])


@dataclass(frozen=True)
class _Document:
    row: int
    id: str
    text: str
    gold: DocumentResult


def unit_hash(key: str) -> float:
    """A stable place in [0, 1) for `key`, whatever else is split with it."""
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def dev_share(doc_id: str, seed: int) -> float:
    """Where a document falls in [0, 1): under the dev fraction it is a dev document."""
    return unit_hash(f"{seed}:{doc_id}")


def split_of(doc_id: str, dev_fraction: float, seed: int) -> str:
    return "dev" if dev_share(doc_id, seed) < dev_fraction else "train"


def export_training_data(
    gold: str | Path | Sequence[Mapping[str, Any]],
    schema: SchemaSpec,
    output_dir: str | Path,
    *,
    format: str | None = None,
    config: JobConfig | str | Path | None = None,
    dev_fraction: float = DEFAULT_DEV_FRACTION,
    seed: int = 0,
    hard_negatives: str | Path | HardNegatives | None = None,
    confusions: str | Path | None = None,
    negative_slices: int | None = 1,
    run_offs: bool = False,
) -> ExportManifest:
    """Write the training examples of `gold` (a JSONL/Parquet file of gold rows, or the rows)
    for `schema` to `output_dir`, and return its manifest.

    `format` overrides the job file's prompt format; `hard_negatives` is a dictionary
    `{label: [confusable labels]}` (or a JSON file of one); `confusions` a finished job's output
    (or results file) over the same gold rows, whose confusions on the training documents rank
    hard negatives after the dictionary's; `negative_slices` the slices of absent labels per
    document beyond those holding its gold (None: every slice the job asks;
    `customize.negatives`); `run_offs` adds the entity-type run-off about each gold mention
    (NER with the run-off on: `customize.training_examples.run_off_examples`), which the job
    asks about mentions several slices claimed. Configuration errors raise (`ConfigError`, `SchemaError`,
    `HardNegativesError`, `ValueError`); bad rows and examples become `problems`.
    """
    if not 0 <= dev_fraction < 1:
        raise ValueError(f"dev_fraction must be in [0, 1), got {dev_fraction}")
    job = load_config(config) if isinstance(config, str | Path) else config
    prompt = job.prompt if job is not None else PromptConfig()
    text_column = job.input.text_column if job is not None else "text"
    id_column = job.input.id_column if job is not None else "id"
    fmt = get_format(format or prompt.format)
    settings = ExtractionSettings.from_prompt(prompt)
    resolved = resolve_schema(schema)
    output = Path(output_dir)

    rows, source, gold_sha256 = _gold_rows(gold)
    problems: list[str] = []
    documents = _documents(rows, source, resolved, text_column, id_column, problems)
    split = {doc.id: split_of(doc.id, dev_fraction, seed) for doc in documents}

    dictionary: dict[str, list[str]] = {}
    if isinstance(hard_negatives, str | Path):
        dictionary = load_hard_negatives(hard_negatives, resolved)
    elif hard_negatives is not None:
        dictionary = checked_hard_negatives(hard_negatives, resolved)
    confused: Confusions | None = None
    if confusions is not None:
        train_gold = {doc.id: doc.gold for doc in documents if split[doc.id] == "train"}
        confused = count_confusions(train_gold, read_predictions(confusions), resolved)
    sampler = NegativeSampler(
        merged(dictionary, confused.ranked() if confused else None), negative_slices, seed
    )

    written: dict[str, list[dict[str, Any]]] = {name: [] for name in SPLITS}
    stages: Counter[str] = Counter()
    for doc in documents:
        positives = gold_labels(doc.gold, resolved)
        size = len(first_slices(resolved, fmt, settings, doc.id)[0].labels)
        asked = sampler.labels_for(doc.id, resolved.label_names, positives, size)
        examples, left_out = document_examples(
            doc.id, doc.text, doc.gold, resolved, fmt, settings, asked
        )
        if run_offs and prompt.entity_type_run_off:
            extra, more_left_out = run_off_examples(
                doc.id, doc.text, doc.gold, resolved, fmt, settings
            )
            examples, left_out = [*examples, *extra], [*left_out, *more_left_out]
        problems.extend(str(problem) for problem in left_out)
        for example in examples:
            row = _example_row(example, doc, split[doc.id], fmt.name, resolved, positives)
            written[split[doc.id]].append(row)
            stages["entity_type" if example.slice.span else example.slice.stage] += 1

    output.mkdir(parents=True, exist_ok=True)
    for name, lines in written.items():
        with (output / f"{name}.jsonl").open("w", encoding="utf-8") as handle:
            handle.writelines(json.dumps(line, ensure_ascii=False) + "\n" for line in lines)
    (output / SCHEMA_FILE).write_text(
        json.dumps(resolved.model_dump(mode="json"), ensure_ascii=False, indent=2) + "\n",
        encoding="utf-8",
    )
    content = {
        "layout_version": LAYOUT_VERSION,
        "format": fmt.name,
        "gold": {"source": source, "rows": len(rows)},
        "gold_sha256": gold_sha256,
        "schemas": [_schema_entry(schema, resolved)],
        "prompt": {
            "label_order": settings.label_order,
            "staged_extraction": settings.staged,
            "keep_ungrounded": settings.keep_ungrounded,
            "few_shot": False,
        },
        "config": _config_entry(config),
        "split": {
            "dev_fraction": dev_fraction,
            "seed": seed,
            "rule": "dev when sha256('<seed>:<doc id>')[:8] / 2**64 < dev_fraction",
        },
        "negatives": {
            "negative_slices": negative_slices,
            "seed": seed,
            "hard_negatives": _file_entry(hard_negatives)
            if isinstance(hard_negatives, str | Path)
            else (dictionary or None),
            "confusions": {"source": str(confusions), **confused.to_dict()} if confused else None,
            "ranked": sampler.hard,
        },
        "run_offs": run_offs and prompt.entity_type_run_off,
        "counts": {
            "documents": {
                name: sum(1 for doc in documents if split[doc.id] == name) for name in SPLITS
            },
            "examples": {name: len(lines) for name, lines in written.items()},
            "examples_by_stage": dict(sorted(stages.items())),
            "problems": len(problems),
        },
        "files": {name: f"{name}.jsonl" for name in SPLITS},
        "problems": problems,
    }
    (output / MANIFEST_NAME).write_text(
        json.dumps(content, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    return ExportManifest(output, content)


def _gold_rows(
    gold: str | Path | Sequence[Mapping[str, Any]],
) -> tuple[list[dict[str, Any]], str, str]:
    """The rows, where they came from, and the sha256 of the gold input (the file's bytes, or
    the rows as sorted-key JSON lines)."""
    if isinstance(gold, str | Path):
        path = Path(gold)
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        return read_rows(path), str(path), digest
    rows = [dict(row) for row in gold]
    lines = "".join(json.dumps(row, sort_keys=True, ensure_ascii=False) + "\n" for row in rows)
    return rows, "<rows>", hashlib.sha256(lines.encode("utf-8")).hexdigest()


def _documents(
    rows: list[dict[str, Any]],
    source: str,
    schema: AnySchema,
    text_column: str,
    id_column: str,
    problems: list[str],
) -> list[_Document]:
    """The rows that can be used as documents of `schema`'s task; a problem for every other."""
    documents: list[_Document] = []
    seen: dict[str, int] = {}
    known = {schema.kind: frozenset(schema.label_names)}
    if isinstance(schema, ClassificationSchema):
        known = {schema.kind: frozenset([*schema.label_names, schema.none_label])}
    for number, row in enumerate(rows, start=1):
        where = f"{source}: row {number}"
        raw_id = row.get(id_column)
        if raw_id is None or raw_id == "":
            problems.append(f"{where}: field '{id_column}': no id (every document needs one)")
            continue
        doc_id = str(raw_id)
        if doc_id in seen:
            problems.append(f"{where}: field '{id_column}': {doc_id!r} is also row {seen[doc_id]}")
            continue
        seen[doc_id] = number
        text = row.get(text_column)
        if not isinstance(text, str) or not text:
            problems.append(f"{where}: field '{text_column}': expected the text, got {text!r}")
            continue
        try:
            labels = gold_from_row(row)
        except ColumnShapeError as exc:
            problems.append(f"{where}: {exc}")
            continue
        if labels is None or schema.kind not in labels.tasks:
            problems.append(f"{where}: no gold for the {schema.kind.value} task of {schema.name!r}")
            continue
        outside = labels_outside(labels, known).get(schema.kind.value)
        if outside:
            problems.append(
                f"{where}: labels not in schema {schema.name!r}: {', '.join(sorted(outside))}"
            )
            continue
        documents.append(_Document(number, doc_id, text, labels.result))
    return documents


def _example_row(
    example: SliceExample,
    doc: _Document,
    split: str,
    format_name: str,
    schema: AnySchema,
    positives: set[str],
) -> dict[str, Any]:
    slice_ = example.slice
    record = TrainingExample(
        id=f"{doc.id}/{schema.name}/{example.key}",
        doc_id=doc.id,
        split=split,  # type: ignore[arg-type]
        format=format_name,  # type: ignore[arg-type]
        schema=schema.name,
        task=schema.kind.value,  # type: ignore[arg-type]
        stage=None if slice_.stage == "whole" else slice_.stage,
        messages=example.prompt.chat(),  # type: ignore[arg-type]
        answer=example.answer,
        answer_schema=example.prompt.answer_schema,
        labels=slice_.label_names,
        negatives=[name for name in slice_.label_names if name not in positives],
    )
    return record.model_dump(mode="json", by_alias=True)


def _file_entry(path: str | Path) -> dict[str, str]:
    return {"path": str(path), "sha256": hashlib.sha256(Path(path).read_bytes()).hexdigest()}


def _schema_entry(spec: SchemaSpec, schema: AnySchema) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": schema.name, "task": schema.kind.value, "file": SCHEMA_FILE}
    if isinstance(spec, str | Path):
        text = schema_text(str(spec))
        entry["source"] = str(spec)
        entry["source_sha256"] = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return entry


def _config_entry(config: JobConfig | str | Path | None) -> dict[str, str] | None:
    if isinstance(config, str | Path):
        return _file_entry(config)
    return None
