"""The tiny model, the example folder and one trained adapter, built once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.customize.tiny import build_tiny_qwen2, write_example_dir

#: The reference run: every test that trains compares with, or builds on, this one.
REFERENCE = {
    "max_steps": 6,
    "save_steps": 2,
    "logging_steps": 1,
    "batch_size": 2,
    "grad_accum": 1,
    "dev_limit": 1,
}


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    pytest.importorskip("peft")
    return build_tiny_qwen2(tmp_path_factory.mktemp("tiny") / "model")


@pytest.fixture(scope="session")
def example_dir(tmp_path_factory) -> Path:
    return write_example_dir(tmp_path_factory.mktemp("examples") / "data")


@pytest.fixture(scope="session")
def trained(tmp_path_factory, tiny_model, example_dir):
    """An adapter trained for six steps, merged too: (options, record)."""
    from ie_batch.customize.lora_training import train_adapter
    from ie_batch.customize.training_options import TrainingOptions

    options = TrainingOptions(
        data_dir=example_dir,
        output=tmp_path_factory.mktemp("trained") / "adapter",
        model=str(tiny_model),
        merge=True,
        **REFERENCE,
    )
    return options, train_adapter(options, log=lambda line: None)
