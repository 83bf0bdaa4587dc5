"""`ie-batch train-classifier`: a real (tiny) run, and requests refused with exit 2 before any
model is loaded, naming what to fix."""

import json

import pytest
from typer.testing import CliRunner

from ie_batch.classifiers import read_card
from ie_batch.classifiers.card import RECORD_NAME
from ie_batch.cli import app
from tests.customize.encoders import TOPIC_ROWS

runner = CliRunner()


def _gold(path, rows=TOPIC_ROWS):
    lines = [json.dumps({"id": i, "text": t, "label": g}) for i, t, g in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_a_run_writes_a_classifier_folder_split_by_id(tmp_path):
    pytest.importorskip("transformers")
    gold = _gold(tmp_path / "gold.jsonl")
    result = runner.invoke(
        app,
        [
            "train-classifier",
            str(gold),
            "--schema",
            "topic_en",
            "--output",
            str(tmp_path / "enc"),
            "--epochs",
            "1",
            "--batch-size",
            "8",
            "--max-length",
            "16",
            "--dev-fraction",
            "0.3",
        ],
    )
    assert result.exit_code == 0, result.output
    record = json.loads((tmp_path / "enc" / RECORD_NAME).read_text())
    assert record["data"]["train_rows"] + record["data"]["dev_rows"] == len(TOPIC_ROWS)
    assert record["data"]["train_source"] == str(gold) and record["data"]["dev_source"] is None
    assert read_card(tmp_path / "enc").max_length == 16
    assert f"{tmp_path / 'enc'}: {record['steps']} steps" in result.output


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--schema", "news_ner_en"], "'news_ner_en' is a ner schema, not a classification one"),
        (["--schema", "no_such_schema"], "no_such_schema"),
        (["--schema", "topic_en", "--dev", "{missing}"], "dev.jsonl: no such file"),
        (["--schema", "topic_en", "--lr", "0"], "learning_rate"),
    ],
)
def test_a_request_that_cannot_run_exits_2_naming_the_problem(tmp_path, arguments, message):
    gold = _gold(tmp_path / "gold.jsonl")
    arguments = [a.replace("{missing}", str(tmp_path / "dev.jsonl")) for a in arguments]
    output = tmp_path / "enc"
    result = runner.invoke(
        app, ["train-classifier", str(gold), "--output", str(output), *arguments]
    )
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())
    assert not output.exists()


def test_a_bad_gold_row_exits_2_naming_its_line(tmp_path):
    rows = [*TOPIC_ROWS[:2], ("x", "A text.", "sport")]
    gold = _gold(tmp_path / "gold.jsonl", rows)
    result = runner.invoke(
        app,
        ["train-classifier", str(gold), "--schema", "topic_en", "--output", str(tmp_path / "o")],
    )
    assert result.exit_code == 2
    assert "gold.jsonl:3: column 'label': 'sport' is not a label" in " ".join(result.output.split())
