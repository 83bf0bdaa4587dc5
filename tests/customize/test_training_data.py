"""export_training_data: the folder `ie-batch train` reads, split by document id, prompts as the job
file says, negatives hard first, and every unusable row named."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from ie_batch.customize.examples_dataset import read_example_dir
from ie_batch.customize.training_data import export_training_data, split_of
from ie_batch.schema import load_schema
from tests.customize.test_confusions import committed_output

SCHEMA = "task: ner\nname: news\nentities: [person, organization, location, miscellaneous]\n"
NAMES = ["Ann Lee", "Bob Ray", "Cy Dunn", "Di Fox", "Ed Moss", "Flo Hart"]


def _rows(count: int) -> list[dict]:
    rows = []
    for i in range(count):
        name = NAMES[i % len(NAMES)]
        text = f"Story {i}: {name} spoke today."
        start = text.index(name)
        rows.append(
            {
                "id": f"doc-{i}",
                "text": text,
                "entities": [
                    {"type": "person", "text": name, "start": start, "end": start + len(name)}
                ],
            }
        )
    return rows


@pytest.fixture
def schema_path(tmp_path: Path) -> Path:
    path = tmp_path / "news.yaml"
    path.write_text(SCHEMA, encoding="utf-8")
    return path


def _gold(tmp_path: Path, rows: list[dict], name: str = "gold.jsonl") -> Path:
    path = tmp_path / name
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_the_folder_is_what_training_reads_with_a_manifest_to_export_it_again(
    tmp_path, schema_path
):
    gold = _gold(tmp_path, _rows(30))
    manifest = export_training_data(gold, schema_path, tmp_path / "out", dev_fraction=0.2)
    assert manifest.problems == []
    examples = read_example_dir(tmp_path / "out")  # the contract, as training checks it
    counts = manifest.counts
    assert counts["examples"] == {"train": len(examples.train), "dev": len(examples.dev)}
    assert counts["documents"]["train"] + counts["documents"]["dev"] == 30
    # each document: its person slice, and one slice of a label it does not have
    assert len(examples.train) == 2 * counts["documents"]["train"]
    assert examples.manifest.sha256 == hashlib.sha256(gold.read_bytes()).hexdigest()
    (schema_file,) = examples.manifest.schema_files()
    assert load_schema(schema_file) == load_schema(schema_path)
    content = manifest.content
    assert content["format"] == "document_first"
    assert content["prompt"] == {
        "label_order": "sorted",
        "staged_extraction": True,
        "keep_ungrounded": False,
        "few_shot": False,
    }
    assert content["split"]["dev_fraction"] == 0.2 and content["split"]["seed"] == 0
    first = examples.train[0]
    assert first.id == f"{first.doc_id}/news/1" and first.task == "ner" and first.stage is None


def test_documents_keep_their_split_whatever_else_the_gold_holds(tmp_path, schema_path):
    rows = _rows(40)
    first = export_training_data(
        _gold(tmp_path, rows), schema_path, tmp_path / "a", dev_fraction=0.3
    )
    more = rows[::-1] + _rows(60)[40:]
    again = export_training_data(
        _gold(tmp_path, more, "more.jsonl"), schema_path, tmp_path / "b", dev_fraction=0.3
    )

    def dev_documents(folder: str) -> set[str]:
        return {line["doc_id"] for line in _lines(tmp_path / folder / "dev.jsonl")}

    dev = dev_documents("a")
    assert 0 < len(dev) < 40
    assert dev == dev_documents("b") & {row["id"] for row in rows}
    assert dev == {row["id"] for row in rows if split_of(row["id"], 0.3, 0) == "dev"}
    train = {line["doc_id"] for line in _lines(tmp_path / "a" / "train.jsonl")}
    assert not dev & train  # all of a document's examples sit in one split
    assert first.counts["documents"]["dev"] == len(dev)
    assert again.counts["documents"]["dev"] >= len(dev)
    reseeded = {row["id"] for row in rows if split_of(row["id"], 0.3, 1) == "dev"}
    assert reseeded != dev


def test_the_job_files_prompt_settings_decide_how_examples_are_rendered(tmp_path, schema_path):
    job = tmp_path / "job.yaml"
    job.write_text(
        f"input: {{paths: [{tmp_path}], text_column: body, id_column: key}}\n"
        f"schemas: [{schema_path}]\noutput: {tmp_path / 'job-out'}\n"
        "prompt: {format: iepile, label_order: given}\n",
        encoding="utf-8",
    )
    rows = [{"key": r["id"], "body": r["text"], "entities": r["entities"]} for r in _rows(3)]
    manifest = export_training_data(
        _gold(tmp_path, rows), schema_path, tmp_path / "out", config=job, dev_fraction=0.0
    )
    (line, *_) = _lines(tmp_path / "out" / "train.jsonl")
    assert manifest.content["format"] == "iepile" and line["format"] == "iepile"
    instruction = json.loads(line["messages"][1]["content"])
    # IEPile asks six types at once: the gold one and every other fill its slice, in given order
    assert instruction["schema"] == ["person", "organization", "location", "miscellaneous"]
    assert manifest.content["config"]["path"] == str(job)
    overridden = export_training_data(
        _gold(tmp_path, rows), schema_path, tmp_path / "o", config=job, format="document_first"
    )
    assert overridden.content["format"] == "document_first"


def test_a_hard_negative_dictionary_decides_the_negative_slice(tmp_path, schema_path):
    gold = _gold(tmp_path, _rows(12))
    export_training_data(
        gold,
        schema_path,
        tmp_path / "hard",
        dev_fraction=0.0,
        hard_negatives={"person": ["organization"]},
    )
    negatives = [line["negatives"] for line in _lines(tmp_path / "hard" / "train.jsonl")]
    assert negatives.count(["organization"]) == 12 and negatives.count([]) == 12
    export_training_data(gold, schema_path, tmp_path / "random", dev_fraction=0.0)
    random = {tuple(line["negatives"]) for line in _lines(tmp_path / "random" / "train.jsonl")}
    assert len(random - {()}) > 1  # without one, absent labels are drawn at random


def test_a_zero_shot_runs_confusions_on_the_training_documents_rank_the_negatives(
    tmp_path, schema_path
):
    rows = _rows(20)
    predictions = [
        {"id": row["id"], "entities": [{**row["entities"][0], "type": "location"}]} for row in rows
    ]
    output = committed_output(tmp_path / "zero-shot", predictions)
    manifest = export_training_data(
        _gold(tmp_path, rows), schema_path, tmp_path / "out", dev_fraction=0.25, confusions=output
    )
    train = _lines(tmp_path / "out" / "train.jsonl")
    assert {tuple(line["negatives"]) for line in train} == {(), ("location",)}
    confusions = manifest.content["negatives"]["confusions"]
    train_documents = manifest.counts["documents"]["train"]
    assert confusions["documents"] == train_documents < 20  # dev predictions are not counted
    assert confusions["pairs"] == {"person": {"location": train_documents}}


def test_every_slice_the_job_asks_when_no_sampling_is_wanted(tmp_path, schema_path):
    manifest = export_training_data(
        _gold(tmp_path, _rows(2)),
        schema_path,
        tmp_path / "out",
        negative_slices=None,
        dev_fraction=0,
    )
    assert manifest.counts["examples"]["train"] == 2 * 4  # one slice per entity type


def test_rows_that_cannot_be_used_are_named_and_the_rest_exported(tmp_path, schema_path):
    good = _rows(1)[0]
    rows = [
        good,
        {**good, "id": None},
        good,
        {**good, "id": "no-text", "text": 7},
        {**good, "id": "bad-column", "entities": 5},
        {"id": "no-gold", "text": "Plain."},
        {**good, "id": "other-label", "entities": [{"type": "animal", "text": "Story"}]},
    ]
    gold = _gold(tmp_path, rows)
    manifest = export_training_data(gold, schema_path, tmp_path / "out", dev_fraction=0.0)
    assert manifest.counts["documents"]["train"] == 1
    assert manifest.problems == [
        f"{gold}: row 2: field 'id': no id (every document needs one)",
        f"{gold}: row 3: field 'id': 'doc-0' is also row 1",
        f"{gold}: row 4: field 'text': expected the text, got 7",
        f"{gold}: row 5: column 'entities': expected a list of {{type, text}} or a mapping "
        "type -> [text], got int",
        f"{gold}: row 6: no gold for the ner task of 'news'",
        f"{gold}: row 7: labels not in schema 'news': animal",
    ]
    assert json.loads((tmp_path / "out" / "manifest.json").read_text())["problems"] == (
        manifest.problems
    )


def test_a_dev_fraction_outside_zero_to_one_is_refused(tmp_path, schema_path):
    with pytest.raises(ValueError, match="dev_fraction must be in"):
        export_training_data(_gold(tmp_path, _rows(1)), schema_path, tmp_path / "o", dev_fraction=1)
