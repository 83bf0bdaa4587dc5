"""The `ie-batch` command: `schema show` and `eval`, driven through typer's CliRunner."""

import json

import pytest
from typer.testing import CliRunner

from ie_batch.cli import app
from ie_batch.prompts import get_format
from ie_batch.schema import load_schema, rotate

runner = CliRunner()


def _words(text: str) -> str:
    """Rich wraps long lines at the console width; compare text with whitespace collapsed."""
    return " ".join(text.split())


def _answer_schema_in(output: str) -> dict:
    return json.loads(output.split("answer schema", 1)[1].split("\n", 1)[1])


def _write_jsonl(path, rows):
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def test_schema_show_prints_slices_prompt_and_answer_schema(schemas_dir):
    path = schemas_dir / "news_ner_en.yaml"
    result = runner.invoke(app, ["schema", "show", str(path)])
    assert result.exit_code == 0, result.output
    output = _words(result.output)
    assert "news_ner_en: ner, 4 labels, language en -> 4 slice(s) under document_first" in output
    assert "news_ner_en[1/4]: location news_ner_en[2/4]: miscellaneous" in output
    assert "proper names: mentions without a capital letter are dropped" in output
    slice_ = rotate(load_schema(path), doc_id="example", split_num=1)[0]
    text = "On Monday, Apple Inc. opened a new office in Berlin, its CEO Tim Cook said."
    prompt = get_format("document_first").render(text, slice_)
    for message in prompt.messages:
        assert _words(message.content) in output
    assert _answer_schema_in(result.output) == prompt.answer_schema


def test_schema_show_lists_every_slice_of_a_split_schema(tmp_path):
    schema = tmp_path / "wide.yaml"
    schema.write_text(
        "task: ner\nsplit_num: 2\nentities: [alpha, beta, gamma, delta]\n", encoding="utf-8"
    )
    result = runner.invoke(app, ["schema", "show", str(schema)])
    assert result.exit_code == 0, result.output
    assert "-> 2 slice(s)" in result.output
    assert "wide[1/2]: alpha, beta" in result.output
    assert "wide[2/2]: delta, gamma" in result.output
    assert list(_answer_schema_in(result.output)["properties"]) == ["alpha", "beta"]


def test_schema_show_iepile_format_with_own_text(schemas_dir):
    result = runner.invoke(
        app,
        [
            "schema",
            "show",
            str(schemas_dir / "news_ner_en.yaml"),
            "--format",
            "iepile",
            "--text",
            "Tim Cook visited Berlin.",
            "--order",
            "given",
        ],
    )
    assert result.exit_code == 0, result.output
    output = _words(result.output)
    assert "(iepile)" in output
    assert '"schema": ["person", "organization", "location", "miscellaneous"]' in output
    assert '"input": "Tim Cook visited Berlin."' in output


def test_invalid_schema_file_exits_2_naming_file_and_field(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a short relative path keeps the message on few lines
    (tmp_path / "bad.yaml").write_text("task: ner\nentities: 5\n", encoding="utf-8")
    result = runner.invoke(app, ["schema", "show", "bad.yaml"])
    assert result.exit_code == 2
    output = _words(result.output)
    assert "error:" in output
    assert "bad.yaml: field 'entities'" in output
    assert "expected a list of names or a mapping name -> description" in output


def test_schema_with_unknown_task_exits_2_naming_the_task_field(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "odd.yaml").write_text("task: summarise\nentities: [a]\n", encoding="utf-8")
    result = runner.invoke(app, ["schema", "show", "odd.yaml"])
    assert result.exit_code == 2
    assert "odd.yaml: field 'task'" in _words(result.output)


def test_missing_schema_file_exits_2(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["schema", "show", "nowhere.yaml"])
    assert result.exit_code == 2
    assert "nowhere.yaml" in _words(result.output)


def test_schema_show_unknown_format_exits_2(schemas_dir):
    result = runner.invoke(
        app, ["schema", "show", str(schemas_dir / "news_ner_en.yaml"), "--format", "uie"]
    )
    assert result.exit_code == 2
    assert "unknown prompt format 'uie'" in _words(result.output)


@pytest.fixture
def scored_files(tmp_path):
    """Hand-checked: NER tp=2 pred=3 gold=4 (P 2/3, R 1/2, F1 4/7); RE tp=1 pred=1 gold=1."""
    gold = _write_jsonl(
        tmp_path / "gold.jsonl",
        [
            {
                "id": 1,
                "text": "Tim Cook, CEO of Apple, visited Berlin.",
                "entities": [
                    {"type": "person", "text": "Tim Cook"},
                    {"type": "location", "text": "Berlin"},
                ],
                "relations": [{"subject": "Tim Cook", "relation": "CEO of", "object": "Apple"}],
            },
            # IEPile's shape; no relations column, so RE is not scored on this row
            {"id": 2, "text": "Apple rose.", "entities": {"organization": ["Apple"]}},
            # no prediction row at all: its gold is missed
            {"id": 3, "text": "Angela Merkel spoke.", "ner": {"person": ["Angela Merkel"]}},
        ],
    )
    pred = _write_jsonl(
        tmp_path / "pred.jsonl",
        [
            {
                "id": "1",
                "entities": [
                    {"type": "person", "text": "Tim Cook", "start": 0, "end": 8},
                    {"type": "organization", "text": "Berlin", "start": 32, "end": 38},
                ],
                "relations": [{"subject": "Tim Cook", "relation": "CEO of", "object": "Apple"}],
            },
            {
                "id": "2",
                "entities": [{"type": "organization", "text": "Apple"}],
                "relations": [{"subject": "Apple", "relation": "CEO of", "object": "Apple"}],
            },
            {"id": "99", "entities": [{"type": "person", "text": "Nobody"}]},
        ],
    )
    return pred, gold


def test_eval_json_prints_scores_per_task(scored_files):
    pred, gold = scored_files
    result = runner.invoke(app, ["eval", str(pred), str(gold), "--json"])
    assert result.exit_code == 0, result.output
    scores = json.loads(result.output)
    assert list(scores) == ["ner", "re"]
    assert scores["ner"] == pytest.approx(
        {"precision": 2 / 3, "recall": 0.5, "f1": 4 / 7, "tp": 2, "pred": 3, "gold": 4}
    )
    assert scores["re"] == {
        "precision": 1.0,
        "recall": 1.0,
        "f1": 1.0,
        "tp": 1,
        "pred": 1,
        "gold": 1,
    }


def test_eval_without_json_prints_a_table(scored_files):
    pred, gold = scored_files
    result = runner.invoke(app, ["eval", str(pred), str(gold)])
    assert result.exit_code == 0, result.output
    rows = {
        cells[0]: cells[1:]
        for line in result.output.splitlines()
        if len(cells := [c.strip() for c in line.strip("│┃ ").split("│")]) == 7
    }
    assert rows["ner"] == ["0.6667", "0.5000", "0.5714", "2", "3", "4"]
    assert rows["re"] == ["1.0000", "1.0000", "1.0000", "1", "1", "1"]
    for header in ("task", "precision", "recall", "f1", "tp", "pred", "gold"):
        assert header in result.output


def test_eval_table_lists_classification_micro_scores(tmp_path):
    gold = _write_jsonl(
        tmp_path / "gold.jsonl", [{"id": 1, "label": "sports"}, {"id": 2, "label": "world"}]
    )
    pred = _write_jsonl(
        tmp_path / "pred.jsonl",
        [{"id": 1, "labels": [{"label": "sports"}]}, {"id": 2, "labels": [{"label": "sports"}]}],
    )
    scores = json.loads(runner.invoke(app, ["eval", str(pred), str(gold), "--json"]).output)
    assert scores["classification"]["accuracy"] == 0.5
    assert {k: scores["classification"][k] for k in ("tp", "pred", "gold")} == {
        "tp": 1,
        "pred": 2,
        "gold": 2,
    }
    table = runner.invoke(app, ["eval", str(pred), str(gold)])
    assert table.exit_code == 0, table.output
    assert "classification" in table.output and "0.5000" in table.output


def test_eval_bad_file_exits_2_with_the_reason(tmp_path):
    gold = _write_jsonl(tmp_path / "gold.jsonl", [{"text": "no id", "label": "sports"}])
    pred = _write_jsonl(tmp_path / "pred.jsonl", [])
    result = runner.invoke(app, ["eval", str(pred), str(gold), "--json"])
    assert result.exit_code == 2
    assert "no 'id'" in _words(result.output)


def test_eval_missing_file_exits_2_naming_it(tmp_path):
    gold = _write_jsonl(tmp_path / "gold.jsonl", [{"id": 1, "label": "sports"}])
    result = runner.invoke(app, ["eval", str(tmp_path / "absent.jsonl"), str(gold)])
    assert result.exit_code == 2
    assert "absent.jsonl" in _words(result.output)


def test_schema_show_bad_order_exits_2_with_a_message(schemas_dir):
    result = runner.invoke(
        app, ["schema", "show", str(schemas_dir / "news_ner_en.yaml"), "--order", "random"]
    )
    assert result.exit_code == 2
    assert "order must be sorted, given or shuffled" in _words(result.output)
