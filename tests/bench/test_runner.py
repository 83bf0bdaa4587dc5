"""Which rows a bench run evaluates, and how the table names them (no engine, no download)."""

from __future__ import annotations

from bench.accuracy.datasets import DATASETS
from bench.accuracy.runner import evaluated_split, sample_rows

ROWS = [{"id": str(i)} for i in range(10)]


def test_spread_sample_covers_the_whole_split_evenly():
    assert [row["id"] for row in sample_rows(ROWS, 4, "spread")] == ["0", "2", "5", "7"]


def test_head_sample_is_the_first_rows():
    assert [row["id"] for row in sample_rows(ROWS, 3, "head")] == ["0", "1", "2"]


def test_no_limit_or_a_limit_past_the_end_takes_every_row():
    assert sample_rows(ROWS, None, "spread") == ROWS
    assert sample_rows(ROWS, 50, "spread") == ROWS


def test_split_names_say_how_rows_were_chosen():
    valid = DATASETS["conll2003-valid"]
    wnut = DATASETS["wnut16"]
    assert evaluated_split(valid, 40, 3250, "head") == "valid[:40]"
    assert evaluated_split(valid, 100, 3250, "spread") == "valid, 100 spread"
    assert evaluated_split(valid, None, 3250, "spread") == "valid"
    assert evaluated_split(wnut, 40, 1197, "head").endswith(", first 40")


def test_spread_rows_are_distinct():
    rows = [{"id": str(i)} for i in range(3250)]
    chosen = sample_rows(rows, 100, "spread")
    assert len({row["id"] for row in chosen}) == 100
    assert chosen[-1]["id"] == "3217"
