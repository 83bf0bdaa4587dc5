"""bench.customize: which engine the tuned run gets (the runs themselves are not run in CI)."""

from pathlib import Path

from bench.customize.__main__ import parse_args, tuned_engine


def test_the_tuned_run_serves_the_adapter_beside_the_same_base_model():
    args = parse_args(["--model", "embedded:1.5b"])
    engine = tuned_engine(Path("out/adapter"), args)
    assert engine == {"model": "embedded:1.5b", "lora_adapter": str(Path("out/adapter").resolve())}


def test_a_rank_above_vllms_default_is_passed_on_and_merged_loads_the_merged_checkpoint():
    assert tuned_engine(Path("a"), parse_args(["--rank", "32"]))["engine_kwargs"] == {
        "max_lora_rank": 32
    }
    assert tuned_engine(Path("a"), parse_args(["--merged"])) == {"model": str(Path("a/merged"))}
