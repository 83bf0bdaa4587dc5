"""--merge: the merged checkpoint holds the base weights plus the adapter's update."""

from __future__ import annotations

import pytest

from ie_batch.customize.training_record import read_record

pytestmark = pytest.mark.engine  # the tiny model takes the embedded model's tokenizer


def test_the_merged_checkpoint_holds_base_plus_adapter_weights(trained):
    from safetensors.torch import load_file

    options, record = trained
    merged_dir = options.output / "merged"
    assert record.merged == str(merged_dir) and read_record(options.output).merged == record.merged
    assert not (merged_dir / "adapter_config.json").exists()
    assert (merged_dir / "tokenizer.json").exists()
    merged = load_file(merged_dir / "model.safetensors")
    base = load_file(f"{options.model}/model.safetensors")
    adapter = load_file(options.output / "adapter_model.safetensors")
    scaling = 32 / 16
    name = "model.layers.0.self_attn.q_proj"
    a = adapter[f"base_model.model.{name}.lora_A.weight"].float()
    b = adapter[f"base_model.model.{name}.lora_B.weight"].float()
    delta = scaling * (b @ a)
    assert delta.abs().max() > 0  # six steps moved the adapter off its zero start
    expected = base[f"{name}.weight"].float() + delta
    assert merged.keys() == base.keys()
    assert (merged[f"{name}.weight"].float() - expected).abs().max() <= 1e-2
