"""Publishing a shard merges its many small staged parts into few parts of a target size,
streamed one staged part at a time; row numbers, error sidecars and retries are kept right."""

import json

import pyarrow as pa
import pyarrow.parquet as pq

from ie_batch.io.compaction import group_parts
from ie_batch.io.layout import OutputLayout
from ie_batch.io.writing import part_name


def _stage(layout, shard, first, last, label=None, errors=False):
    rows = list(range(first, last + 1))
    labels = pa.nulls(len(rows), pa.null()) if label is None else pa.array([label] * len(rows))
    part = part_name(first, last)
    layout.stage_part(shard, part, pa.table({"_row": rows, "label": labels}))
    if errors:
        layout.stage_error_part(shard, part, [{"row": first, "reason": f"bad {first}"}])


def _parts(layout, shard):
    return sorted(p.rsplit("/", 1)[1] for p in layout.data_parts(shard))


def test_consecutive_parts_are_grouped_up_to_the_target_size():
    sizes = [(f"s/{part_name(i * 4, i * 4 + 3)}.parquet", 10) for i in reversed(range(5))]
    groups = group_parts(sizes, target_bytes=25)
    assert [[g.rsplit("/", 1)[1][:24] for g in group] for group in groups] == [
        ["part-000000000-000000003", "part-000000004-000000007"],
        ["part-000000008-000000011", "part-000000012-000000015"],
        ["part-000000016-000000019"],
    ]


def test_a_first_publish_merges_the_staged_parts_and_their_sidecars(tmp_path):
    layout = OutputLayout.open(str(tmp_path / "out"))
    _stage(layout, "a", 0, 3, errors=True)
    _stage(layout, "a", 4, 7, label="x")  # the first part's null column takes this type
    _stage(layout, "a", 8, 9, errors=True)
    layout.publish("a", part_bytes=1 << 30)

    assert _parts(layout, "a") == ["part-000000000-000000009.parquet"]
    table = pq.read_table(layout.data_parts("a")[0])
    assert table.column("_row").to_pylist() == list(range(10))
    assert table.schema.field("label").type == pa.string()
    (sidecar,) = layout.error_parts("a")
    assert sidecar.endswith("part-000000000-000000009.jsonl")
    lines = [json.loads(line) for line in open(sidecar, encoding="utf-8")]
    assert [line["row"] for line in lines] == [0, 8]
    assert not layout.fs.exists(layout.staging_dir("a"))


def test_parts_roll_over_at_the_target_size(tmp_path):
    layout = OutputLayout.open(str(tmp_path / "out"))
    for first in range(0, 40, 4):
        _stage(layout, "a", first, first + 3, label="x")
    one_part = layout.fs.size(layout.fs.find(layout.staged_data_dir("a"))[0])
    layout.publish("a", part_bytes=int(one_part * 3.5))
    names = _parts(layout, "a")
    assert len(names) == 4  # 3 + 3 + 3 + 1 staged parts
    rows = [r for p in sorted(layout.data_parts("a")) for r in pq.read_table(p)["_row"].to_pylist()]
    assert rows == list(range(40))


def test_a_retry_replacing_some_parts_keeps_their_names(tmp_path):
    layout = OutputLayout.open(str(tmp_path / "out"))
    _stage(layout, "a", 0, 3, label="x")
    _stage(layout, "a", 4, 7, label="x")
    layout.publish("a", part_bytes=1 << 30)
    (merged,) = _parts(layout, "a")
    _stage(layout, "a", 0, 7, label="retried")  # retry-errors stages the part it changed
    layout.publish("a", part_bytes=1 << 30)
    assert _parts(layout, "a") == [merged]
    assert set(pq.read_table(layout.data_parts("a")[0])["label"].to_pylist()) == {"retried"}


def test_parts_whose_types_clash_are_published_as_they_are(tmp_path):
    layout = OutputLayout.open(str(tmp_path / "out"))
    _stage(layout, "a", 0, 1, label="x")
    layout.stage_part("a", part_name(2, 3), pa.table({"_row": [2, 3], "label": [1, 2]}))
    layout.publish("a", part_bytes=1 << 30)
    assert _parts(layout, "a") == [f"{part_name(0, 1)}.parquet", f"{part_name(2, 3)}.parquet"]
