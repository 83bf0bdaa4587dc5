"""The gold file an import writes is job input: the job's own shard reader reads its rows, and its
gold reader finds every imported record, offsets included."""

from __future__ import annotations

from ie_batch.customize.annotations import import_annotations, write_gold
from ie_batch.io.reading import iter_shard_batches
from ie_batch.io.shards import list_shards
from ie_batch.metrics import gold_from_row
from ie_batch.results import Entity, Relation
from ie_batch.schema import TaskKind
from tests.customize.annotations.conftest import NER_SCHEMA, RE_SCHEMA

TEXT = "Tim Cook works for Apple."
RECORDS = [
    {
        "id": 1,
        "text": TEXT,
        "entities": [
            {"id": 1, "label": "person", "start_offset": 0, "end_offset": 8},
            {"id": 2, "label": "organization", "start_offset": 19, "end_offset": 24},
        ],
        "relations": [{"id": 3, "from_id": 1, "to_id": 2, "type": "works_for"}],
    },
    {"id": 2, "text": "Nobody here.", "entities": [], "relations": []},
]


def _job_rows(path):
    listing = list_shards([str(path)])
    (shard,) = listing.shards
    return [row for table in iter_shard_batches(listing.fs, shard) for row in table.to_pylist()]


def test_imported_entities_are_read_back_by_the_job_reader(schema_file, jsonl, tmp_path):
    report = import_annotations(jsonl(RECORDS), schema_file(NER_SCHEMA), "doccano")
    output = tmp_path / "gold" / "gold.jsonl"
    assert write_gold(report.rows, output) == 2
    rows = _job_rows(output)
    assert [row["_read_error"] for row in rows] == [None, None]
    gold = [gold_from_row(row) for row in rows]
    assert [g.tasks for g in gold] == [frozenset({TaskKind.NER})] * 2
    assert gold[0].result.entities == [
        Entity("person", "Tim Cook", 0, 8),
        Entity("organization", "Apple", 19, 24),
    ]
    assert gold[1].result.entities == []  # scored: every prediction there is a false positive


def test_imported_relations_are_read_back_with_their_offsets(schema_file, jsonl, tmp_path):
    report = import_annotations(jsonl(RECORDS), schema_file(RE_SCHEMA), "doccano")
    output = tmp_path / "gold.jsonl"
    write_gold(report.rows, output)
    first = gold_from_row(_job_rows(output)[0])
    assert first.result.relations == [Relation("Tim Cook", "works_for", "Apple", 0, 8, 19, 24)]
