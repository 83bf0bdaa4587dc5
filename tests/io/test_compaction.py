"""Merging a shard's many small staged parts into few parts of a target size: grouping in row
order, one footer read per part for the schema they share, each part's data read once and
handed on, small batches gathered into row groups of a bounded size."""

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ie_batch.io.compaction import RowGroupWriter, group_parts, merge_parquet, read_footers
from ie_batch.io.storage import open_filesystem
from ie_batch.io.writing import part_name, write_parquet


@pytest.fixture
def fs(tmp_path):
    fs, _ = open_filesystem(str(tmp_path))
    return fs


def _part(fs, folder, first, last, label=None):
    rows = list(range(first, last + 1))
    labels = pa.nulls(len(rows), pa.null()) if label is None else pa.array([label] * len(rows))
    path = f"{folder}/{part_name(first, last)}.parquet"
    write_parquet(fs, path, pa.table({"_row": rows, "label": labels}))
    return path


def test_consecutive_parts_are_grouped_up_to_the_target_size():
    sizes = [(f"s/{part_name(i * 4, i * 4 + 3)}.parquet", 10) for i in reversed(range(5))]
    groups = group_parts(sizes, target_bytes=25)
    assert [[g.rsplit("/", 1)[1][:24] for g in group] for group in groups] == [
        ["part-000000000-000000003", "part-000000004-000000007"],
        ["part-000000008-000000011", "part-000000012-000000015"],
        ["part-000000016-000000019"],
    ]


def test_footers_give_the_schema_the_parts_share_and_their_rows(fs, tmp_path):
    paths = [_part(fs, tmp_path, 0, 3), _part(fs, tmp_path, 4, 5, label="x")]
    footers = read_footers(fs, paths)
    assert footers.rows == 6
    assert footers.schema.field("label").type == pa.string()  # the null column takes it


def test_footers_of_parts_whose_types_clash_give_no_schema(fs, tmp_path):
    paths = [_part(fs, tmp_path, 0, 1, label="x")]
    paths.append(f"{tmp_path}/{part_name(2, 3)}.parquet")
    write_parquet(fs, paths[-1], pa.table({"_row": [2, 3], "label": [1, 2]}))
    footers = read_footers(fs, paths)
    assert footers.schema is None and footers.rows == 4


def test_a_merge_reads_each_source_once_hands_it_on_and_writes_all_rows(fs, tmp_path, monkeypatch):
    sources = [_part(fs, tmp_path, i * 3, i * 3 + 2, label=f"l{i}") for i in range(4)]
    sources[1] = _part(fs, tmp_path, 3, 5)  # a null column, cast to the shared type
    schema = read_footers(fs, sources).schema
    opened, seen = [], []
    original = fs.open

    def counting_open(path, mode="rb", **kwargs):
        opened.append(path)
        return original(path, mode, **kwargs)

    monkeypatch.setattr(fs, "open", counting_open)
    rows = merge_parquet(fs, sources, f"{tmp_path}/out/merged.parquet", schema, seen.append)
    monkeypatch.undo()

    assert rows == 12
    assert sorted(path for path in opened if path in sources) == sorted(sources)
    assert [t.column("_row").to_pylist() for t in seen] == [
        list(range(i * 3, i * 3 + 3)) for i in range(4)
    ]
    table = pq.read_table(f"{tmp_path}/out/merged.parquet")
    assert table.column("_row").to_pylist() == list(range(12))
    assert table.column("label").to_pylist()[3:6] == [None] * 3


def test_small_tables_are_gathered_into_row_groups_of_the_bound(tmp_path):
    schema = pa.schema([("_row", pa.int64()), ("text", pa.string())])
    batch = lambda i: pa.table({"_row": [i], "text": ["x" * 100]}, schema=schema)  # noqa: E731
    per_table = batch(0).nbytes
    path = tmp_path / "part.parquet"
    with open(path, "wb") as handle, RowGroupWriter(handle, schema, 4 * per_table) as writer:
        for i in range(10):
            writer.write(batch(i))
    metadata = pq.read_metadata(path)
    assert [metadata.row_group(g).num_rows for g in range(metadata.num_row_groups)] == [4, 4, 2]
    assert pq.read_table(path).column("_row").to_pylist() == list(range(10))
