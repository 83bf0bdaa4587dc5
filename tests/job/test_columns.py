"""The row format between stages: pass-through columns, ids, and names that collide."""

import pyarrow as pa

from ie_batch.job.columns import input_row, passthrough, row_id


def test_input_columns_named_like_result_columns_are_kept_under_a_prefix():
    batch = pa.table(
        {
            "doc": ["d1"],
            "id": ["other id"],
            "text": ["x"],
            "errors": [["theirs"]],
            "warnings": ["w"],
            "prompt_tokens": [3],
            "entities": [[{"type": "person", "text": "x"}]],
            "gold_entities": ["already gold"],
            "_read_error": pa.array(
                [None], pa.struct([("location", pa.string()), ("reason", pa.string())])
            ),
        }
    )
    table = passthrough(batch, id_column="doc")
    assert table.column_names == [
        "input_id",
        "text",
        "input_errors",
        "input_warnings",
        "input_prompt_tokens",
        "gold_entities",
        "input_gold_entities",
    ]
    assert table.column("input_errors").to_pylist() == [["theirs"]]
    assert table.column("gold_entities").to_pylist() == [[{"type": "person", "text": "x"}]]


def test_input_row_renames_gold_back_and_drops_result_columns():
    row = {
        "id": "d1",
        "text": "x",
        "gold_label": "sports",
        "labels": [],
        "errors": [],
        "input_errors": ["theirs"],
        "_shard": "s",
    }
    assert input_row(row, "doc") == {
        "doc": "d1",
        "text": "x",
        "label": "sports",
        "input_errors": ["theirs"],
        "_shard": "s",
    }


def test_a_row_without_an_id_is_named_by_shard_and_row():
    assert row_id({"_shard": "news", "_row": 3}, "id") == "news:3"
    assert row_id({"id": 7}, "id") == "7"
