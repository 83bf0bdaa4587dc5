"""What the review page shows, read from a job's output folder through its layout."""

import json

import pytest

from ie_batch.metrics import Counts
from ie_batch.report.data import (
    ReportData,
    read_report_data,
    reason_pattern,
    sample_positions,
)


@pytest.fixture(scope="module")
def data(job_output) -> ReportData:
    output, _, _ = job_output
    return read_report_data(str(output), sample=100)


def test_committed_shards_carry_their_metrics_and_a_failed_one_its_reason(data, job_output):
    output, _, _ = job_output
    assert [(s.name, s.state) for s in data.shards] == [
        ("empty", "committed"),
        ("news", "committed"),
        ("web", "committed"),
        ("broken", "failed"),
    ]
    news = data.shards[1]
    metrics = json.loads((output / "metrics" / "news.json").read_text(encoding="utf-8"))
    assert (news.rows, news.error_rows, news.prompt_tokens) == (
        metrics["rows"],
        metrics["error_rows"],
        metrics["prompt_tokens"],
    )
    assert news.tasks == metrics["tasks"]
    assert "broken.parquet: cannot be read" in data.failed[0].reason
    assert data.job["model"] == "embedded" and data.job["prompt_format"] == "iepile"
    assert data.job["schemas"][0] == "news_ner_en"


def test_task_totals_are_the_jobs_summed_counts(data, job_output):
    """Re-summed from the shards' metrics files, they equal what the job summed as it ran."""
    output, report, _ = job_output
    summary = json.loads((output / "summary.json").read_text(encoding="utf-8"))
    assert data.totals == summary["tasks"] == report.total.evaluation.metrics()
    assert set(data.totals) == {"ner", "re", "ee_trigger", "ee_argument", "classification"}


def test_per_type_counts_add_up_to_each_tasks_counts(data):
    assert set(data.per_type) == {"ner", "re", "ee_trigger", "ee_argument"}
    for key, by_type in data.per_type.items():
        assert sum(by_type.values(), Counts()) == Counts.from_dict(data.totals[key]), key


def test_per_type_scores_count_each_types_tuples_by_exact_match(data):
    """From the corpus: n1 and n2 have entity gold (London is missed); n3's gold event has no
    price, so the price the model gave is a false positive."""
    assert data.per_type["ner"] == {
        "location": Counts(tp=2, pred=2, gold=3),
        "organization": Counts(tp=2, pred=2, gold=2),
        "person": Counts(tp=2, pred=2, gold=2),
    }
    assert data.per_type["re"] == {"works_for": Counts(tp=1, pred=1, gold=1)}
    assert data.per_type["ee_trigger"] == {"acquisition": Counts(tp=1, pred=1, gold=1)}
    assert data.per_type["ee_argument"] == {
        "acquisition / acquirer": Counts(tp=1, pred=1, gold=1),
        "acquisition / price": Counts(tp=0, pred=1, gold=0),
        "acquisition / target": Counts(tp=1, pred=1, gold=1),
    }


def test_errors_are_grouped_by_stage_and_reason_whatever_the_row(data):
    groups = {(group.stage, group.reason): group for group in data.errors}
    ner = groups["extract", "slice news_ner_en[#/#]: engine failed: scripted failure on 'Turing'"]
    assert ner.count == 2 and ner.shards == {"news", "web"}
    assert [example[0] for example in ner.examples] == ["n5", "w7"]
    assert data.errors[0] is ner  # the most frequent first
    bad_line = groups["read", "not valid JSON (Expecting value at column #)"]
    ((row_id, shard, row, reason),) = bad_line.examples
    assert (row_id, shard, row) == ("news:3", "news", 3)
    assert reason.endswith("news.jsonl:4: not valid JSON (Expecting value at column 1)")
    assert data.error_lines == sum(group.count for group in data.errors) == 7


def test_reasons_lose_their_location_and_numbers():
    assert reason_pattern("/data/in/a.jsonl:17: not valid JSON (at column 3)") == (
        "not valid JSON (at column #)"
    )
    assert reason_pattern("news row 4: column 'text' is missing") == "column 'text' is missing"
    assert (
        reason_pattern("slice topic_en[2/3]: engine failed") == "slice topic_en[#/#]: engine failed"
    )


def test_bad_cases_are_listed_with_their_shard(data):
    assert data.bad_case_count == 3
    assert [
        (case["shard"], case["id"], case["label"], case["prediction"]) for case in data.bad_cases
    ] == [
        ("news", "n3", "world", "business"),
        ("news", "n4", "business", "world"),
        ("news", "n5", "sci_tech", None),
    ]


def test_sample_positions_spread_evenly_over_the_rows():
    assert sample_positions(19, 4) == [2, 7, 11, 16]
    assert sample_positions(3, 10) == [0, 1, 2]
    assert sample_positions(10, 0) == [] and sample_positions(0, 5) == []
    assert len(sample_positions(1_000_000, 20)) == 20


def test_a_sample_takes_rows_across_shards_in_order(job_output):
    output, _, rows = job_output
    data = read_report_data(str(output), sample=4)
    # 19 committed rows: empty has none, news rows 0-6, web rows 7-18
    assert [(doc.shard, doc.row) for doc in data.samples] == [
        ("news", 2),
        ("web", 0),
        ("web", 4),
        ("web", 9),
    ]
    assert data.sampled_from == 19
    assert [doc.id for doc in data.samples] == ["n3", "w0", "w4", "w9"]
    assert data.samples[1].text == rows["w0"]["text"]


def test_sample_documents_carry_every_span_with_its_offsets_and_gold_match(data, job_output):
    _, _, rows = job_output
    documents = {doc.id: doc for doc in data.samples}
    assert len(documents) == 19
    n1 = documents["n1"]
    row = rows["n1"]
    expected = {("entity", e["type"], None, e["start"], e["end"]) for e in row["entities"]}
    for r in row["relations"]:
        expected |= {
            ("relation", r["relation"], "subject", r["subject_start"], r["subject_end"]),
            ("relation", r["relation"], "object", r["object_start"], r["object_end"]),
        }
    assert {(s.kind, s.label, s.role, s.start, s.end) for s in n1.spans} == expected
    assert all(s.in_gold for s in n1.spans)
    assert n1.labels == ["business"] and n1.gold_labels == ["business"]
    n2 = documents["n2 <i>"]
    assert n2.missed == {"ner": [("London", "location")]}
    n3 = documents["n3"]
    price = next(s for s in n3.spans if s.role == "price")
    assert price.in_gold is False and price.text == "$5m"
    assert n3.text[price.start : price.end] == "$5m"
    assert n3.gold_labels == ["world"] and n3.labels == ["business"]
    # web rows have no gold: nothing to match against
    assert {s.in_gold for s in documents["w0"].spans} == {None}
    assert documents["w0"].gold_labels is None
    assert documents["n5"].errors and documents["news:3"].text is None


def test_an_output_no_job_wrote_is_refused(tmp_path):
    with pytest.raises(FileNotFoundError, match="no ie_batch job wrote here"):
        read_report_data(str(tmp_path))
