"""Find where each extracted span sits in the input text (character offsets, end exclusive).

Offsets are what make a span checkable: a span the text does not contain was invented (or
paraphrased) by the model. Matching goes from strict to loose: exact, then ignoring case, width
(NFKC) and runs of whitespace, then ignoring whitespace altogether (Chinese text often gains or
loses spaces between characters). A span found by a loose match takes the text's own spelling,
so `text[start - offset:end - offset] == span` holds for every grounded span.

Whole words only, where words are separated by spaces: an occurrence that starts or ends inside a
word ("Cunning" in "Cunningham") is not one, since a model that copies a name copies all of it; in
scripts written without spaces between words (Chinese, Japanese, Thai) any occurrence counts.

Which occurrence: the nth copy of the same entity (type and text) in an answer is the nth
occurrence in the text, so a name mentioned three times is found three times, not once; the
same holds for event triggers and for repeated relations. A trigger or subject that a first
stage already placed (a second stage's anchor) stays where it was placed. An
argument is placed at its occurrence nearest to its event's trigger, a relation's object nearest
to its subject: the parts of one record are usually written close together.
"""

from __future__ import annotations

import dataclasses
import unicodedata
from collections import defaultdict
from collections.abc import Hashable

from ie_batch.parsing.records import SliceRecords, listed
from ie_batch.results import Entity, Event, EventArgument, Relation

Span = tuple[int, int]


def ground_records(
    records: SliceRecords, text: str, keep_ungrounded: bool = True, offset: int = 0
) -> SliceRecords:
    """`records` with offsets filled in from `text`; offsets are `offset + position in text`.

    A span not in the text keeps None offsets and is counted in `ungrounded`. With
    `keep_ungrounded=False` records whose main span is missing are dropped (an entity; a
    relation missing its subject or object; an event missing its trigger), and so are
    arguments that are missing; `dropped` counts them and a warning lists them (a warning, not
    an error: the job asked for the filter, and the row is complete).
    """
    pass_ = _Pass(_Grounder(text or "", offset), keep_ungrounded)
    entities = pass_.entities(records.entities)
    relations = pass_.relations(records.relations)
    events = pass_.events(records.events)
    warnings = list(records.warnings)
    if pass_.dropped:
        warnings.append(
            f"slice {records.key}: dropped {pass_.dropped} record(s) or argument(s) whose spans "
            f"are not in the text: {listed(pass_.lost)}"
        )
    return dataclasses.replace(
        records,
        entities=entities,
        relations=relations,
        events=events,
        labels=list(records.labels),
        errors=list(records.errors),
        warnings=warnings,
        ungrounded=records.ungrounded + len(pass_.lost),
        dropped=records.dropped + pass_.dropped,
    )


class _Pass:
    """One grounding pass over a slice's records: places spans and counts what it lost."""

    def __init__(self, grounder: _Grounder, keep_ungrounded: bool) -> None:
        self.grounder = grounder
        self.keep = keep_ungrounded
        self.lost: list[str] = []  # texts of spans not found, kept or dropped
        self.dropped = 0

    def missing(self, *texts: str) -> bool:
        """Note a record's spans that are not in the text; True when it is to be dropped."""
        self.lost.extend(texts)
        if self.keep:
            return False
        self.dropped += 1
        return True

    def entities(self, entities: list[Entity]) -> list[Entity]:
        g = self.grounder
        claims = _Claims()
        # Longer spans claim first, so "Allenby" is not placed inside "Robert Allenby".
        spans: dict[int, Span | None] = {}
        for index in sorted(range(len(entities)), key=lambda i: -len(entities[i].text)):
            entity = entities[index]
            spans[index] = claims.take((entity.type, entity.text), g.occurrences(entity.text))
        grounded: list[Entity] = []
        for index, entity in enumerate(entities):
            span = spans[index]
            if span is None:
                if not self.missing(entity.text):
                    grounded.append(dataclasses.replace(entity, start=None, end=None))
                continue
            grounded.append(Entity(entity.type, g.spelling(span), *g.shift(span)))
        return grounded

    def relations(self, relations: list[Relation]) -> list[Relation]:
        g = self.grounder
        claims = _Claims()
        grounded: list[Relation] = []
        for relation in relations:
            key = (relation.relation, relation.subject, relation.object)
            subject = g.placed(relation.subject_start, relation.subject_end) or claims.take(
                key, g.occurrences(relation.subject)
            )
            obj = g.nearest(relation.object, subject)
            parts = ((relation.subject, subject), (relation.object, obj))
            absent = [text for text, span in parts if span is None]
            if absent and self.missing(*absent):
                continue
            subject_start, subject_end = g.shift(subject)
            object_start, object_end = g.shift(obj)
            grounded.append(
                Relation(
                    subject=g.spelling(subject) or relation.subject,
                    relation=relation.relation,
                    object=g.spelling(obj) or relation.object,
                    subject_start=subject_start,
                    subject_end=subject_end,
                    object_start=object_start,
                    object_end=object_end,
                )
            )
        return grounded

    def events(self, events: list[Event]) -> list[Event]:
        g = self.grounder
        claims = _Claims()
        grounded: list[Event] = []
        for event in events:
            trigger = g.placed(event.trigger_start, event.trigger_end) or claims.take(
                (event.type, event.trigger), g.occurrences(event.trigger)
            )
            if trigger is None and self.missing(event.trigger):
                continue
            arguments: list[EventArgument] = []
            for argument in event.arguments:
                span = g.nearest(argument.text, trigger)
                if span is None:
                    if not self.missing(argument.text):
                        arguments.append(dataclasses.replace(argument, start=None, end=None))
                    continue
                arguments.append(EventArgument(argument.role, g.spelling(span), *g.shift(span)))
            start, end = g.shift(trigger)
            grounded.append(
                Event(
                    type=event.type,
                    trigger=g.spelling(trigger) or event.trigger,
                    trigger_start=start,
                    trigger_end=end,
                    arguments=tuple(arguments),
                )
            )
        return grounded


class _Grounder:
    """Where spans occur in one text; each span is searched once, the loose forms built lazily."""

    def __init__(self, text: str, offset: int) -> None:
        self.text = text
        self.offset = offset
        self._occurrences: dict[str, list[Span]] = {}
        self._loose: tuple[str, list[int]] | None = None
        self._spaceless: tuple[str, list[int]] | None = None

    def placed(self, start: int | None, end: int | None) -> Span | None:
        """The span at document offsets a first stage already grounded (a second stage's
        trigger or subject), when it lies in this text; None otherwise."""
        if start is None or end is None:
            return None
        span = (start - self.offset, end - self.offset)
        return span if 0 <= span[0] < span[1] <= len(self.text) else None

    def shift(self, span: Span | None) -> tuple[int | None, int | None]:
        return (None, None) if span is None else (span[0] + self.offset, span[1] + self.offset)

    def spelling(self, span: Span | None) -> str | None:
        return None if span is None else self.text[span[0] : span[1]]

    def nearest(self, needle: str, anchor: Span | None) -> Span | None:
        found = self.occurrences(needle)
        if not found:
            return None
        if anchor is None:
            return found[0]
        return min(found, key=lambda span: abs(span[0] - anchor[0]))

    def occurrences(self, needle: str) -> list[Span]:
        """Every non-overlapping occurrence, from the strictest match level that finds one."""
        if needle not in self._occurrences:
            self._occurrences[needle] = self._find(needle)
        return self._occurrences[needle]

    def _find(self, needle: str) -> list[Span]:
        needle = needle.strip()
        if not needle:
            return []
        exact = self._whole_words(
            [(start, start + len(needle)) for start in _find_all(self.text, needle)]
        )
        if exact:
            return exact
        if self._loose is None:
            self._loose = _normalise(self.text, keep_spaces=True)
        loose = self._whole_words(_mapped(self._loose, _normalise(needle, keep_spaces=True)[0]))
        if loose:
            return loose
        if self._spaceless is None:
            self._spaceless = _normalise(self.text, keep_spaces=False)
        return self._whole_words(_mapped(self._spaceless, _normalise(needle, keep_spaces=False)[0]))

    def _whole_words(self, spans: list[Span]) -> list[Span]:
        """The spans that neither start nor end inside a space-separated word."""
        text = self.text
        return [
            (start, end)
            for start, end in spans
            if not (start > 0 and _joined(text[start - 1], text[start]))
            and not (end < len(text) and _joined(text[end - 1], text[end]))
        ]


class _Claims:
    """Which occurrences earlier copies took, so the nth copy of a span gets the nth occurrence.

    An occurrence inside a longer span claimed under another key is passed over while a free
    one remains: in "Robert Allenby ... Allenby won", a second entity "Allenby" is the later
    mention, not the surname inside the first. Nested spans still ground when nothing else fits,
    and copies beyond the text's occurrences repeat the first (merging then drops them).
    """

    def __init__(self) -> None:
        self._taken: defaultdict[Hashable, list[Span]] = defaultdict(list)

    def take(self, key: Hashable, found: list[Span]) -> Span | None:
        if not found:
            return None
        mine = self._taken[key]
        others = [span for other, spans in self._taken.items() if other != key for span in spans]
        unclaimed = [span for span in found if span not in mine]
        free = [span for span in unclaimed if not any(_inside(span, o) for o in others)]
        span = (free or unclaimed or found)[0]
        mine.append(span)
        return span


#: Scripts whose words are not separated by spaces, and Hangul, whose particles attach to the
#: name ("서울에서"): inside them any occurrence is a whole word. Ranges: Thai, Lao, Tibetan,
#: Myanmar, Hangul Jamo, Khmer; CJK radicals to Yi (kana, CJK ideographs, ...); Hangul
#: syllables; CJK compatibility ideographs; halfwidth and fullwidth forms; CJK extension planes.
_UNSPACED = (
    (0x0E00, 0x0FFF),
    (0x1000, 0x11FF),
    (0x1780, 0x17FF),
    (0x2E80, 0xA4CF),
    (0xAC00, 0xD7AF),
    (0xF900, 0xFAFF),
    (0xFF00, 0xFFEF),
    (0x20000, 0x3FFFF),
)


def _joined(left: str, right: str) -> bool:
    """Whether two adjacent characters belong to one word of a space-separated script."""
    return _word_character(left) and _word_character(right)


def _word_character(char: str) -> bool:
    if not char.isalnum():
        return False
    code = ord(char)
    return not any(low <= code <= high for low, high in _UNSPACED)


def _inside(span: Span, other: Span) -> bool:
    return span != other and other[0] <= span[0] and span[1] <= other[1]


def _find_all(haystack: str, needle: str) -> list[int]:
    starts: list[int] = []
    position = haystack.find(needle)
    while position >= 0:
        starts.append(position)
        position = haystack.find(needle, position + len(needle))
    return starts


def _mapped(normalised: tuple[str, list[int]], needle: str) -> list[Span]:
    """Occurrences of `needle` in a normalised text, as spans of the original text."""
    text, origin = normalised
    if not needle:
        return []
    return [(origin[s], origin[s + len(needle) - 1] + 1) for s in _find_all(text, needle)]


def _normalise(text: str, keep_spaces: bool) -> tuple[str, list[int]]:
    """Case-folded NFKC text with whitespace runs collapsed to one space (or removed).

    Returns the normalised text and, for each of its characters, the index of the original
    character it came from; one original character may become several (ß -> ss), so the
    mapping is kept per output character rather than computed from lengths.
    """
    out: list[str] = []
    origin: list[int] = []
    in_space = False
    for index, char in enumerate(text):
        if char.isspace():
            if keep_spaces and not in_space and out:
                out.append(" ")
                origin.append(index)
            in_space = True
            continue
        in_space = False
        for piece in unicodedata.normalize("NFKC", char).casefold():
            if piece.isspace():  # NFKC may turn a character into one with a space in it
                if keep_spaces and (not out or out[-1] != " "):
                    out.append(" ")
                    origin.append(index)
                continue
            out.append(piece)
            origin.append(index)
    return "".join(out), origin
