"""The training-example folder read back: every record checked, errors naming file:line and field."""

from __future__ import annotations

import json

import pytest

from ie_batch.customize.examples_dataset import ExampleError, read_example_dir, read_examples


def _rewrite_first_line(path, change):
    lines = path.read_text().splitlines()
    record = json.loads(lines[0])
    change(record)
    lines[0] = json.dumps(record)
    path.write_text("\n".join(lines) + "\n")


@pytest.fixture
def folder(example_dir, tmp_path):
    import shutil

    copy = tmp_path / "data"
    shutil.copytree(example_dir, copy)
    return copy


def test_the_folder_written_in_the_contract_reads_back_whole(example_dir):
    examples = read_example_dir(example_dir)
    assert len(examples.train) == 8 and len(examples.dev) == 4
    assert {e.doc_id for e in examples.dev} == {"d5", "d6"}
    first = examples.train[0]
    assert first.schema_name == "people_places" and first.task == "ner" and first.stage is None
    assert first.messages[-1].role == "user"
    assert examples.manifest.sha256 == "0" * 64
    assert [p.name for p in examples.manifest.schema_files()] == ["people_places.yaml"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda r: r.pop("answer"), r"train.jsonl:1: field 'answer': Field required"),
        (lambda r: r.update(task="pos"), r"train.jsonl:1: field 'task': Input should be"),
        (lambda r: r.update(split="dev"), r"train.jsonl:1: field 'split': 'dev' in the train file"),
        (
            lambda r: r["messages"].append({"role": "assistant", "content": "x"}),
            r"train.jsonl:1: field 'messages.\d+.role'",
        ),
        (lambda r: r.update(extra=1), r"train.jsonl:1: field 'extra': Extra inputs"),
    ],
)
def test_a_bad_record_is_an_error_naming_its_file_line_and_field(folder, change, message):
    _rewrite_first_line(folder / "train.jsonl", change)
    with pytest.raises(ExampleError, match=message):
        read_example_dir(folder)


def test_broken_lines_duplicates_and_a_missing_manifest_are_errors(folder):
    train = folder / "train.jsonl"
    lines = train.read_text().splitlines()
    train.write_text("\n".join([lines[0], lines[0]]) + "\n")
    with pytest.raises(ExampleError, match=r"train.jsonl:2: field 'id': .* already on line 1"):
        read_examples(train, "train")
    train.write_text(lines[0] + "\n{not json\n")
    with pytest.raises(ExampleError, match=r"train.jsonl:2: not a JSON object"):
        read_examples(train, "train")
    (folder / "manifest.json").unlink()
    with pytest.raises(ExampleError, match=r"manifest.json: missing"):
        read_example_dir(folder)


def test_an_empty_training_file_is_an_error(folder):
    (folder / "train.jsonl").write_text("")
    with pytest.raises(ExampleError, match="no training example"):
        read_example_dir(folder)


def test_a_schema_the_manifest_lists_but_the_folder_lacks_is_an_error(folder):
    (folder / "people_places.yaml").unlink()
    with pytest.raises(ExampleError, match=r"manifest.json: field 'schemas.0.file': .*missing"):
        read_example_dir(folder)
