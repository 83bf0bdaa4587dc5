"""`ie-batch train`: the command over train_adapter, its output and its exit codes."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from ie_batch.cli import app


@pytest.mark.engine  # the tiny model takes the embedded model's tokenizer
def test_train_writes_an_adapter_and_refuses_to_start_over_it(tiny_model, example_dir, tmp_path):
    out = tmp_path / "adapter"
    args = ["train", str(example_dir), "--output", str(out), "--model", str(tiny_model)]
    args += ["--max-steps", "1", "--batch-size", "2", "--grad-accum", "1", "--dev-limit", "0"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert f"adapter: {out} (1 steps" in result.output
    record = json.loads((out / "training_record.json").read_text())
    assert record["steps"] == 1 and record["hyperparameters"]["batch_size"] == 2

    again = CliRunner().invoke(app, args)
    assert again.exit_code == 2 and "pass --resume" in again.output


def test_bad_examples_and_bad_options_exit_2_naming_the_problem(example_dir, tmp_path):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "manifest.json").write_text("{}")
    (bad / "train.jsonl").write_text('{"id": "x"}\n')
    result = CliRunner().invoke(app, ["train", str(bad), "--output", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "train.jsonl:1: field 'doc_id': Field required" in result.output

    result = CliRunner().invoke(
        app, ["train", str(example_dir), "--output", str(tmp_path / "o"), "--rank", "0"]
    )
    assert result.exit_code == 2 and "rank" in result.output
