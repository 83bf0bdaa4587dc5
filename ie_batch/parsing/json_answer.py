"""Find the JSON in a model's answer, whatever the model wrapped around it or cut off.

Structured outputs make most answers valid JSON, but not all engines support them, small models
add prose or code fences, answer in Python literals, and run out of tokens mid-answer. One bad
answer must never stop a batch, so `extract_json` never raises: it returns a value, or None
with the reason.

Repair is left to `json_repair`. What it does not do well is decided here, before it runs:
where the JSON starts and ends in the surrounding text, quoted strings with stray quotes inside
(`'Tim O'Gorman'`), and truncation. For truncation the rule is to keep only complete items:
`{"person": ["John", "Ma` gives `{"person": ["John"]}`, because a half span (`"Ma"`) would be
grounded or scored as if the model had meant it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import json_repair

#: How many `{` / `[` positions are tried as the start of the JSON; answers are short, and a
#: pathological answer full of brackets should cost microseconds, not quadratic time.
MAX_CANDIDATES = 32

_FENCE = re.compile(
    r"```[ \t]*(?:json|JSON|javascript|js|python)?[ \t]*\n?(.*?)(?:```|\Z)", re.DOTALL
)
_OPENERS = "{["
_CLOSERS = "}]"
#: After a closing quote, only these may follow (past whitespace); anything else means the
#: quote was part of the text, as in `'Tim O'Gorman'` or `"say "hi" now"`.
_AFTER_STRING = ",:]}"


@dataclass(frozen=True)
class JsonAnswer:
    """The JSON value found in an answer.

    `value` is None exactly when `error` says why. `repaired` is True when the answer was not
    valid JSON as written; `truncated` when it ended inside the JSON (the model ran out of
    tokens) and incomplete trailing items were dropped: worth counting, since it usually means
    the generation limit is too low.
    """

    value: Any | None
    error: str | None = None
    repaired: bool = False
    truncated: bool = False


@dataclass(frozen=True)
class _Region:
    """One bracketed stretch of the answer, rewritten into something json_repair reads well."""

    start: int
    end: int  # end of the stretch in the source text (exclusive)
    text: str  # the stretch with every string re-quoted as JSON, cut back if truncated
    truncated: bool


def extract_json(answer: str) -> JsonAnswer:
    """The JSON value in `answer`; never raises."""
    if not isinstance(answer, str):
        return JsonAnswer(None, f"expected the answer as text, got {type(answer).__name__}")
    stripped = answer.strip()
    if not stripped:
        return JsonAnswer(None, "empty answer")
    if stripped[0] in "{[":  # what constrained decoding gives: one JSON value, nothing around it
        try:
            return JsonAnswer(_unwrap(json.loads(stripped)))
        except ValueError:
            pass
    failure = JsonAnswer(None, "no JSON object in the answer")
    for area in _areas(answer):
        found = _from_area(area)
        if found is None:
            continue
        if found.value is not None:
            return found
        failure = found
    return failure


def _areas(answer: str) -> list[str]:
    """Where to look: inside code fences first (prose around them may hold brackets), then all."""
    fenced = [match.group(1) for match in _FENCE.finditer(answer) if match.group(1).strip()]
    return [*fenced, answer]


def _from_area(area: str) -> JsonAnswer | None:
    stripped = area.strip()
    if stripped[:1] not in ("{", "["):
        try:  # a bare JSON string or number: `"sports"`
            value = _unwrap(json.loads(stripped))
        except ValueError:
            pass
        else:
            return (
                JsonAnswer(value) if value is not None else JsonAnswer(None, "the answer is null")
            )
    regions = _regions(area)
    # The longest bracketed stretch is the answer; shorter ones are prose like "found [2] items".
    for region in sorted(regions, key=lambda r: r.end - r.start, reverse=True):
        if not region.truncated:
            try:
                return JsonAnswer(_unwrap(json.loads(area[region.start : region.end])))
            except ValueError:
                pass
        value = _repair(region.text)
        if isinstance(value, (dict, list)):
            return JsonAnswer(value, None, repaired=True, truncated=region.truncated)
    if regions:
        return JsonAnswer(None, "JSON in the answer could not be repaired")
    return None


def _unwrap(value: Any) -> Any:
    """A JSON string holding JSON (`"{\\"person\\": []}"`) is the JSON it holds."""
    if isinstance(value, str) and value.strip()[:1] in ("{", "["):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _repair(text: str) -> Any:
    try:
        return json_repair.repair_json(text, return_objects=True)
    except Exception:  # noqa: BLE001 - a repair library bug must not fail the batch
        return None


def _next_opener(text: str, position: int) -> int:
    hits = [i for i in (text.find(c, position) for c in _OPENERS) if i >= 0]
    return min(hits) if hits else -1


def _regions(area: str) -> list[_Region]:
    regions: list[_Region] = []
    position = 0
    while len(regions) < MAX_CANDIDATES:
        start = _next_opener(area, position)
        if start < 0:
            break
        region = _scan(area, start)
        regions.append(region)
        position = max(region.end, start + 1)
    return regions


def _closes_string(text: str, after: int) -> bool:
    """A quote ends its string only if what follows is structure (or the end of the answer)."""
    n = len(text)
    while after < n and text[after].isspace():
        after += 1
    return after == n or text[after] in _AFTER_STRING


def _scan(text: str, start: int) -> _Region:
    """Walk one bracketed value from `start`, re-quoting strings and noting safe cut points.

    A safe cut point is a place where everything before it is complete: after an opening
    bracket, a comma, a closing bracket or a value string (not a key: `{"a": ["x"], "b"` cut
    after `"b"` would leave a key without its value). If the text ends inside the value, it is
    cut back to the last safe point, so a half-written string, number or key never reaches
    repair (a half-written object does, with its complete members only).
    """
    out: list[str] = []
    length = 0  # len("".join(out)), kept as we go
    stack: list[list[Any]] = []  # [opener, expecting_key] per open container
    safe = 0
    i = start
    n = len(text)

    def emit(piece: str) -> None:
        nonlocal length
        out.append(piece)
        length += len(piece)

    while i < n:
        char = text[i]
        if char in "\"'":
            content, i, closed = _read_string(text, i)
            emit(json.dumps(content, ensure_ascii=False))
            if not closed:
                return _cut(out, safe, start, n)
            is_key = bool(stack) and stack[-1][0] == "{" and stack[-1][1]
            if not is_key:
                safe = length
            continue
        if char in _OPENERS:
            stack.append([char, char == "{"])
            emit(char)
            safe = length
        elif char in _CLOSERS:
            if stack:
                stack.pop()
            emit(char)
            safe = length
            if not stack:
                return _Region(start, i + 1, "".join(out), truncated=False)
        elif char == ",":
            if stack and stack[-1][0] == "{":
                stack[-1][1] = True
            emit(char)
            safe = length
        elif char == ":":
            if stack and stack[-1][0] == "{":
                stack[-1][1] = False
            emit(char)
        else:
            emit(char)
        i += 1
    return _cut(out, safe, start, n)


def _cut(out: list[str], safe: int, start: int, end: int) -> _Region:
    return _Region(start, end, "".join(out)[:safe], truncated=True)


def _read_string(text: str, start: int) -> tuple[str, int, bool]:
    """The string opened at `start`: its content, the index after it, and whether it closed."""
    quote = text[start]
    chars: list[str] = []
    i = start + 1
    n = len(text)
    while i < n:
        char = text[i]
        if char == "\\" and i + 1 < n:
            escaped = text[i + 1]
            if escaped in "\"'\\/":
                chars.append(escaped)
            elif escaped == "u" and _HEX4.fullmatch(text[i + 2 : i + 6]):
                chars.append(chr(int(text[i + 2 : i + 6], 16)))
                i += 6
                continue
            else:
                chars.append(_JSON_ESCAPES.get(escaped, "\\" + escaped))
            i += 2
            continue
        if char == quote and _closes_string(text, i + 1):
            return "".join(chars), i + 1, True
        chars.append(char)
        i += 1
    return "".join(chars), n, False


_HEX4 = re.compile(r"[0-9a-fA-F]{4}")
_JSON_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f"}
