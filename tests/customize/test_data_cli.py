"""`ie-batch import doccano|label-studio` and `ie-batch training-data` through typer's CliRunner:
what they write, what they say, and their exit codes (0 all, 1 some left out, 2 nothing done)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from ie_batch.cli import app
from tests.customize.test_confusions import committed_output

runner = CliRunner()
SCHEMA = "task: ner\nname: news\nentities: [person, organization, location]\n"
TEXT = "Tim Cook works for Apple."
GOOD = {"id": 1, "text": TEXT, "label": [[0, 8, "person"], [19, 24, "organization"]]}


def _file(path: Path, content: str) -> Path:
    path.write_text(content, encoding="utf-8")
    return path


def _jsonl(path: Path, records: list[dict]) -> Path:
    return _file(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))


def _words(text: str) -> str:
    return " ".join(text.split())


def test_import_doccano_writes_gold_rows_and_says_how_many(tmp_path):
    schema = _file(tmp_path / "news.yaml", SCHEMA)
    export = _jsonl(tmp_path / "admin.jsonl", [GOOD, {**GOOD, "id": 2}])
    gold = tmp_path / "gold.jsonl"
    result = runner.invoke(
        app, ["import", "doccano", str(export), "--schema", str(schema), "--output", str(gold)]
    )
    assert result.exit_code == 0, result.output
    assert f"{gold}: 2 gold row(s) of schema 'news' (ner) from {export}" in _words(result.output)
    rows = [json.loads(line) for line in gold.read_text().splitlines()]
    assert [row["id"] for row in rows] == ["1", "2"]
    assert rows[0]["entities"][1] == {
        "type": "organization",
        "text": "Apple",
        "start": 19,
        "end": 24,
    }


def test_import_with_a_bad_record_writes_the_rest_names_it_and_exits_1(tmp_path):
    schema = _file(tmp_path / "news.yaml", SCHEMA)
    bad = {"id": 2, "text": TEXT, "label": [[0, 8, "animal"]]}
    export = _jsonl(tmp_path / "admin.jsonl", [GOOD, bad])
    gold = tmp_path / "gold.jsonl"
    result = runner.invoke(
        app, ["import", "doccano", str(export), "--schema", str(schema), "--output", str(gold)]
    )
    assert result.exit_code == 1
    assert (
        f"left out: {export}: line 2: field 'label[0]': 'animal' is not an entity type of "
        "schema 'news'" in _words(result.output)
    )
    assert "1 record(s) left out" in result.output
    assert len(gold.read_text().splitlines()) == 1


def test_import_label_studio_reads_the_text_key_and_reports_unannotated_tasks(tmp_path):
    schema = _file(tmp_path / "news.yaml", SCHEMA)
    region = {"id": "r", "type": "labels", "value": {"start": 0, "end": 8, "labels": ["person"]}}
    tasks = [
        {"id": 5, "data": {"body": TEXT}, "annotations": [{"result": [region]}]},
        {"id": 6, "data": {"body": TEXT}, "annotations": []},
    ]
    export = _file(tmp_path / "export.json", json.dumps(tasks))
    gold = tmp_path / "gold.jsonl"
    result = runner.invoke(
        app,
        ["import", "label-studio", str(export), "--schema", str(schema), "--output", str(gold)]
        + ["--text-key", "body"],
    )
    assert result.exit_code == 0, result.output
    assert "1 tasks without an annotation (not imported)" in result.output
    assert json.loads(gold.read_text())["entities"][0]["text"] == "Tim Cook"


def test_import_of_a_missing_file_or_schema_exits_2_and_writes_nothing(tmp_path):
    schema = _file(tmp_path / "news.yaml", SCHEMA)
    gold = tmp_path / "gold.jsonl"
    missing = runner.invoke(
        app,
        ["import", "doccano", str(tmp_path / "nope.jsonl"), "--schema", str(schema)]
        + ["--output", str(gold)],
    )
    assert missing.exit_code == 2 and "nope.jsonl: cannot be read" in missing.output
    export = _jsonl(tmp_path / "admin.jsonl", [GOOD])
    unknown = runner.invoke(
        app, ["import", "doccano", str(export), "--schema", "no_such_schema", "--output", str(gold)]
    )
    assert unknown.exit_code == 2 and "not the name of a shipped schema" in _words(unknown.output)
    assert not gold.exists()


def _gold(tmp_path: Path, count: int = 6) -> Path:
    rows = [
        {"id": f"d{i}", "text": TEXT, "entities": [{"type": "person", "text": "Tim Cook"}]}
        for i in range(count)
    ]
    return _jsonl(tmp_path / "gold.jsonl", rows)


def test_training_data_writes_the_folder_and_counts(tmp_path):
    schema = _file(tmp_path / "news.yaml", SCHEMA)
    out = tmp_path / "examples"
    result = runner.invoke(
        app,
        ["training-data", str(_gold(tmp_path)), "--schema", str(schema), "--output", str(out)]
        + ["--format", "iepile", "--dev-fraction", "0", "--negative-slices", "-1"],
    )
    assert result.exit_code == 0, result.output
    assert f"{out}: 6 train and 0 dev example(s) from 6 + 0 document(s), format iepile" in (
        _words(result.output)
    )
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["negatives"]["negative_slices"] is None
    assert sorted(p.name for p in out.iterdir()) == [
        "dev.jsonl",
        "manifest.json",
        "schema.json",
        "train.jsonl",
    ]


def test_training_data_takes_hard_negatives_and_a_zero_shot_output(tmp_path):
    schema = _file(tmp_path / "news.yaml", SCHEMA)
    hard = _file(tmp_path / "hard.json", json.dumps({"person": ["location"]}))
    zero_shot = committed_output(
        tmp_path / "zero-shot",
        [{"id": "d0", "entities": [{"type": "organization", "text": "Tim Cook"}]}],
    )
    out = tmp_path / "examples"
    result = runner.invoke(
        app,
        ["training-data", str(_gold(tmp_path)), "--schema", str(schema), "--output", str(out)]
        + ["--hard-negatives", str(hard), "--confusions-from", zero_shot, "--dev-fraction", "0"],
    )
    assert result.exit_code == 0, result.output
    negatives = json.loads((out / "manifest.json").read_text())["negatives"]
    assert negatives["ranked"] == {"person": ["location", "organization"]}  # dictionary first
    assert negatives["hard_negatives"]["path"] == str(hard)


def test_training_data_exits_2_on_a_bad_hard_negatives_file_and_1_on_left_out_rows(tmp_path):
    schema = _file(tmp_path / "news.yaml", SCHEMA)
    hard = _file(tmp_path / "hard.json", json.dumps({"persons": ["location"]}))
    gold = _gold(tmp_path)
    unusable = runner.invoke(
        app,
        ["training-data", str(gold), "--schema", str(schema), "--output", str(tmp_path / "a")]
        + ["--hard-negatives", str(hard)],
    )
    assert unusable.exit_code == 2
    assert f"error: {hard}: key 'persons': not a label of schema 'news'" in _words(unusable.output)
    with_bad_row = _jsonl(tmp_path / "bad.jsonl", [{"id": "x", "text": TEXT}])
    partial = runner.invoke(
        app,
        ["training-data", str(with_bad_row), "--schema", str(schema), "--output"]
        + [str(tmp_path / "b")],
    )
    assert partial.exit_code == 1
    assert f"left out: {with_bad_row}: row 1: no gold for the ner task of 'news'" in (
        _words(partial.output)
    )
