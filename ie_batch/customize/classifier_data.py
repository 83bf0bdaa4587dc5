"""Gold rows for one classification schema, as the texts and label sets an encoder trains on.

The rows are the job's own input rows: a text column and a gold `labels` / `label` column in any
shape `ie_batch.metrics.gold` reads (`"sports"`, `["sports", "tech"]`, `[{label, score}]`), so the
file a job is scored on is the file an encoder is trained on. A row that cannot be used — not
JSON, no text, no gold label, a label the schema does not have, several labels for a multi-class
schema — is an error naming the file, the line (or Parquet row) and the column, never skipped:
a training set that silently lost rows would train a different model than its user thinks.

The schema's `none_label` ("none", "无") may be gold: for a multi-label schema it means no
label; for a multi-class one it becomes a class of its own, which predicts no label (what the
LLM's "none" answer gives).

The train/dev split is by document id: a document's hash decides its side, so the same id is
always on the same side, whatever the file's order or whatever else it holds.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ie_batch.customize.training_data import unit_hash
from ie_batch.metrics import ColumnShapeError, gold_from_row
from ie_batch.metrics.classification import gold_labels
from ie_batch.schema import ClassificationSchema, TaskKind


class GoldDataError(ValueError):
    """A gold row that cannot be trained on; the message names the file, the line and the column."""


@dataclass(frozen=True)
class LabelledText:
    """One training document: its id, text and gold classes (`where` names it in messages)."""

    id: str
    text: str
    labels: tuple[str, ...]
    where: str


def read_labelled_texts(
    path: str | Path,
    schema: ClassificationSchema,
    *,
    text_column: str = "text",
    id_column: str = "id",
) -> list[LabelledText]:
    """Every row of a local JSONL (optionally gzipped) or Parquet file, checked against `schema`."""
    return labelled_texts(numbered_rows(path), schema, text_column=text_column, id_column=id_column)


def numbered_rows(path: str | Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """(`path:line` or `path row N`, row) for each row of the file, blank lines aside."""
    path = Path(path)
    name = path.name.lower()
    if not path.is_file():
        raise GoldDataError(f"{path}: no such file")
    if name.endswith(".parquet"):
        import pyarrow.parquet as pq

        for number, row in enumerate(pq.read_table(path).to_pylist(), start=1):
            yield f"{path} row {number}", row
        return
    if not name.endswith((".jsonl", ".jsonl.gz", ".json")):
        raise GoldDataError(f"{path}: unknown file type; expected .jsonl, .jsonl.gz or .parquet")
    opener = gzip.open if name.endswith(".gz") else open
    try:
        with opener(path, "rt", encoding="utf-8") as lines:  # type: ignore[operator]
            for number, line in enumerate(lines, start=1):
                if not line.strip():
                    continue
                where = f"{path}:{number}"
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise GoldDataError(f"{where}: not valid JSON ({exc.msg})") from None
                if not isinstance(row, dict):
                    raise GoldDataError(
                        f"{where}: expected a JSON object, got {type(row).__name__}"
                    )
                yield where, row
    except UnicodeDecodeError as exc:
        raise GoldDataError(f"{path}: not UTF-8 text ({exc.reason})") from None


def labelled_texts(
    rows: Iterable[tuple[str, Mapping[str, Any]]],
    schema: ClassificationSchema,
    *,
    text_column: str = "text",
    id_column: str = "id",
) -> list[LabelledText]:
    """The checked training documents of (`where`, row) pairs; an error at the first bad row."""
    known = set(schema.label_names)
    texts = []
    for where, row in rows:
        text = row.get(text_column)
        if not isinstance(text, str) or not text.strip():
            got = "missing" if text is None else "blank" if isinstance(text, str) else "not text"
            raise GoldDataError(f"{where}: column {text_column!r}: {got}, expected the text")
        labels = _gold(where, row, schema, known)
        row_id = row.get(id_column)
        texts.append(
            LabelledText(
                id=str(row_id) if row_id not in (None, "") else where,
                text=text,
                labels=labels,
                where=where,
            )
        )
    return texts


def _gold(
    where: str, row: Mapping[str, Any], schema: ClassificationSchema, known: set[str]
) -> tuple[str, ...]:
    try:
        gold = gold_from_row(row)
    except ColumnShapeError as exc:
        raise GoldDataError(f"{where}: {exc}") from None
    if gold is None or TaskKind.CLASSIFICATION not in gold.tasks:
        raise GoldDataError(f"{where}: no gold label (a 'labels' or 'label' column)")
    column = "labels" if row.get("labels") is not None else "label"
    names = gold_labels(gold.result.labels)
    for name in names:
        if name not in known and name != schema.none_label:
            raise GoldDataError(
                f"{where}: column {column!r}: {name!r} is not a label of schema "
                f"{schema.name!r} ({', '.join(sorted(known))}, or {schema.none_label!r})"
            )
    if schema.multi_label:
        if schema.none_label in names and len(names) > 1:
            raise GoldDataError(
                f"{where}: column {column!r}: {schema.none_label!r} (no label) beside labels "
                f"{[n for n in names if n != schema.none_label]}"
            )
        return tuple(name for name in names if name != schema.none_label)
    if len(names) != 1:
        raise GoldDataError(
            f"{where}: column {column!r}: schema {schema.name!r} is multi-class, so a row has "
            f"exactly one label; got {list(names) or 'none'}"
        )
    return names


def split_by_id(
    texts: Sequence[LabelledText], dev_fraction: float
) -> tuple[list[LabelledText], list[LabelledText]]:
    """(train, dev): a document goes to dev when its id's hash falls in the first
    `dev_fraction` of the hash range, so its side depends on its id alone."""
    if not 0 <= dev_fraction < 1:
        raise ValueError(f"dev_fraction must be in [0, 1), got {dev_fraction}")
    train, dev = [], []
    for text in texts:
        (dev if unit_hash(text.id) < dev_fraction else train).append(text)
    return train, dev


def data_digest(texts: Iterable[LabelledText]) -> str:
    """sha256 of the documents as trained on (id, text, labels, in order): the record's data
    hash, the same for the same data whichever file or format it came from."""
    digest = hashlib.sha256()
    for text in texts:
        item = [text.id, text.text, list(text.labels)]
        digest.update(json.dumps(item, ensure_ascii=False).encode("utf-8") + b"\n")
    return digest.hexdigest()
