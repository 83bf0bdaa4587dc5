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


def test_a_derived_schema_is_written_into_the_work_folder_and_configurations_apply(tmp_path):
    from pathlib import Path

    from bench.accuracy.configurations import get_configuration
    from bench.accuracy.datasets import get_dataset
    from bench.accuracy.runner import job_data
    from ie_batch.schema import load_schema

    fixtures = Path(__file__).parent / "fixtures"
    dataset = get_dataset("duie-dev", fixtures)
    data = job_data(
        dataset, get_configuration("defaults"), tmp_path / "in", tmp_path / "out", tmp_path, 8, None
    )
    (schema,) = data["schemas"]
    assert Path(schema) == tmp_path / "schemas" / "derived" / "duie_zh.yaml"
    assert load_schema(schema).relations[0].description  # subject and object types shown
    plain = job_data(
        dataset,
        get_configuration("no-descriptions"),
        tmp_path / "in",
        tmp_path / "out",
        tmp_path,
        8,
        None,
    )
    stripped = load_schema(plain["schemas"][0])
    assert Path(plain["schemas"][0]).parent.name == "no-descriptions"
    assert stripped.label_names == load_schema(schema).label_names
    assert not any(relation.description for relation in stripped.relations)
    assert stripped.relations == tuple(
        relation.model_copy(update={"description": None})
        for relation in load_schema(schema).relations
    )  # subject types survive
