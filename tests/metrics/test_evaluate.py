import gzip
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ie_batch.metrics import (
    Evaluation,
    EvaluationError,
    evaluate_files,
    evaluate_rows,
    read_rows,
)
from ie_batch.results import DocumentResult, Entity, Event, EventArgument, LabelScore, Relation


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def write_parquet(path, rows):
    # pa.array infers one struct type over all rows (Table.from_pylist looks at the first only).
    pq.write_table(pa.Table.from_struct_array(pa.array(rows)), path)
    return path


def result_row(row_id, **fields):
    return {"id": row_id, **DocumentResult(**fields).to_row()}


# Gold in IEPile's output shapes, as a data set would ship it.
GOLD = [
    {
        "id": "ner-1",
        "text": "Robert Allenby of Australia ...",
        "ner": {"person": ["Robert Allenby", "Allenby"], "location": ["Australia"]},
    },
    {
        "id": "re-1",
        "relations": {"place of death": [{"subject": "Thomas Edison", "object": "West Orange"}]},
    },
    {
        "id": "ee-1",
        "events": {
            "adverse event": [
                {
                    "trigger": "cause ",
                    "arguments": {"Effect": "cortical negative myoclonus", "Subject.Age": "NAN"},
                }
            ]
        },
    },
    {"id": "unlabelled", "text": "no gold here"},
]

PREDICTIONS = [
    result_row(
        "ner-1",
        entities=[
            Entity("person", "Robert Allenby"),
            Entity("person", "Allenby"),
            Entity("person", "Allenby"),
            Entity("location", "Australia"),
            Entity("location", "Spain"),
        ],
        # ner-1's gold covers only NER: this relation must not count as a false positive.
        relations=[Relation("Robert Allenby", "nationality", "Australia")],
    ),
    # re-1 has no prediction row: its gold triple is a false negative.
    result_row(
        "ee-1",
        events=[
            Event(
                "adverse event",
                "cause ",
                arguments=(EventArgument("Effect", "cortical negative myoclonus"),),
            )
        ],
    ),
    result_row("not-in-gold", entities=[Entity("person", "Nobody")]),  # ignored
]

EXPECTED = {
    "ner": {"precision": 0.6, "recall": 1.0, "f1": 0.75, "tp": 3, "pred": 5, "gold": 3},
    "re": {"precision": 0.0, "recall": 0.0, "f1": 0.0, "tp": 0, "pred": 0, "gold": 1},
    "ee_trigger": {"precision": 1.0, "recall": 1.0, "f1": 1.0, "tp": 1, "pred": 1, "gold": 1},
    "ee_argument": {"precision": 1.0, "recall": 1.0, "f1": 1.0, "tp": 1, "pred": 1, "gold": 1},
}


def test_jsonl_gold_against_parquet_predictions(tmp_path):
    gold = write_jsonl(tmp_path / "gold.jsonl", GOLD)
    predictions = write_parquet(tmp_path / "pred.parquet", PREDICTIONS)
    assert evaluate_files(predictions, gold) == EXPECTED


def test_parquet_gold_in_iepile_shape_and_gzipped_predictions(tmp_path):
    # Arrow turns the {type: [text]} mappings into structs and fills absent types with null.
    gold = write_parquet(tmp_path / "gold.parquet", GOLD)
    predictions = tmp_path / "pred.jsonl.gz"
    with gzip.open(predictions, "wt", encoding="utf-8") as stream:
        stream.writelines(json.dumps(row) + "\n" for row in PREDICTIONS)
    assert evaluate_files(predictions, gold) == EXPECTED


def test_json_array_file_and_integer_ids_join_string_ids(tmp_path):
    gold = tmp_path / "gold.json"
    gold.write_text(json.dumps([{"id": 7, "entities": [{"type": "person", "text": "Ann"}]}]))
    predictions = write_jsonl(
        tmp_path / "pred.jsonl", [result_row("7", entities=[Entity("person", "Ann")])]
    )
    assert evaluate_files(predictions, gold)["ner"]["tp"] == 1


def test_only_tasks_in_gold_are_reported(tmp_path):
    gold = write_jsonl(tmp_path / "gold.jsonl", [{"id": "1", "entities": []}])
    predictions = write_jsonl(
        tmp_path / "pred.jsonl",
        [result_row("1", entities=[Entity("person", "Ann")], relations=[Relation("a", "r", "b")])],
    )
    assert evaluate_files(predictions, gold) == {
        "ner": {"precision": 0.0, "recall": 0.0, "f1": 0.0, "tp": 0, "pred": 1, "gold": 0}
    }


def test_shards_sum_to_the_same_as_all_rows_at_once():
    gold = GOLD + [
        {"id": "c-1", "text": "match report", "label": "sports"},
        {"id": "c-2", "text": "rates rise", "label": "finance"},
    ]
    predictions = PREDICTIONS + [
        result_row("c-1", labels=[LabelScore("sports", 0.9)]),
        result_row("c-2", labels=[LabelScore("sports", 0.8)]),
    ]
    whole = evaluate_rows(predictions, gold, multi_label=False)
    shards = [
        evaluate_rows(predictions, gold[:3], multi_label=False),
        evaluate_rows(predictions, gold[3:], multi_label=False),
    ]
    assert (shards[0] + shards[1]).metrics() == whole.metrics()
    assert sum(shards).metrics() == whole.metrics()
    assert sum(shards).rows == whole.rows == 5  # the unlabelled row is not scored
    total = Evaluation()
    for shard in shards:
        total += shard
    assert total.metrics() == whole.metrics()
    assert total.bad_cases == whole.bad_cases


def test_classification_with_bad_cases_and_inferred_mode(tmp_path):
    gold = [
        {"id": "1", "text": "match report", "label": "sports"},
        {"id": "2", "text": "rates rise", "label": "finance"},
        {"id": "3", "text": "lost row", "label": "finance"},
    ]
    predictions = [
        result_row("1", labels=[LabelScore("sports", 0.9)]),
        result_row("2", labels=[LabelScore("sports", 0.6), LabelScore("finance", 0.3)]),
    ]
    evaluation = evaluate_rows(predictions, gold)
    report = evaluation.metrics()["classification"]
    # sports tp1 pred2 gold1, finance tp0 pred0 gold2; accuracy 1/3
    assert report["multi_label"] is False
    assert report["accuracy"] == 1 / 3
    assert (report["tp"], report["pred"], report["gold"]) == (1, 2, 3)
    assert report["macro_precision"] == 0.25  # (1/2 + 0) / 2
    assert evaluation.bad_cases == [
        {"id": "2", "text": "rates rise", "label": "finance", "prediction": "sports"},
        {"id": "3", "text": "lost row", "label": "finance", "prediction": None},
    ]
    path = write_jsonl(tmp_path / "gold.jsonl", gold)
    assert (
        evaluate_files(write_jsonl(tmp_path / "p.jsonl", predictions), path)["classification"]
        == report
    )


def test_multi_label_is_inferred_from_gold_label_sets():
    gold = [{"id": "1", "labels": ["a", "b"]}, {"id": "2", "labels": ["a"]}]
    predictions = [result_row("1", labels=[LabelScore("a"), LabelScore("b")])]
    report = evaluate_rows(predictions, gold).metrics()["classification"]
    assert report["multi_label"] is True
    assert report["accuracy"] == 0.5


def test_missing_id_names_the_file_and_row(tmp_path):
    gold = write_jsonl(tmp_path / "gold.jsonl", [{"id": "1", "label": "a"}, {"label": "b"}])
    predictions = write_jsonl(tmp_path / "pred.jsonl", [])
    with pytest.raises(EvaluationError, match=r"gold\.jsonl: row 2: no 'id'"):
        evaluate_files(predictions, gold)


def test_wrong_shape_names_the_file_row_id_and_column(tmp_path):
    gold = write_jsonl(tmp_path / "gold.jsonl", [{"id": "1", "entities": []}])
    predictions = write_jsonl(tmp_path / "pred.jsonl", [{"id": "1", "entities": [{"type": "p"}]}])
    with pytest.raises(EvaluationError) as error:
        evaluate_files(predictions, gold)
    message = str(error.value)
    assert "pred.jsonl: row 1 (id='1')" in message
    assert "column 'entities': item 0 text" in message


def test_multi_class_gold_with_two_labels_is_reported_with_its_row(tmp_path):
    gold = [{"id": "x", "labels": ["a", "b"]}]
    with pytest.raises(EvaluationError, match=r"gold: row 1 \(id='x'\).*exactly one label"):
        evaluate_rows([], gold, multi_label=False)


def test_duplicate_ids_are_rejected():
    with pytest.raises(EvaluationError, match="row 2: id 'a' already used by row 1"):
        evaluate_rows([], [{"id": "a", "label": "x"}, {"id": "a", "label": "y"}])


def test_unreadable_files(tmp_path):
    bad_line = tmp_path / "bad.jsonl"
    bad_line.write_text('{"id": "1"}\n{oops\n')
    with pytest.raises(EvaluationError, match=r"bad\.jsonl: line 2: invalid JSON"):
        read_rows(bad_line)
    not_object = tmp_path / "list.jsonl"
    not_object.write_text("[1, 2]\n")
    with pytest.raises(EvaluationError, match="row 1: expected a JSON object"):
        read_rows(not_object)
    with pytest.raises(EvaluationError, match="unknown file type"):
        read_rows(tmp_path / "rows.csv")


def test_bad_case_text_falls_back_to_the_output_row():
    gold = [{"id": "1", "label": "finance"}]
    predictions = [{"id": "1", "text": "rates rise", "labels": [{"label": "sports"}]}]
    [case] = evaluate_rows(predictions, gold).bad_cases
    assert case["text"] == "rates rise"
