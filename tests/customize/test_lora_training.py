"""LoRA training on a tiny random Qwen2: the adapter folder, its record, resuming, merging."""

from __future__ import annotations

import json

import pytest

from ie_batch.customize.lora_training import TrainingError, train_adapter
from ie_batch.customize.training_options import TrainingOptions
from ie_batch.customize.training_record import read_record
from tests.customize.conftest import REFERENCE

transformers = pytest.importorskip("transformers")

# The tiny model is built here, but with the embedded model's tokenizer (prepared on first use).
pytestmark = pytest.mark.engine


def _losses(checkpoint_dir):
    state = json.loads((checkpoint_dir / "trainer_state.json").read_text())
    return {e["step"]: e["loss"] for e in state["log_history"] if "loss" in e}


def test_the_adapter_folder_loads_with_peft_and_records_its_training(trained, example_dir):
    from peft import PeftConfig, PeftModel
    from transformers import AutoModelForCausalLM

    options, record = trained
    out = options.output
    config = PeftConfig.from_pretrained(str(out))
    assert config.r == 16 and config.lora_alpha == 32 and config.lora_dropout == 0.05
    # every attention and MLP projection of the block, not the output head
    assert {name.rsplit(".", 1)[-1] for name in config.target_modules} == {
        "q_proj",
        "k_proj",
        "v_proj",
        "o_proj",
        "gate_proj",
        "up_proj",
        "down_proj",
    }
    model = PeftModel.from_pretrained(
        AutoModelForCausalLM.from_pretrained(str(options.model)), str(out)
    )
    assert any("lora_A" in name for name, _ in model.named_parameters())
    assert record.schemas == ["people_places.yaml"] and (out / "people_places.yaml").exists()
    assert (out / "tokenizer.json").exists()

    again = read_record(out)
    assert again.to_dict() == record.to_dict()
    assert record.data["sha256"] == "0" * 64 and record.data["train_examples"] == 8
    assert record.base_model_path == str(options.model)
    assert record.steps == 6 and record.resumed_from_step is None
    assert record.hyperparameters["rank"] == 16 and record.hyperparameters["max_steps"] == 6
    assert record.train_tokens > 0 and record.tokens_per_second > 0
    # one evaluation at the end of the epoch (4 steps of 2 over 8 examples), one at the stop
    assert [(h.step, h.epoch) for h in record.history] == [(4, 1.0), (6, 1.5)]
    for figures in record.history:
        assert figures.dev_loss is not None and figures.train_loss is not None
        assert figures.dev_f1 is not None and 0.0 <= figures.dev_f1 <= 1.0
        assert figures.dev_examples == 1


def test_the_loss_covers_the_answer_and_its_end_of_turn_token_only(trained, example_dir):
    from transformers import AutoTokenizer

    from ie_batch.customize.examples_dataset import encode_example, read_examples

    options, _ = trained
    tokenizer = AutoTokenizer.from_pretrained(str(options.output))
    example = read_examples(example_dir / "train.jsonl", "train")[0]
    features = encode_example(tokenizer, example, 2048).features()
    answer = [
        t
        for t, label in zip(features["input_ids"], features["labels"], strict=True)
        if label != -100
    ]
    assert tokenizer.decode(answer) == example.answer + "<|im_end|>"
    prompt = tokenizer.apply_chat_template(
        [m.model_dump() for m in example.messages], add_generation_prompt=True, tokenize=False
    )
    assert tokenizer.decode(features["input_ids"][: -len(answer)]) == prompt


class _Crash(transformers.TrainerCallback):
    """Kills the run after step 3, between the checkpoints of steps 2 and 4."""

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == 3:
            raise KeyboardInterrupt("killed after step 3")


def test_an_interrupted_run_resumed_ends_exactly_where_an_uninterrupted_one_does(
    trained, tiny_model, example_dir, tmp_path
):
    from safetensors.torch import load_file

    reference, _ = trained
    options = TrainingOptions(
        data_dir=example_dir, output=tmp_path / "adapter", model=str(tiny_model), **REFERENCE
    )
    with pytest.raises(KeyboardInterrupt):
        train_adapter(options, callbacks=[_Crash()], log=lambda line: None)
    checkpoints = options.output / "checkpoints"
    assert sorted(p.name for p in checkpoints.iterdir()) == ["checkpoint-2"]
    assert not (options.output / "training_record.json").exists()

    with pytest.raises(TrainingError, match="pass --resume"):
        train_adapter(options, log=lambda line: None)
    record = train_adapter(options.model_copy(update={"resume": True}), log=lambda line: None)

    assert record.resumed_from_step == 2 and record.steps == 6
    resumed = _losses(checkpoints / "checkpoint-6")
    uninterrupted = _losses(reference.output / "checkpoints" / "checkpoint-6")
    # steps 3-6 trained once after the resume (none repeated, none skipped), each on the same
    # batch with the same optimizer, schedule and dropout draws as without the interruption
    assert sorted(resumed) == [1, 2, 3, 4, 5, 6]
    assert resumed == uninterrupted
    ours = load_file(options.output / "adapter_model.safetensors")
    theirs = load_file(reference.output / "adapter_model.safetensors")
    assert ours.keys() == theirs.keys()
    assert all(ours[k].equal(theirs[k]) for k in ours)


def test_resume_needs_a_checkpoint(tiny_model, example_dir, tmp_path):
    options = TrainingOptions(
        data_dir=example_dir, output=tmp_path / "none", model=str(tiny_model), resume=True
    )
    with pytest.raises(TrainingError, match="no checkpoint to resume from"):
        train_adapter(options, log=lambda line: None)
