"""One mode's figures, the table of all modes and the ratios the issue asks for.

Every mode is timed the same way: `seconds` runs from the first prompt handed to the engine to
the last answer back, so engine start (given apart, `engine_start_s`) and anything before the
first prompt stay out of the rates; `wall_s` is the whole mode, start included.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

MODES = {
    "a": "raw vLLM LLM.generate (job's prompts)",
    "b": "ie_batch job",
    "c": "ray.data.llm processor (job's prompts)",
    "d": "naive: one prompt per document",
}
#: (numerator, denominator) of the ratios printed, and the target for total tokens/s
RATIOS = {("b", "a"): 0.95, ("b", "c"): 1.05, ("b", "d"): None}


@dataclass
class ModeFigures:
    mode: str
    documents: int = 0
    prompts: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    #: None when the mode cannot tell (Ray Data LLM's rows do not carry the cached tokens)
    cached_tokens: int | None = 0
    seconds: float = 0.0
    engine_start_s: float | None = None
    wall_s: float = 0.0
    error_prompts: int = 0
    #: why the mode did not run (its figures are then zero)
    unavailable: str | None = None
    note: str = ""
    #: the machine's 1-minute load average as the mode started and ended (a shared machine)
    load: tuple[float, float] | None = None

    @property
    def name(self) -> str:
        return MODES[self.mode]

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def rate(self, amount: float) -> float | None:
        return amount / self.seconds if self.seconds > 0 and not self.unavailable else None

    @property
    def docs_per_s(self) -> float | None:
        return self.rate(self.documents)

    @property
    def generated_tokens_per_s(self) -> float | None:
        return self.rate(self.completion_tokens)

    @property
    def total_tokens_per_s(self) -> float | None:
        return self.rate(self.total_tokens)

    @property
    def prompts_per_doc(self) -> float | None:
        return self.prompts / self.documents if self.documents else None

    @property
    def tokens_per_doc(self) -> float | None:
        return self.total_tokens / self.documents if self.documents else None

    @property
    def prefix_cache_hit_rate(self) -> float | None:
        if self.cached_tokens is None or not self.prompt_tokens:
            return None
        return self.cached_tokens / self.prompt_tokens

    def to_dict(self) -> dict[str, Any]:
        derived = {
            "name": self.name,
            "docs_per_s": self.docs_per_s,
            "generated_tokens_per_s": self.generated_tokens_per_s,
            "total_tokens_per_s": self.total_tokens_per_s,
            "prompts_per_doc": self.prompts_per_doc,
            "tokens_per_doc": self.tokens_per_doc,
            "prefix_cache_hit_rate": self.prefix_cache_hit_rate,
        }
        return {**asdict(self), **{k: _round(v) for k, v in derived.items()}}


def _round(value: Any) -> Any:
    return round(value, 4) if isinstance(value, float) else value


def _cell(value: float | None, digits: int = 1) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def table(figures: list[ModeFigures]) -> str:
    """The Markdown table bench/README.md shows."""
    lines = [
        "| mode | docs | prompts/doc | tokens/doc | s | docs/s | gen tok/s | total tok/s "
        "| prefix hit | engine start s | wall s |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for f in figures:
        if f.unavailable:
            lines.append(f"| ({f.mode}) {f.name} | not available: {f.unavailable} |")
            continue
        lines.append(
            f"| ({f.mode}) {f.name} | {f.documents} | {_cell(f.prompts_per_doc, 2)} "
            f"| {_cell(f.tokens_per_doc, 0)} | {f.seconds:.1f} | {_cell(f.docs_per_s, 3)} "
            f"| {_cell(f.generated_tokens_per_s)} | {_cell(f.total_tokens_per_s)} "
            f"| {_cell(f.prefix_cache_hit_rate, 3)} | {_cell(f.engine_start_s)} | {f.wall_s:.1f} |"
        )
    return "\n".join(lines)


def ratios(figures: list[ModeFigures]) -> list[dict[str, Any]]:
    """(b)/(a), (b)/(c), (b)/(d) of docs/s, generated and total tokens/s, with the target for
    total tokens/s where the issue sets one."""
    by_mode = {f.mode: f for f in figures}
    out = []
    for (top, bottom), target in RATIOS.items():
        if top not in by_mode or bottom not in by_mode:
            continue
        num, den = by_mode[top], by_mode[bottom]
        row: dict[str, Any] = {"ratio": f"({top})/({bottom})", "target_total_tokens": target}
        for key in ("docs_per_s", "generated_tokens_per_s", "total_tokens_per_s"):
            a, b = getattr(num, key), getattr(den, key)
            row[key] = round(a / b, 3) if a is not None and b else None
        value = row["total_tokens_per_s"]
        row["met"] = None if target is None or value is None else value >= target
        if den.unavailable:
            row["why_none"] = f"({bottom}) not available"
        out.append(row)
    return out


def ratio_lines(rows: list[dict[str, Any]]) -> str:
    lines = []
    for row in rows:
        target = row["target_total_tokens"]
        verdict = ""
        if target is not None:
            met = row["met"]
            verdict = f"  target >= {target}: " + (
                "n/a" if met is None else "met" if met else "MISSED"
            )
        lines.append(
            f"{row['ratio']}: docs/s {_cell(row['docs_per_s'], 3)}, gen tok/s "
            f"{_cell(row['generated_tokens_per_s'], 3)}, total tok/s "
            f"{_cell(row['total_tokens_per_s'], 3)}{verdict}"
        )
    return "\n".join(lines)
