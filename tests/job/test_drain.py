"""The driver's commit loop over the write stage's summaries, without Ray: a stand-in dataset
yields the summary rows the plan would."""

import pyarrow as pa

from ie_batch.fingerprint import Fingerprint
from ie_batch.io.layout import OutputLayout
from ie_batch.io.manifest import Manifest
from ie_batch.io.shards import Shard
from ie_batch.job.run import JobReport, ShardCommitter, _drain
from ie_batch.job.tally import Tally
from ie_batch.job.write_stage import ShardSummary

FP = Fingerprint("fp")


class Summaries:
    def __init__(self, rows):
        self.rows = rows

    def iter_rows(self):
        yield from self.rows


def _shard(name, rows):
    return Shard(
        path=f"/in/{name}.jsonl", name=name, format="jsonl", size=1, version="1", rows=rows
    )


def _run(summaries, expected, shards, layout, report):
    """Drain `summaries` as the driver does, then decide every shard still open."""
    committer = ShardCommitter(layout, FP, report)
    committer.expect(list(shards.values()), expected)
    _drain(summaries, committer, 0.0)
    committer.finish()


def _staged(layout, shard, first, last):
    part = f"part-{first:09d}-{last:09d}"
    path = layout.stage_part(shard, part, pa.table({"_row": list(range(first, last + 1))}))
    return ShardSummary(shard, path, Tally(rows=last - first + 1)).to_row()


def test_a_part_summarised_twice_counts_once(tmp_path):
    layout = OutputLayout.open(str(tmp_path / "out"))
    a, b = _staged(layout, "a", 0, 1), _staged(layout, "a", 2, 3)
    report = JobReport(output="out")
    shards = {"a": _shard("a", 4)}
    _run(Summaries([a, a, b]), {"a": 4}, shards, layout, report)
    assert report.shards["a"].rows == 4 and report.ok
    assert Manifest(layout).is_committed(shards["a"], FP)


def test_a_shard_short_of_rows_at_the_end_fails_alone_and_the_job_ends(tmp_path):
    layout = OutputLayout.open(str(tmp_path / "out"))
    rows = [_staged(layout, "a", 0, 1), _staged(layout, "b", 0, 0)]
    report = JobReport(output="out")
    shards = {"a": _shard("a", 3), "b": _shard("b", 1)}
    _run(Summaries(rows), {"a": 3, "b": 1}, shards, layout, report)
    assert list(report.shards) == ["b"]
    assert "1 of its 3 rows were not written" in report.failed["a"]
    assert not report.ok
    assert not Manifest(layout).is_committed(shards["a"], FP)


def test_overlapping_parts_fail_their_shard_instead_of_committing_duplicates(tmp_path):
    layout = OutputLayout.open(str(tmp_path / "out"))
    rows = [_staged(layout, "a", 0, 1), _staged(layout, "a", 1, 2)]
    report = JobReport(output="out")
    _run(Summaries(rows), {"a": 3}, {"a": _shard("a", 3)}, layout, report)
    assert "row(s) twice: 1" in report.failed["a"] and not report.shards


def _with_count(row, shard_rows):
    return {**row, "shard_rows": shard_rows}


def test_a_shard_is_committed_once_its_last_blocks_summary_brings_the_count(tmp_path):
    layout = OutputLayout.open(str(tmp_path / "out"))
    a, b = _staged(layout, "a", 0, 1), _with_count(_staged(layout, "a", 2, 3), 4)
    report = JobReport(output="out")
    shards = {"a": _shard("a", None)}
    committer = ShardCommitter(layout, FP, report)
    committer.expect(list(shards.values()), {"a": None})
    _drain(Summaries([b]), committer, 0.0)
    assert not committer.decided("a")  # the count is known, the rows are not all there
    _drain(Summaries([a]), committer, 0.0)
    assert report.shards["a"].rows == 4 and Manifest(layout).is_committed(shards["a"], FP)


def test_a_shard_whose_count_never_came_is_counted_from_its_file_at_the_end(tmp_path):
    """Its last block was lost (or it has no row): the driver counts that one file itself."""
    corpus = tmp_path / "in"
    corpus.mkdir()
    (corpus / "a.jsonl").write_text('{"text": "x"}\n{"text": "y"}\n', encoding="utf-8")
    (corpus / "empty.jsonl").write_text("\n\n", encoding="utf-8")
    from ie_batch.io.shards import list_shards

    listing = list_shards([str(corpus)])
    shards = {shard.name: shard for shard in listing.shards}
    layout = OutputLayout.open(str(tmp_path / "out"))
    report = JobReport(output="out")
    committer = ShardCommitter(layout, FP, report)
    committer.expect(list(shards.values()), {"a": None, "empty": None}, listing.fs)
    _drain(Summaries([_staged(layout, "a", 0, 0)]), committer, 0.0)
    assert committer.lost_rows() == {"a": frozenset({1})}
    assert report.shards["empty"].rows == 0  # counted: no row, committed empty
    committer.finish()
    assert "1 of its 2 rows were not written" in report.failed["a"]


def test_a_shard_whose_parts_hold_every_row_is_committed_even_if_a_summary_was_lost(tmp_path):
    """A write task's summary lost after its part landed: the figures are read from the part."""
    from ie_batch.config import config_from_data
    from ie_batch.job.scoring import Scorer

    config = config_from_data(
        {"input": {"paths": ["in"]}, "schemas": ["news_ner_en"], "output": str(tmp_path)}
    )
    layout = OutputLayout.open(str(tmp_path / "out"))

    def stage(first, last):
        rows = list(range(first, last + 1))
        table = pa.table(
            {
                "_row": rows,
                "id": [f"r{i}" for i in rows],
                "text": ["Ada"] * len(rows),
                "errors": pa.array([[]] * len(rows), pa.list_(pa.string())),
                "prompt_tokens": [3] * len(rows),
                "completion_tokens": [1] * len(rows),
            }
        )
        path = layout.stage_part("a", f"part-{first:09d}-{last:09d}", table)
        return ShardSummary("a", path, Tally(rows=len(rows), prompt_tokens=3 * len(rows))).to_row()

    first = stage(0, 1)
    stage(2, 3)  # its summary never reaches the driver
    report = JobReport(output="out")
    shards = {"a": _shard("a", 4)}
    committer = ShardCommitter(layout, FP, report, scorer=Scorer.for_config(config))
    committer.expect(list(shards.values()), {"a": 4})
    _drain(Summaries([first]), committer, 0.0)
    committer.finish()
    assert report.ok and report.shards["a"].rows == 4
    assert report.shards["a"].prompt_tokens == 12
    assert Manifest(layout).is_committed(shards["a"], FP)


class DeferredPool:
    """A stand-in for the Ray task pool: calls run only when the committer waits for them, so
    commits complete after the summaries that started them, as they do on Ray."""

    def __init__(self, function):
        self.function = function
        self.calls = []

    def submit(self, key, *args):
        self.calls.append((key, args))

    def ready(self, block=False):
        if not block or not self.calls:
            return []
        key, args = self.calls.pop(0)
        return [(key, self.function(*args))]

    @property
    def busy(self):
        return bool(self.calls)


def test_a_shard_under_commit_is_published_when_its_preparation_is_done(tmp_path):
    from ie_batch.job.commit import prepare_shard

    layout = OutputLayout.open(str(tmp_path / "out"))
    a, b = _staged(layout, "a", 0, 1), _staged(layout, "a", 2, 3)
    report = JobReport(output="out")
    shards = {"a": _shard("a", 4), "b": _shard("b", 1)}
    pool = DeferredPool(prepare_shard)
    committer = ShardCommitter(layout, FP, report, preparations=pool)
    committer.expect(list(shards.values()), {"a": 4, "b": 1})
    _drain(Summaries([a, b, b]), committer, 0.0)  # a repeat while under commit
    assert [key for key, _ in pool.calls] == ["a"]  # prepared once
    assert committer.decided("a") and not report.shards
    assert not Manifest(layout).is_committed(shards["a"], FP)  # nothing published yet

    _drain(Summaries([_staged(layout, "b", 0, 0)]), committer, 0.0)
    committer.finish()  # settles both
    assert sorted(report.shards) == ["a", "b"] and report.ok
    assert report.shards["a"].rows == 4
    assert Manifest(layout).is_committed(shards["a"], FP)


def test_a_preparation_that_raises_fails_its_shard_and_the_others_commit(tmp_path):
    layout = OutputLayout.open(str(tmp_path / "out"))
    rows = [_staged(layout, "a", 0, 1), _staged(layout, "a", 2, 3), _staged(layout, "b", 0, 0)]
    with layout.fs.open(rows[1]["part"], "wb") as handle:
        handle.write(b"not parquet")  # a part cut short by a failing disk
    report = JobReport(output="out")
    shards = {"a": _shard("a", 4), "b": _shard("b", 1)}
    committer = ShardCommitter(layout, FP, report, part_bytes=1 << 30)
    committer.expect(list(shards.values()), {"a": 4, "b": 1})
    _drain(Summaries(rows), committer, 0.0)
    committer.finish()
    assert list(report.shards) == ["b"]
    assert report.failed["a"].startswith("shard a: publishing failed: ArrowInvalid")
    assert not Manifest(layout).is_committed(shards["a"], FP)
    assert "publishing failed" in layout.failure("a")
