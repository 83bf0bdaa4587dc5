"""The review page: one self-contained HTML file (inline CSS, JS and SVG; nothing fetched).

Jinja2 renders it with autoescaping on for every template, whatever its name, so any text from
the data (documents, spans, ids, error reasons, shard names) is escaped; the one piece of markup
built here, a document's text with its spans highlighted, is built from escaped pieces with
`markupsafe` (`Markup.format` escapes its arguments).

A highlighted span is a `<mark>` whose text is exactly `text[start:end]`, at that place in the
document: spans with the same offsets share one mark, a span inside another is nested in it, and
a span that crosses another's boundary (neither inside nor apart) cannot be nested and is listed
under the document instead, as are spans without offsets.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup, escape

from ie_batch.report.data import TYPE_KEYS, ReportData, SampleDocument, Span

#: Colours in the stylesheet (`.c0` ... ), given to span labels in turn.
PALETTE_SIZE = 12
#: Score keys in the order the page shows them.
TASK_ORDER = ("ner", "re", "ee_trigger", "ee_argument", "classification")
TASK_NAMES = {
    "ner": "entities (NER)",
    "re": "relations (RE)",
    "ee_trigger": "event triggers (EE)",
    "ee_argument": "event arguments (EE)",
    "classification": "classification",
}


@dataclass
class Mark:
    """A highlighted range of a document and the spans that have exactly these offsets."""

    start: int
    end: int
    spans: list[Span]
    children: list[Mark] = field(default_factory=list)


@dataclass
class Highlighted:
    """A document's text as markup, and the spans that could not be marked in it."""

    html: Markup
    crossing: list[Span]
    unlocated: list[Span]
    marks: int


def nest_marks(text: str, spans: Iterable[Span]) -> tuple[list[Mark], list[Span], list[Span]]:
    """(top-level marks with their nested ones, crossing spans, spans without usable offsets).
    Offsets outside the text or empty ranges count as unusable: they mark nothing."""
    unlocated: list[Span] = []
    by_range: dict[tuple[int, int], Mark] = {}
    for span in spans:
        if not span.located or not 0 <= span.start < span.end <= len(text):  # type: ignore[operator]
            unlocated.append(span)
            continue
        key = (span.start, span.end)
        by_range.setdefault(key, Mark(span.start, span.end, [])).spans.append(span)  # type: ignore[arg-type]
    roots: list[Mark] = []
    crossing: list[Span] = []
    open_marks: list[Mark] = []
    for mark in sorted(by_range.values(), key=lambda m: (m.start, -m.end)):
        while open_marks and open_marks[-1].end <= mark.start:
            open_marks.pop()
        if open_marks and mark.end > open_marks[-1].end:
            crossing.extend(mark.spans)
            continue
        (open_marks[-1].children if open_marks else roots).append(mark)
        open_marks.append(mark)
    return roots, crossing, unlocated


def highlight(text: str, spans: Sequence[Span], colours: dict[str, int]) -> Highlighted:
    roots, crossing, unlocated = nest_marks(text, spans)
    pieces: list[Markup] = []
    count = 0

    def emit(start: int, end: int, marks: list[Mark]) -> None:
        nonlocal count
        position = start
        for mark in marks:
            pieces.append(escape(text[position : mark.start]))
            labels = list(dict.fromkeys(span_key(span) for span in mark.spans))
            pieces.append(
                Markup(
                    '<mark class="span c{}" data-start="{}" data-end="{}" data-labels="{}" '
                    'data-tip="{}" tabindex="0">'
                ).format(
                    colours.get(labels[0], 0),
                    mark.start,
                    mark.end,
                    json.dumps(labels, ensure_ascii=False),
                    "\n\n".join(tip(span, text) for span in mark.spans),
                )
            )
            count += 1
            emit(mark.start, mark.end, mark.children)
            pieces.append(Markup("</mark>"))
            position = mark.end
        pieces.append(escape(text[position:end]))

    emit(0, len(text), roots)
    return Highlighted(Markup("").join(pieces), crossing, unlocated, count)


def span_key(span: Span) -> str:
    """What a span is coloured and filtered by: its kind and label."""
    return f"{span.kind}: {span.label}"


def span_role(span: Span) -> str:
    if span.kind == "entity":
        return "entity"
    return f"{span.kind} #{(span.group or 0) + 1} {span.role}"


def tip(span: Span, text: str) -> str:
    """What hovering a span shows: its type, its place and the source slice."""
    lines = [f"{span.label} · {span_role(span)}"]
    if span.located:
        source = text[span.start : span.end]
        lines.append(f"characters {span.start}–{span.end}: “{source}”")
        if source != span.text:
            lines.append(f"extracted as “{span.text}”")
    if span.in_gold is not None:
        lines.append("in gold" if span.in_gold else "not in gold")
    return "\n".join(lines)


def _colours(samples: Sequence[SampleDocument]) -> dict[str, int]:
    keys = sorted({span_key(span) for document in samples for span in document.spans})
    return {key: index % PALETTE_SIZE for index, key in enumerate(keys)}


def _environment() -> Environment:
    environment = Environment(
        loader=PackageLoader("ie_batch.report", "templates"),
        autoescape=True,  # every template, whatever its suffix
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["ratio"] = lambda value: f"{float(value or 0):.3f}"
    environment.filters["count"] = lambda value: f"{int(value or 0):,}"
    environment.filters["tojson_attr"] = lambda value: json.dumps(value, ensure_ascii=False)
    return environment


def _tasks(data: ReportData) -> list[str]:
    seen = {key for shard in data.committed for key in shard.tasks} | set(data.totals)
    return [key for key in TASK_ORDER if key in seen]


def render_report(data: ReportData, generated_at: datetime | None = None) -> str:
    """The page for `data`, as one HTML document."""
    colours = _colours(data.samples)
    documents: list[dict[str, Any]] = []
    for document in data.samples:
        marked = highlight(document.text, document.spans, colours) if document.text else None
        documents.append({"doc": document, "marked": marked})
    legend = sorted(colours.items())
    template = _environment().get_template("report.html.j2")
    return template.render(
        data=data,
        generated_at=(generated_at or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M UTC"),
        tasks=_tasks(data),
        task_names=TASK_NAMES,
        type_names={key: value[2] for key, value in TYPE_KEYS.items()},
        documents=documents,
        legend=legend,
        span_role=span_role,
        span_key=span_key,
        colours=colours,
    )
