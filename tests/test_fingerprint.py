"""The fingerprint: what changes a result, taken by content; what does not, left out; markers
written before content hashing still recognised where they mean the same."""

from pathlib import Path

import pyarrow as pa
import pytest

from ie_batch.config import config_from_data, load_config
from ie_batch.fingerprint import Fingerprint, fingerprint_of
from ie_batch.io.layout import OutputLayout
from ie_batch.io.manifest import Manifest
from ie_batch.io.shards import Shard
from ie_batch.job.commit import commit_shard
from ie_batch.job.tally import Tally

REPO = Path(__file__).resolve().parents[1]
MINIMAL = {"input": {"paths": "data/"}, "schemas": ["news_ner_en"], "output": "out/"}
SHARD = Shard(path="/in/a.jsonl", name="a", format="jsonl", size=10, version="1", rows=2)


@pytest.fixture(autouse=True)
def _private_digest_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("IE_BATCH_CACHE", str(tmp_path / "cache"))


def _with(**sections):
    data = {**MINIMAL}
    for key, value in sections.items():
        data[key] = {**data.get(key, {}), **value} if isinstance(value, dict) else value
    return config_from_data(data)


def _value(**sections) -> str:
    return fingerprint_of(_with(**sections)).value


BASE = fingerprint_of(config_from_data(MINIMAL)).value


def test_the_fingerprint_is_stable_and_short():
    assert _value() == BASE and len(BASE) == 16


@pytest.mark.parametrize(
    "sections",
    [
        {"engine": {"model": "embedded:1.5b"}},
        {"engine": {"max_tokens": 128}},
        {"engine": {"dtype": "float16"}},
        {"engine": {"engine_kwargs": {"revision": "abc"}}},
        {"prompt": {"format": "iepile"}},
        {"input": {"text_column": "body"}},
        {"input": {"id_column": "doc"}},
    ],
)
def test_what_changes_a_result_changes_the_fingerprint(sections):
    assert _value(**sections) != BASE


@pytest.mark.parametrize(
    "sections",
    [
        {"output": "s3://other/place/"},
        {"input": {"paths": ["elsewhere/*.jsonl"], "limit": 5}},
        {"ray_address": "ray://head:10001"},
        {"pool": {"min_actors": 2, "max_actors": 8, "batch_size": 4}},
        {"storage": {"endpoint_url": "http://127.0.0.1:9000"}},
        {"engine": {"gpu_memory_utilization": 0.5}},
        {"engine": {"cpu_kv_cache_gib": 8}},
        {"engine": {"tensor_parallel_size": 4}},
        {"engine": {"enforce_eager": True}},
        {"engine": {"enable_prefix_caching": False}},
    ],
)
def test_where_and_how_fast_a_job_runs_leaves_the_fingerprint(sections):
    assert _value(**sections) == BASE


def test_a_schema_file_counts_by_its_text(tmp_path):
    schema = tmp_path / "mine.yaml"
    schema.write_text("task: ner\nentities: [person, location]\n", encoding="utf-8")
    before = _value(schemas=[str(schema)])
    assert _value(schemas=[str(schema)]) == before
    schema.write_text("task: ner\nentities: [person, location, date]\n", encoding="utf-8")
    assert _value(schemas=[str(schema)]) != before


def _adapter(folder: Path, weights: bytes) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "adapter_config.json").write_text('{"r": 8}', encoding="utf-8")
    (folder / "adapter_model.safetensors").write_bytes(weights)
    return str(folder)


def test_a_retrained_adapter_at_the_same_path_changes_the_fingerprint(tmp_path):
    adapter = _adapter(tmp_path / "adapter", b"first training")
    before = _value(engine={"lora_adapter": adapter})
    assert before != BASE
    _adapter(tmp_path / "adapter", b"second training")
    assert _value(engine={"lora_adapter": adapter}) != before


def test_the_same_adapter_at_another_path_keeps_the_fingerprint(tmp_path):
    one = _adapter(tmp_path / "one", b"weights")
    other = _adapter(tmp_path / "copies" / "other", b"weights")
    (tmp_path / "copies" / "other" / ".DS_Store").write_bytes(b"editor noise")
    assert _value(engine={"lora_adapter": one}) == _value(engine={"lora_adapter": other})


def test_a_local_model_counts_by_its_files(tmp_path):
    model = _adapter(tmp_path / "model", b"v1")
    before = _value(engine={"model": model})
    _adapter(tmp_path / "model", b"v2")
    assert _value(engine={"model": model}) != before


def test_few_shot_examples_count_by_content_and_only_when_shown(tmp_path):
    examples = tmp_path / "examples.jsonl"
    examples.write_text('{"text": "a", "entities": []}\n', encoding="utf-8")
    shown = _value(prompt={"examples": str(examples), "few_shot_k": 1})
    assert _value(prompt={"examples": str(examples), "few_shot_k": 0}) == BASE
    examples.write_text('{"text": "b", "entities": []}\n', encoding="utf-8")
    assert _value(prompt={"examples": str(examples), "few_shot_k": 1}) != shown


def test_the_legacy_fingerprint_is_what_earlier_versions_wrote():
    """The demo's fingerprints as earlier versions recorded them (golden snapshot, session 4)."""
    assert fingerprint_of(load_config(REPO / "examples" / "demo_en.yaml")).legacy == (
        "d8a37ab9455ae47f"
    )
    assert fingerprint_of(load_config(REPO / "examples" / "demo_zh.yaml")).legacy == (
        "8223a2cfe1865e71"
    )


def test_no_legacy_fingerprint_when_it_took_a_file_by_its_path(tmp_path):
    adapter = _adapter(tmp_path / "adapter", b"weights")
    assert fingerprint_of(_with(engine={"lora_adapter": adapter})).legacy is None
    assert fingerprint_of(_with(engine={"model": str(tmp_path / "adapter")})).legacy is None


def test_a_legacy_marker_is_recognised_once_and_rewritten(tmp_path):
    fingerprint = fingerprint_of(config_from_data(MINIMAL))
    layout = OutputLayout.open(str(tmp_path / "out"))
    layout.stage_part("a", "part-000000000-000000001", pa.table({"_row": [0, 1]}))
    commit_shard(layout, SHARD, fingerprint.legacy, Tally(rows=2), expected_rows=2)
    manifest = Manifest(layout)
    assert manifest.is_committed(SHARD, fingerprint)
    manifest.adopt(SHARD, manifest.entry("a"), fingerprint)
    assert manifest.entry("a")["fingerprint"] == fingerprint.value
    assert manifest.is_committed(SHARD, Fingerprint(fingerprint.value))
    assert not manifest.is_committed(SHARD, Fingerprint("another"))


def test_an_encoder_classifier_counts_by_its_files_and_the_schema_it_predicts(tmp_path):
    encoder = _adapter(tmp_path / "encoder", b"trained once")
    with_encoder = {"classifiers": [{"schema": "news_ner_en", "path": encoder}]}
    before = _value(**with_encoder)
    assert before != BASE and fingerprint_of(_with(**with_encoder)).legacy is None
    faster = {"classifiers": [{"schema": "news_ner_en", "path": encoder, "batch_size": 4}]}
    assert _value(**faster) == before
    _adapter(tmp_path / "encoder", b"trained again")
    assert _value(**with_encoder) != before
