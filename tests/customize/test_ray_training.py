"""`ie-batch train --ray`: the same training on two Ray Train CPU workers, with its checkpoints
kept by Ray Train and a second run resumed from them."""

from __future__ import annotations

import pytest

from ie_batch.customize.lora_training import TrainingError, train_adapter
from ie_batch.customize.training_options import TrainingOptions
from ie_batch.customize.training_record import read_record

# Ray Train workers; the tiny model takes the embedded model's tokenizer
pytestmark = [pytest.mark.ray, pytest.mark.engine]


def test_two_workers_train_an_adapter_and_a_second_run_resumes_from_ray_trains_checkpoint(
    ray_runtime, tiny_model, example_dir, tmp_path
):
    from peft import PeftConfig

    options = TrainingOptions(
        data_dir=example_dir,
        output=tmp_path / "adapter",
        model=str(tiny_model),
        max_steps=2,
        save_steps=2,
        logging_steps=1,
        batch_size=2,
        grad_accum=1,
        dev_limit=1,
        ray=True,
        workers=2,
    )
    record = train_adapter(options, log=lambda line: None)
    assert record.workers == 2 and record.steps == 2 and record.resumed_from_step is None
    # data-parallel: each step takes two examples on each worker, so the eight examples are an
    # epoch of two steps (one process with the same batch size needs four)
    assert record.epochs == 1.0
    assert PeftConfig.from_pretrained(str(options.output)).r == 16
    assert read_record(options.output).to_dict() == record.to_dict()
    assert not (options.output / "checkpoints").exists()  # Ray Train keeps them, under ray/
    assert (options.output / "ray" / "train").is_dir()

    with pytest.raises(TrainingError, match="pass --resume"):
        train_adapter(options, log=lambda line: None)
    longer = options.model_copy(update={"resume": True, "max_steps": 3})
    resumed = train_adapter(longer, log=lambda line: None)
    assert resumed.resumed_from_step == 2 and resumed.steps == 3
    assert resumed.history[-1].step == 3
