"""Training options: IEPile's defaults, the checks, and the precision each device gets."""

import pytest
from pydantic import ValidationError

from ie_batch.customize.training_options import ALL_LINEAR, TrainingOptions


def test_the_defaults_are_iepiles_lora_on_every_projection(tmp_path):
    options = TrainingOptions(data_dir=tmp_path / "data", output=tmp_path / "adapter")
    assert (options.rank, options.alpha, options.dropout) == (16, 32, 0.05)
    assert options.target_modules == ALL_LINEAR and options.model == "embedded"
    assert options.effective_batch == 16


def test_an_output_inside_the_data_folder_and_a_rank_of_zero_are_refused(tmp_path):
    with pytest.raises(ValidationError, match="must not be inside the data folder"):
        TrainingOptions(data_dir=tmp_path, output=tmp_path / "adapter")
    with pytest.raises(ValidationError, match="rank"):
        TrainingOptions(data_dir=tmp_path / "d", output=tmp_path / "o", rank=0)


def test_bf16_on_a_cpu_that_runs_it_float32_on_one_that_emulates_it_or_when_asked():
    pytest.importorskip("torch")
    from ie_batch.customize.lora_training import precision

    avx512_bf16 = frozenset({"avx2", "avx512f", "avx512_bf16"})
    avx2_only = frozenset({"avx", "avx2", "fma"})
    assert precision("auto", use_gpu=False, cpu_flags=avx512_bf16) == ("cpu", "bfloat16")
    assert precision("auto", use_gpu=False, cpu_flags=avx2_only) == ("cpu", "float32")
    assert precision("bfloat16", use_gpu=False, cpu_flags=avx2_only) == ("cpu", "bfloat16")
    assert precision("float32", use_gpu=False, cpu_flags=avx512_bf16) == ("cpu", "float32")
