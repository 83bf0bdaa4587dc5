"""Gold rows as training texts: every accepted label shape, every bad row named, the split by id."""

import gzip
import json
import re

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ie_batch.customize.classifier_data import (
    GoldDataError,
    data_digest,
    labelled_texts,
    read_labelled_texts,
    split_by_id,
)
from ie_batch.schema import schema_from_data

TOPICS = schema_from_data(
    {"name": "topics", "task": "classification", "labels": ["sports", "business"]}
)
TAGS = schema_from_data(
    {"name": "tags", "task": "classification", "multi_label": True, "labels": ["a", "b", "c"]}
)


def _write_jsonl(path, rows):
    path.write_text("\n".join(json.dumps(row) for row in rows) + "\n", encoding="utf-8")
    return path


def test_a_jsonl_file_gives_one_text_per_row_with_its_id_and_label(tmp_path):
    path = _write_jsonl(
        tmp_path / "gold.jsonl",
        [
            {"id": "d1", "text": "A goal.", "label": "sports"},
            {"text": "Profits.", "labels": [{"label": "business", "score": None}]},
        ],
    )
    first, second = read_labelled_texts(path, TOPICS)
    assert (first.id, first.text, first.labels) == ("d1", "A goal.", ("sports",))
    assert second.labels == ("business",) and second.id == second.where == f"{path}:2"


def test_parquet_and_gzipped_jsonl_read_alike(tmp_path):
    rows = [{"id": "d1", "text": "A goal.", "label": "sports"}]
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "gold.parquet")
    with gzip.open(tmp_path / "gold.jsonl.gz", "wt", encoding="utf-8") as handle:
        handle.write(json.dumps(rows[0]) + "\n")
    from_parquet = read_labelled_texts(tmp_path / "gold.parquet", TOPICS)
    from_gzip = read_labelled_texts(tmp_path / "gold.jsonl.gz", TOPICS)
    assert data_digest(from_parquet) == data_digest(from_gzip)
    assert from_parquet[0].where.endswith("gold.parquet row 1")


def test_multi_label_gold_takes_lists_and_none_means_no_label():
    rows = [("f:1", {"text": "x", "labels": ["b", "a"]}), ("f:2", {"text": "y", "labels": []})]
    rows.append(("f:3", {"text": "z", "label": "none"}))
    assert [t.labels for t in labelled_texts(rows, TAGS)] == [("a", "b"), (), ()]


def test_a_multi_class_none_label_is_kept_as_a_class():
    (text,) = labelled_texts([("f:1", {"text": "x", "label": "none"})], TOPICS)
    assert text.labels == ("none",)


@pytest.mark.parametrize(
    ("schema", "row", "message"),
    [
        (TOPICS, {"label": "sports"}, "f:7: column 'text': missing, expected the text"),
        (TOPICS, {"text": "  ", "label": "sports"}, "f:7: column 'text': blank"),
        (TOPICS, {"text": 3, "label": "sports"}, "f:7: column 'text': not text"),
        (TOPICS, {"text": "x"}, "f:7: no gold label"),
        (TOPICS, {"text": "x", "label": "sport"}, "f:7: column 'label': 'sport' is not a label"),
        (TOPICS, {"text": "x", "labels": ["sports", "business"]}, "exactly one label"),
        (TOPICS, {"text": "x", "labels": []}, "exactly one label; got none"),
        (TOPICS, {"text": "x", "labels": [{"label": 1.5}]}, "f:7: column 'labels': item 0"),
        (TAGS, {"text": "x", "labels": ["none", "a"]}, "'none' (no label) beside labels ['a']"),
    ],
)
def test_a_row_that_cannot_be_trained_on_is_an_error_naming_where_and_the_column(
    schema, row, message
):
    good = ("f:1", {"text": "fine", "label": schema.label_names[0]})
    with pytest.raises(GoldDataError, match=re.escape(message)):
        labelled_texts([good, ("f:7", row)], schema)


def test_a_line_that_is_not_a_json_object_names_its_line(tmp_path):
    path = tmp_path / "gold.jsonl"
    path.write_text('{"text": "x", "label": "sports"}\n\n[1, 2]\n', encoding="utf-8")
    with pytest.raises(GoldDataError, match=r"gold.jsonl:3: expected a JSON object, got list"):
        read_labelled_texts(path, TOPICS)
    path.write_text('{"text": "x", "label": "sports"}\n{"text": \n', encoding="utf-8")
    with pytest.raises(GoldDataError, match=r"gold.jsonl:2: not valid JSON"):
        read_labelled_texts(path, TOPICS)
    (tmp_path / "gold.csv").write_text("text,label\n", encoding="utf-8")
    with pytest.raises(GoldDataError, match="gold.csv: unknown file type"):
        read_labelled_texts(tmp_path / "gold.csv", TOPICS)
    with pytest.raises(GoldDataError, match="absent.jsonl: no such file"):
        read_labelled_texts(tmp_path / "absent.jsonl", TOPICS)


def _texts(ids):
    return labelled_texts(
        [(f"f:{i}", {"id": i, "text": "t", "label": "sports"}) for i in ids], TOPICS
    )


def test_the_split_depends_on_the_id_alone():
    train, dev = split_by_id(_texts(range(200)), 0.25)
    assert len(train) + len(dev) == 200 and 25 <= len(dev) <= 75
    dev_ids = {t.id for t in dev}
    # another order, other documents beside them: each document keeps its side
    _, dev_again = split_by_id(_texts([*reversed(range(200)), *range(500, 600)]), 0.25)
    assert {t.id for t in dev_again if int(t.id) < 200} == dev_ids
    assert split_by_id(_texts(range(10)), 0) == (_texts(range(10)), [])
    with pytest.raises(ValueError, match="dev_fraction"):
        split_by_id(_texts(range(3)), 1.0)


def test_the_data_digest_changes_with_a_label_and_not_with_the_file():
    texts = _texts(range(3))
    relabelled = labelled_texts(
        [(t.where, {"id": t.id, "text": t.text, "label": "business"}) for t in texts], TOPICS
    )
    assert data_digest(texts) == data_digest(_texts(range(3)))
    assert data_digest(texts) != data_digest(relabelled)
