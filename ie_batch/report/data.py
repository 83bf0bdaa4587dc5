"""What `ie-batch report` shows, read from a job's output folder (a local path or s3://)
through its `OutputLayout`: only committed shards count, as for every other reader.

- the job: `_job.json` (model, prompt format, schemas, text and id columns) and `summary.json`;
- per shard: its marker and `metrics/<shard>.json`; failed shards from the summary, while their
  failure record is still there;
- the task totals, summed from the shards' counts (never averaged);
- per type (entity type, relation, event type, event type and role) P/R/F1, which no metrics
  file holds: the result and gold columns of the committed parts are scored again, by IEPile's
  exact-match rules, on the tasks each shard was scored on; classes come from the metrics;
- the error sidecars grouped by reason, the bad cases, and a sample of documents spread evenly
  over the committed rows, with every span the job extracted from them.
"""

from __future__ import annotations

import posixpath
import re
from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ie_batch.config import StorageConfig
from ie_batch.io.layout import OutputLayout
from ie_batch.io.manifest import Manifest
from ie_batch.io.shards import is_safe_name
from ie_batch.io.storage import redact
from ie_batch.io.writing import read_jsonl
from ie_batch.job.columns import GOLD_NAMES, ROW_COLUMN
from ie_batch.metrics import (
    ClassificationCounts,
    ColumnShapeError,
    Counts,
    Evaluation,
    GoldLabels,
    argument_tuples,
    entity_tuples,
    gold_from_row,
    gold_labels,
    match_counts,
    relation_tuples,
    trigger_tuples,
)
from ie_batch.results import DocumentResult
from ie_batch.schema.model import TaskKind

#: Documents shown with their spans unless asked otherwise.
DEFAULT_SAMPLE = 20
#: Bad cases listed at most (the page says how many there are).
SHOWN_BAD_CASES = 200
#: Rows named per error reason.
EXAMPLES_PER_REASON = 3
#: Extraction score keys, the task each belongs to, and the type a tuple of it is scored under.
TYPE_KEYS: dict[str, tuple[TaskKind, Callable[[DocumentResult], list[tuple[str, ...]]], str]] = {
    "ner": (TaskKind.NER, lambda r: entity_tuples(r.entities), "entity type"),
    "re": (TaskKind.RE, lambda r: relation_tuples(r.relations), "relation"),
    "ee_trigger": (TaskKind.EE, lambda r: trigger_tuples(r.events), "event type"),
    "ee_argument": (TaskKind.EE, lambda r: argument_tuples(r.events), "event type / role"),
}
_RESULT_COLUMNS = ("entities", "relations", "events")
_PART = re.compile(r"part-(\d+)-(\d+)\.parquet$")
# where a reason starts with a location (`path:line: ` or `shard row N: `), and numbers in it
_LOCATION = re.compile(r"^(?:\S+:\d+|\S+ row \d+): ")
_NUMBER = re.compile(r"\d+")


def type_of(key: str, item: tuple[str, ...]) -> str:
    """The type an extraction tuple is scored under (`metrics.extraction`'s tuple shapes)."""
    if key == "ner":
        return item[1]  # (text, type)
    if key == "re":
        return item[1]  # (subject, relation, object)
    if key == "ee_trigger":
        return item[0]  # (event type, trigger)
    return f"{item[0]} / {item[2]}"  # (event type, argument, role)


@dataclass
class ShardFigures:
    name: str
    state: str  # "committed" or "failed"
    path: str | None = None
    rows: int = 0
    error_rows: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    #: the metrics file's `tasks`: {score key: figures}
    tasks: dict[str, dict[str, Any]] = field(default_factory=dict)
    reason: str | None = None


@dataclass
class ErrorReason:
    """Error lines of one stage whose reasons differ only in locations and numbers."""

    stage: str
    reason: str  # the pattern: location dropped, numbers as '#'
    count: int = 0
    shards: set[str] = field(default_factory=set)
    #: (id, shard, row, the full reason) of the first few
    examples: list[tuple[Any, str, Any, str]] = field(default_factory=list)


@dataclass(frozen=True)
class Span:
    """One extracted span of a document: an entity, a relation's subject or object, an event's
    trigger or argument. `start`/`end` are character offsets (None: not found in the text)."""

    kind: str  # "entity", "relation", "event"
    label: str  # the entity type, relation or event type
    role: str | None  # None, "subject"/"object", "trigger"/an argument role
    text: str
    start: int | None
    end: int | None
    #: which relation or event of the document the span belongs to (0-based), None for entities
    group: int | None = None
    #: True/False when gold for the task says whether the span's tuple is in it, else None
    in_gold: bool | None = None

    @property
    def located(self) -> bool:
        return self.start is not None and self.end is not None


@dataclass
class SampleDocument:
    shard: str
    row: int
    id: str
    text: str | None
    spans: list[Span]
    labels: list[str]
    gold_labels: list[str] | None
    #: gold tuples the job did not find, per score key ("ner": [("Berlin", "location")])
    missed: dict[str, list[tuple[str, ...]]]
    errors: list[str]
    warnings: list[str]


@dataclass
class ReportData:
    output: str
    job: dict[str, Any]
    summary: dict[str, Any] | None
    shards: list[ShardFigures]
    #: {score key: figures} summed over the committed shards (as in a metrics file)
    totals: dict[str, dict[str, Any]]
    #: {score key: {type: counts}}; classification per class is in `totals`
    per_type: dict[str, dict[str, Counts]]
    errors: list[ErrorReason]
    error_lines: int
    bad_cases: list[dict[str, Any]]
    bad_case_count: int
    samples: list[SampleDocument]
    sampled_from: int

    @property
    def committed(self) -> list[ShardFigures]:
        return [shard for shard in self.shards if shard.state == "committed"]

    @property
    def failed(self) -> list[ShardFigures]:
        return [shard for shard in self.shards if shard.state == "failed"]


def read_report_data(
    output: str, storage: StorageConfig | None = None, sample: int = DEFAULT_SAMPLE
) -> ReportData:
    """Everything the page shows; FileNotFoundError when no ie_batch job wrote to `output`."""
    layout = OutputLayout.open(output, storage)
    record = layout.read_json(layout.job_record_path)
    if record is None:
        raise FileNotFoundError(f"{redact(output)}: no ie_batch job wrote here (no _job.json)")
    config = record.get("config") or {}
    inputs = config.get("input") or {}
    text_column = inputs.get("text_column") or "text"
    # a marker whose name is no safe path segment (only an older version wrote one) names no
    # files the layout can open; the next run of the job redoes its shard
    entries = sorted(
        (entry for entry in Manifest(layout).entries() if is_safe_name(entry.get("name", ""))),
        key=lambda entry: entry["name"],
    )
    summary = layout.read_json(layout.summary_path)
    shards = [_committed(layout, entry) for entry in entries]
    committed = {shard.name for shard in shards}
    for name in sorted((summary or {}).get("shards_failed") or {}):
        reason = layout.failure(name) if name not in committed else None
        if reason is not None:
            shards.append(ShardFigures(name, "failed", reason=reason))
    tasks_of = {shard.name: shard.tasks for shard in shards}
    errors, error_lines = _error_reasons(layout, committed)
    bad_cases, bad_case_count = _bad_cases(layout, committed)
    sizes = [(entry["name"], int(entry.get("result_rows") or 0)) for entry in entries]
    return ReportData(
        output=redact(output),
        job={
            "fingerprint": record.get("fingerprint"),
            "started_at": record.get("started_at"),
            "model": (config.get("engine") or {}).get("model"),
            "prompt_format": (config.get("prompt") or {}).get("format"),
            "schemas": [_schema_name(ref) for ref in config.get("schemas") or []],
            "inputs": [redact(str(path)) for path in inputs.get("paths") or []],
            "text_column": text_column,
        },
        summary=summary,
        shards=shards,
        totals=_totals(shards),
        per_type=_per_type(layout, tasks_of),
        errors=errors,
        error_lines=error_lines,
        bad_cases=bad_cases,
        bad_case_count=bad_case_count,
        samples=_samples(layout, sizes, sample, text_column, tasks_of),
        sampled_from=sum(rows for _, rows in sizes),
    )


def _schema_name(ref: Any) -> str:
    if isinstance(ref, dict):
        name = str(ref.get("schema"))
        shards = ref.get("shards") or ["*"]
        return name if shards == ["*"] else f"{name} (shards {', '.join(map(str, shards))})"
    return str(ref)


def _committed(layout: OutputLayout, entry: dict[str, Any]) -> ShardFigures:
    metrics = layout.read_json(layout.metrics_path(entry["name"])) or {}
    return ShardFigures(
        name=entry["name"],
        state="committed",
        path=entry.get("path"),
        rows=int(metrics.get("rows", entry.get("result_rows") or 0)),
        error_rows=int(metrics.get("error_rows", entry.get("error_rows") or 0)),
        prompt_tokens=int(metrics.get("prompt_tokens") or 0),
        completion_tokens=int(metrics.get("completion_tokens") or 0),
        seconds=float(metrics.get("seconds") or 0.0),
        tasks=metrics.get("tasks") or {},
    )


def _totals(shards: Iterable[ShardFigures]) -> dict[str, dict[str, Any]]:
    """The job's figures per task from the committed shards' summed counts."""
    total = Evaluation()
    for shard in shards:
        if shard.state != "committed":
            continue
        evaluation = Evaluation()
        for key, figures in shard.tasks.items():
            if key == "classification":
                evaluation.classification = ClassificationCounts.from_dict(figures)
            else:
                evaluation.extraction[key] = Counts.from_dict(figures)
        total += evaluation
    return total.metrics()


# Per-type scores


def _scored_keys(tasks: dict[str, Any]) -> set[str]:
    """The extraction score keys a shard was scored on (its metrics file's tasks)."""
    return {key for key in tasks if key in TYPE_KEYS}


def _per_type(
    layout: OutputLayout, tasks_of: dict[str, dict[str, Any]]
) -> dict[str, dict[str, Counts]]:
    """Per-type counts over the committed rows with gold. Within a shard every row was asked
    the same schemas, so a row is scored on the tasks its gold covers among those its shard
    was scored on: the tasks the job's scorer scored it on."""
    per_type: dict[str, dict[str, Counts]] = {}
    for shard, tasks in tasks_of.items():
        keys = _scored_keys(tasks)
        if not keys:
            continue
        for path in layout.data_parts(shard):
            for predicted, gold in _gold_rows(layout, path):
                for key in keys:
                    kind, tuples, _ = TYPE_KEYS[key]
                    if kind not in gold.tasks:
                        continue
                    scores = per_type.setdefault(key, {})
                    for label, counts in type_counts(key, tuples(predicted), tuples(gold.result)):
                        scores[label] = scores.get(label, Counts()) + counts
    return {key: dict(sorted(scores.items())) for key, scores in per_type.items()}


def type_counts(
    key: str, predicted: Sequence[tuple[str, ...]], gold: Sequence[tuple[str, ...]]
) -> Iterator[tuple[str, Counts]]:
    """Match counts per type: a tuple carries its type, so it only ever matches a gold tuple of
    the same type, and the per-type counts add up to the task's micro counts."""
    by_type: dict[str, tuple[list[Hashable], list[Hashable]]] = {}
    for side, items in ((0, predicted), (1, gold)):
        for item in items:
            by_type.setdefault(type_of(key, item), ([], []))[side].append(item)
    for label, (pred, gold_items) in by_type.items():
        yield label, match_counts(pred, gold_items)


def _gold_rows(layout: OutputLayout, path: str) -> Iterator[tuple[DocumentResult, GoldLabels]]:
    """(prediction, gold) of each row of a part that has gold; a row whose gold column has no
    valid shape was not scored (its error says so) and is left out here too."""
    with layout.fs.open(path, "rb") as handle:
        parquet = pq.ParquetFile(handle)
        names = parquet.schema_arrow.names
        gold_columns = [n for n in names if n.startswith("gold_") and n[5:] in GOLD_NAMES]
        if not gold_columns:
            return
        columns = [name for name in _RESULT_COLUMNS if name in names] + gold_columns
        table = parquet.read(columns=columns)
    for row in table.to_pylist():
        try:
            gold = gold_from_row({name[5:]: row[name] for name in gold_columns})
        except ColumnShapeError:
            continue
        if gold is not None:
            yield DocumentResult.from_row(row), gold


# Errors and bad cases


def reason_pattern(reason: str) -> str:
    """A reason without its location and with numbers as '#', so the same failure on many rows
    (`news.jsonl:4: not valid JSON (... column 1)`) counts as one reason."""
    return _NUMBER.sub("#", _LOCATION.sub("", reason, count=1))


def _error_reasons(layout: OutputLayout, shards: Iterable[str]) -> tuple[list[ErrorReason], int]:
    grouped: dict[tuple[str, str], ErrorReason] = {}
    lines = 0
    for shard in sorted(shards):
        for path in layout.error_parts(shard):
            for line in read_jsonl(layout.fs, path):
                lines += 1
                stage, reason = str(line.get("stage")), str(line.get("reason"))
                key = (stage, reason_pattern(reason))
                group = grouped.setdefault(key, ErrorReason(stage, key[1]))
                group.count += 1
                group.shards.add(shard)
                if len(group.examples) < EXAMPLES_PER_REASON:
                    group.examples.append((line.get("id"), shard, line.get("row"), reason))
    ranked = sorted(grouped.values(), key=lambda group: (-group.count, group.stage, group.reason))
    return ranked, lines


def _bad_cases(layout: OutputLayout, shards: Iterable[str]) -> tuple[list[dict[str, Any]], int]:
    shown: list[dict[str, Any]] = []
    count = 0
    for shard in sorted(shards):
        path = layout.badcases_path(shard)
        if not layout.fs.exists(path):
            continue
        for case in read_jsonl(layout.fs, path):
            count += 1
            if len(shown) < SHOWN_BAD_CASES:
                shown.append({**case, "shard": shard})
    return shown, count


# The sample of documents


def sample_positions(total: int, sample: int) -> list[int]:
    """`sample` row positions spread evenly over `total` rows (all of them when fewer)."""
    if sample <= 0 or total <= 0:
        return []
    if total <= sample:
        return list(range(total))
    return sorted({int((i + 0.5) * total / sample) for i in range(sample)})


def _samples(
    layout: OutputLayout,
    sizes: list[tuple[str, int]],
    sample: int,
    text_column: str,
    tasks_of: dict[str, dict[str, Any]],
) -> list[SampleDocument]:
    """The documents at evenly spread positions over the committed shards' rows, in order."""
    wanted: dict[str, set[int]] = {}
    positions = iter(sample_positions(sum(rows for _, rows in sizes), sample))
    position = next(positions, None)
    first = 0
    for shard, rows in sizes:
        while position is not None and position < first + rows:
            wanted.setdefault(shard, set()).add(position - first)
            position = next(positions, None)
        first += rows
    documents = []
    for shard, rows in wanted.items():
        keys = _scored_keys(tasks_of.get(shard, {}))
        classified = "classification" in tasks_of.get(shard, {})
        found = [
            _document(shard, row, text_column, keys, classified)
            for path in layout.data_parts(shard)
            for row in _read_rows(layout, path, rows)
        ]
        documents.extend(sorted(found, key=lambda document: document.row))
    return documents


def _read_rows(layout: OutputLayout, path: str, rows: set[int]) -> list[dict[str, Any]]:
    """The rows of a part with these row numbers, reading only the row groups that hold them
    (the part's name, then its `_row` statistics, say which)."""
    named = _PART.search(posixpath.basename(path))
    if named and not any(int(named[1]) <= row <= int(named[2]) for row in rows):
        return []
    with layout.fs.open(path, "rb") as handle:
        parquet = pq.ParquetFile(handle)
        metadata = parquet.metadata
        # a leaf column's index (nested result columns take several), not the Arrow field's
        leaves = [metadata.schema.column(i).path for i in range(metadata.num_columns)]
        position = leaves.index(ROW_COLUMN) if ROW_COLUMN in leaves else None
        groups = []
        for index in range(metadata.num_row_groups):
            stats = (
                None if position is None else metadata.row_group(index).column(position).statistics
            )
            if stats is None or not stats.has_min_max:
                groups.append(index)
            elif any(stats.min <= row <= stats.max for row in rows):
                groups.append(index)
        if not groups:
            return []
        table = parquet.read_row_groups(groups)
    wanted = pa.array(sorted(rows), pa.int64())
    return table.filter(pc.is_in(table.column(ROW_COLUMN), value_set=wanted)).to_pylist()


def _document(
    shard: str, row: dict[str, Any], text_column: str, keys: set[str], classified: bool
) -> SampleDocument:
    text = row.get(text_column)
    result = DocumentResult.from_row(row)
    gold_columns = {
        n[5:]: v for n, v in row.items() if n.startswith("gold_") and n[5:] in GOLD_NAMES
    }
    try:
        gold = gold_from_row(gold_columns)
    except ColumnShapeError:
        gold = None
    scored = {key for key in keys if gold is not None and TYPE_KEYS[key][0] in gold.tasks}
    unmatched: dict[str, Counter[tuple[str, ...]]] = {
        key: Counter(TYPE_KEYS[key][1](gold.result)) for key in scored if gold is not None
    }

    def in_gold(key: str, item: tuple[str, ...]) -> bool | None:
        if key not in unmatched:
            return None
        if unmatched[key][item] > 0:  # each gold tuple matches once, as when scored
            unmatched[key][item] -= 1
            return True
        return False

    spans = [
        Span("entity", e.type, None, e.text, e.start, e.end, None, in_gold("ner", (e.text, e.type)))
        for e in result.entities
    ]
    for number, r in enumerate(result.relations):
        matched = in_gold("re", (r.subject, r.relation, r.object))
        spans.append(
            Span(
                "relation",
                r.relation,
                "subject",
                r.subject,
                r.subject_start,
                r.subject_end,
                number,
                matched,
            )
        )
        spans.append(
            Span(
                "relation",
                r.relation,
                "object",
                r.object,
                r.object_start,
                r.object_end,
                number,
                matched,
            )
        )
    for number, event in enumerate(result.events):
        trigger = in_gold("ee_trigger", (event.type, event.trigger))
        spans.append(
            Span(
                "event",
                event.type,
                "trigger",
                event.trigger,
                event.trigger_start,
                event.trigger_end,
                number,
                trigger,
            )
        )
        for argument in event.arguments:
            matched = in_gold("ee_argument", (event.type, argument.text, argument.role))
            spans.append(
                Span(
                    "event",
                    event.type,
                    argument.role,
                    argument.text,
                    argument.start,
                    argument.end,
                    number,
                    matched,
                )
            )
    gold_classes = None
    if classified and gold is not None and TaskKind.CLASSIFICATION in gold.tasks:
        gold_classes = list(gold_labels(gold.result.labels))
    return SampleDocument(
        shard=shard,
        row=int(row[ROW_COLUMN]),
        id=str(row.get("id")),
        text=text if isinstance(text, str) else None,
        spans=spans,
        labels=[label.label for label in result.labels],
        gold_labels=gold_classes,
        missed={key: sorted((+left).elements()) for key, left in unmatched.items() if +left},
        errors=list(row.get("errors") or []),
        warnings=list(row.get("warnings") or []),
    )
