"""Confusions of a zero-shot run, read from a job's committed output or a results file: the same
thing labelled otherwise, per task, counted and ranked into hard negatives."""

from __future__ import annotations

import json

import pyarrow as pa

from ie_batch.customize.confusions import count_confusions, read_predictions
from ie_batch.io.layout import OutputLayout
from ie_batch.io.manifest import Manifest
from ie_batch.io.shards import Shard
from ie_batch.results import DocumentResult, Entity, Event, LabelScore, Relation
from ie_batch.schema import schema_from_data

NER = schema_from_data({"task": "ner", "name": "n", "entities": ["person", "org", "place"]})
RE = schema_from_data({"task": "re", "name": "r", "relations": ["works_for", "founded", "owns"]})
EE = schema_from_data({"task": "ee", "name": "e", "events": ["buy", "sell", "hire"]})
TOPICS = schema_from_data(
    {"task": "classification", "name": "t", "labels": ["sports", "business", "world"]}
)


def committed_output(root, rows: list[dict]) -> str:
    """A job output with one committed shard holding `rows`, written by the job's own layout and
    manifest (staged part, publish, marker), so `read_results` reads it as a job's."""
    layout = OutputLayout.open(str(root))
    table = pa.Table.from_pylist([{**row, "_row": i} for i, row in enumerate(rows)])
    layout.stage_part("gold", "part-00000", table)
    layout.publish("gold")
    shard = Shard(path=str(root / "in.jsonl"), name="gold", format="jsonl", size=1, version="1")
    Manifest(layout).commit(shard, "fingerprint", {"rows": len(rows), "result_rows": len(rows)})
    return str(root)


def _entity(type_: str, text: str, start: int) -> dict:
    return {"type": type_, "text": text, "start": start, "end": start + len(text)}


def test_entity_confusions_are_read_from_a_committed_job_output(tmp_path):
    gold = {
        "d1": DocumentResult(
            entities=[Entity("org", "Apple", 0, 5), Entity("place", "Paris", 9, 14)]
        ),
        "d2": DocumentResult(entities=[Entity("org", "Acme", 0, 4)]),
    }
    rows = [
        {"id": "d1", "entities": [_entity("place", "Apple", 0), _entity("place", "Paris", 9)]},
        {"id": "d2", "entities": [_entity("person", "Acme", 0), _entity("org", "Acme", 10)]},
        {"id": "not-in-gold", "entities": [_entity("person", "Apple", 0)]},
    ]
    output = committed_output(tmp_path / "out", rows)
    confusions = count_confusions(gold, read_predictions(output), NER)
    assert confusions.documents == 2
    assert confusions.to_dict()["pairs"] == {"org": {"place": 1, "person": 1}}
    assert confusions.ranked() == {"org": ["person", "place"]}  # a tie: by name


def test_a_span_without_offsets_matches_by_its_text(tmp_path):
    gold = {"d1": DocumentResult(entities=[Entity("org", "Apple")])}
    path = tmp_path / "predictions.jsonl"
    path.write_text(json.dumps({"id": "d1", "entities": [_entity("person", "Apple", 3)]}) + "\n")
    confusions = count_confusions(gold, read_predictions(path), NER)
    assert confusions.ranked() == {"org": ["person"]}


def test_relations_events_and_classes_are_confused_on_the_same_pair_trigger_or_text():
    gold = {
        "r": DocumentResult(
            relations=[Relation("Ann", "works_for", "Acme"), Relation("Ann", "owns", "Boat")]
        ),
        "e": DocumentResult(events=[Event("buy", "bought", 5, 11)]),
        "c": DocumentResult(labels=[LabelScore("sports")]),
    }
    predictions = [
        {
            "id": "r",
            "relations": [
                {"subject": "Ann", "relation": "founded", "object": "Acme"},
                {"subject": "Ann", "relation": "founded", "object": "Paris"},  # no gold pair
                {"subject": "Ann", "relation": "owns", "object": "Boat"},  # right
            ],
        },
        {"id": "e", "events": [{"type": "sell", "trigger": "bought", "trigger_start": 5}]},
        {"id": "c", "labels": [{"label": "business"}, {"label": "sports"}]},
    ]
    assert count_confusions(gold, predictions, RE).ranked() == {"works_for": ["founded"]}
    assert count_confusions(gold, predictions, EE).ranked() == {"buy": ["sell"]}
    assert count_confusions(gold, predictions, TOPICS).ranked() == {}  # sports was predicted
    wrong = [{"id": "c", "labels": [{"label": "world"}]}]
    assert count_confusions(gold, wrong, TOPICS).ranked() == {"sports": ["world"]}
