"""The driver's checks before anything runs: credentials in URLs, schemas, a local model."""

import pytest

from ie_batch.config import config_from_data
from ie_batch.io.storage import redact
from ie_batch.job.checks import JobCheckError, check_job
from ie_batch.schema import SchemaError


def _config(**overrides):
    data = {"input": {"paths": ["in/"]}, "schemas": ["news_ner_en"], "output": "out/"}
    data.update(overrides)
    return config_from_data(data)


@pytest.mark.parametrize(
    ("field", "overrides"),
    [
        ("output", {"output": "s3://AKIAXXX:secret@bucket/out"}),
        ("input.paths[0]", {"input": {"paths": ["s3://key:secret@bucket/in/"]}}),
        ("storage.endpoint_url", {"storage": {"endpoint_url": "http://user:pw@minio:9000"}}),
    ],
)
def test_credentials_in_a_url_are_refused_and_never_repeated(field, overrides):
    with pytest.raises(JobCheckError) as refused:
        check_job(_config(**overrides))
    message = str(refused.value)
    assert message.startswith(f"{field}:") and "AWS_ACCESS_KEY_ID" in message
    assert "secret" not in message and "pw" not in message


def test_redact_removes_the_user_info_only():
    assert redact("s3://key:secret@bucket/x") == "s3://bucket/x"
    assert redact("s3://bucket/x") == "s3://bucket/x"


def test_an_unknown_schema_and_a_missing_local_model_fail_before_anything_runs(tmp_path):
    with pytest.raises(SchemaError, match="no_such_schema"):
        check_job(_config(schemas=["no_such_schema"]))
    with pytest.raises(ValueError, match="are both named 'news_ner_en'"):
        check_job(_config(schemas=["news_ner_en", "news_ner_en"]))
    missing = tmp_path / "models" / "mine"
    with pytest.raises(JobCheckError, match=f"engine.model: {missing}: no such file"):
        check_job(_config(engine={"model": str(missing)}))
    check_job(_config(engine={"model": "Qwen/Qwen2.5-7B-Instruct"}))  # a hub id is not checked
    check_job(_config())


def test_a_missing_adapter_or_examples_file_fails_before_anything_runs(tmp_path):
    adapter = tmp_path / "adapters" / "mine"
    with pytest.raises(JobCheckError, match=f"engine.lora_adapter: {adapter}: no such file"):
        check_job(_config(engine={"lora_adapter": str(adapter)}))
    examples = tmp_path / "examples.jsonl"
    with pytest.raises(JobCheckError, match=f"prompt.examples: {examples}: no such file"):
        check_job(_config(prompt={"examples": str(examples), "few_shot_k": 2}))
    check_job(_config(prompt={"examples": str(examples), "few_shot_k": 0}))  # not shown: unused


def test_a_served_model_name_is_not_taken_for_a_local_path():
    served = {"kind": "openai", "base_url": "http://127.0.0.1:8000/v1", "model": "gpt-4o-mini"}
    check_job(_config(engine=served))
    with pytest.raises(JobCheckError, match="engine.model: gpt-4o-mini: no such file"):
        check_job(_config(engine={"model": "gpt-4o-mini"}))  # for vLLM it would be a path
