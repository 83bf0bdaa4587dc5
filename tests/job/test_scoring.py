"""The scorer's report of gold labels no schema has: counted per task and label, summed across
rows and shards, written to the metrics and warned about, never a crash."""

from ie_batch.config import config_from_data
from ie_batch.job.run import describe_unknown_gold
from ie_batch.job.scoring import Scorer
from ie_batch.job.tally import Tally
from ie_batch.results import DocumentResult

CONFIG = config_from_data(
    {
        "input": {"paths": ["in"]},
        "schemas": ["news_ner_en", {"schema": "topic_en", "shards": ["topics*"]}],
        "output": "out",
    }
)


def _score(row, shard="news"):
    scorer = Scorer.for_config(CONFIG)
    return scorer.score(row, row.get("text"), DocumentResult(), scorer.routing.schemas_for(shard))


def test_gold_entity_types_outside_the_schema_are_counted():
    row = {
        "id": "r1",
        "text": "Ann met Bob in Rome.",
        "entities": [
            {"type": "person", "text": "Ann"},
            {"type": "people", "text": "Bob"},
            {"type": "people", "text": "Ann"},
            {"type": "city", "text": "Rome"},
        ],
    }
    evaluation = _score(row).evaluation
    assert evaluation.unknown_gold_labels == {"ner": {"people": 2, "city": 1}}
    assert evaluation.metrics()["ner"]["gold"] == 4  # still gold: the model can only miss them


def test_a_class_label_outside_the_schema_is_counted_and_the_none_label_is_not():
    outside = _score({"id": "t1", "text": "x", "label": "sport"}, shard="topics_a").evaluation
    assert outside.unknown_gold_labels == {"classification": {"sport": 1}}
    known = _score({"id": "t2", "text": "x", "label": "sports"}, shard="topics_a").evaluation
    assert known.unknown_gold_labels == {}


def test_a_task_the_row_was_not_asked_is_not_checked():
    score = _score({"id": "t3", "text": "x", "label": "sport"}, shard="news")
    assert score.evaluation is None  # topic_en is routed to topics* only


def test_counts_add_up_across_rows_into_the_shard_tally_and_the_metrics():
    tally = Tally()
    for label in ("sport", "sport", "weather", "world"):
        row = {"id": label, "text": "x", "label": label}
        tally += Tally(rows=1, evaluation=_score(row, shard="topics_b").evaluation)
    assert tally.to_dict()["unknown_gold_labels"] == {"classification": {"sport": 2, "weather": 1}}
    line = describe_unknown_gold(tally.evaluation.unknown_gold_labels)
    assert "classification: 'sport' x2, 'weather' x1" in line
