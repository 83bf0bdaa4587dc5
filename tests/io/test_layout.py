"""OutputLayout: where a shard's files live, publish, and clear within the shard's areas."""

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ie_batch.io.layout import OutputLayout
from ie_batch.io.writing import part_name


def _layout(tmp_path):
    return OutputLayout.open(str(tmp_path / "out"))


def _touch(layout, path, text="x"):
    layout.fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
    with layout.fs.open(path, "w") as handle:
        handle.write(text)


def test_every_area_of_a_shard_has_one_path(tmp_path):
    layout = _layout(tmp_path)
    root = layout.root
    assert layout.data_dir("a") == f"{root}/data/a"
    assert layout.errors_dir("a") == f"{root}/errors/a"
    assert layout.metrics_path("a") == f"{root}/metrics/a.json"
    assert layout.badcases_path("a") == f"{root}/badcases/a.jsonl"
    assert layout.staged_data_dir("a") == f"{root}/_staging/a/data"
    assert layout.marker_path("a") == f"{root}/_manifest/a.json"
    assert layout.job_record_path == f"{root}/_job.json"
    assert layout.summary_path == f"{root}/summary.json"


def test_publish_moves_staged_parts_and_replaces_the_errors_whole(tmp_path):
    layout = _layout(tmp_path)
    layout.stage_part("a", "part-000000000-000000001", pa.table({"_row": [1, 0]}))
    layout.stage_error_part("a", "part-000000000-000000001", [{"row": 0}])
    _touch(layout, f"{layout.errors_dir('a')}/part-000000005-000000009.jsonl")  # an old sidecar
    layout.publish("a")
    assert [p.rsplit("/", 1)[1] for p in layout.data_parts("a")] == [
        "part-000000000-000000001.parquet"
    ]
    assert [p.rsplit("/", 1)[1] for p in layout.error_parts("a")] == [
        "part-000000000-000000001.jsonl"
    ]
    assert not layout.fs.exists(layout.staging_dir("a"))


def _stage(layout, shard, first, last, label="x", errors=False):
    part = part_name(first, last)
    rows = list(range(first, last + 1))
    layout.stage_part(shard, part, pa.table({"_row": rows, "label": [label] * len(rows)}))
    if errors:
        layout.stage_error_part(shard, part, [{"row": first, "reason": f"bad {first}"}])


def _names(paths):
    return [p.rsplit("/", 1)[1] for p in paths]


def test_stage_merged_writes_the_merged_parts_and_sidecars_in_staging_only(tmp_path):
    layout = _layout(tmp_path)
    _stage(layout, "a", 0, 3, errors=True)
    _stage(layout, "a", 4, 7)
    _stage(layout, "a", 8, 9, errors=True)
    seen = []
    names = layout.stage_merged("a", 10, 1 << 30, lambda t: seen.extend(t["_row"].to_pylist()))

    assert names == ["part-000000000-000000009"]
    assert sorted(seen) == list(range(10))
    merged = layout.merged_dir("a")
    assert _names(layout.fs.find(merged)) == [
        "part-000000000-000000009.parquet",
        "part-000000000-000000009.jsonl",
    ]
    (sidecar,) = layout.fs.find(f"{merged}/errors")
    assert [json.loads(line)["row"] for line in layout.fs.cat(sidecar).splitlines()] == [0, 8]
    assert not layout.data_parts("a") and not layout.error_parts("a")
    assert len(layout.staged_parts("a")) == 3  # published in their place, or dropped, later


@pytest.mark.parametrize("case", ["one part", "types clash", "rows do not add up"])
def test_stage_merged_writes_nothing_when_there_is_nothing_to_merge(tmp_path, case):
    layout = _layout(tmp_path)
    _stage(layout, "a", 0, 1)
    if case == "types clash":
        layout.stage_part("a", part_name(2, 3), pa.table({"_row": [2, 3], "label": [1, 2]}))
    elif case == "rows do not add up":
        _stage(layout, "a", 2, 3)
    rows = 5 if case == "rows do not add up" else 4
    seen = []
    assert layout.stage_merged("a", rows, 1 << 30, seen.append) is None
    assert not seen and not layout.fs.exists(layout.merged_dir("a"))


def test_publish_of_a_merged_shard_moves_its_merged_parts_not_the_staged_ones(tmp_path):
    layout = _layout(tmp_path)
    _stage(layout, "a", 0, 3, errors=True)
    _stage(layout, "a", 4, 5)
    layout.stage_merged("a", 6, 1 << 30, lambda table: None)
    layout.publish("a", merged=True)

    assert _names(layout.data_parts("a")) == ["part-000000000-000000005.parquet"]
    assert _names(layout.error_parts("a")) == ["part-000000000-000000005.jsonl"]
    assert pq.read_table(layout.data_parts("a")[0])["_row"].to_pylist() == list(range(6))
    assert not layout.fs.exists(layout.staging_dir("a"))


def test_a_staged_part_is_sorted_by_row(tmp_path):
    layout = _layout(tmp_path)
    path = layout.stage_part("a", "part", pa.table({"_row": [2, 0, 1], "v": ["c", "a", "b"]}))
    with layout.fs.open(path, "rb") as handle:
        import pyarrow.parquet as pq

        assert pq.read_table(handle).column("v").to_pylist() == ["a", "b", "c"]


def test_clear_removes_one_shard_and_nothing_of_another(tmp_path):
    layout = _layout(tmp_path)
    for shard in ("a", "ab"):
        _touch(layout, f"{layout.data_dir(shard)}/part.parquet")
        _touch(layout, f"{layout.errors_dir(shard)}/part.jsonl")
        _touch(layout, layout.metrics_path(shard))
        _touch(layout, layout.badcases_path(shard))
        _touch(layout, layout.marker_path(shard))
        _touch(layout, f"{layout.staging_dir(shard)}/data/part.parquet")
    layout.clear("a")
    remaining = sorted(p.removeprefix(layout.root + "/") for p in layout.fs.find(layout.root))
    assert remaining == [
        "_manifest/ab.json",
        "_staging/ab/data/part.parquet",
        "badcases/ab.jsonl",
        "data/ab/part.parquet",
        "errors/ab/part.jsonl",
        "metrics/ab.json",
    ]


def test_clear_invalidates_the_marker_before_it_touches_any_data(tmp_path):
    layout = _layout(tmp_path)
    _touch(layout, f"{layout.data_dir('a')}/part.parquet")
    _touch(layout, layout.marker_path("a"))
    removed = []
    original = layout.fs.rm

    def rm_then_die(path, *args, **kwargs):
        removed.append(path)
        original(path, *args, **kwargs)
        raise KeyboardInterrupt  # the driver is killed after its first delete

    layout.fs.rm = rm_then_die
    try:
        layout.clear("a")
    except KeyboardInterrupt:
        pass
    finally:
        layout.fs.rm = original
    assert removed == [layout.marker_path("a")]
    assert layout.fs.exists(f"{layout.data_dir('a')}/part.parquet")


@pytest.mark.parametrize("name", ["", ".", "..", "a/b", "../x"])
def test_no_path_of_an_unsafe_shard_name_is_given_out(tmp_path, name):
    layout = _layout(tmp_path)
    with pytest.raises(ValueError, match="not a safe shard name"):
        layout.clear(name)
    with pytest.raises(ValueError, match="not a safe shard name"):
        layout.data_dir(name)
