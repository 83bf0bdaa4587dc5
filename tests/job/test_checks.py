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


def _classifier_folder(folder, classes=("world", "sports", "business", "sci_tech"), **fields):
    """A classifier folder as far as the driver reads it: its card (no model needed)."""
    from ie_batch.classifiers import ClassifierCard

    folder.mkdir(parents=True, exist_ok=True)
    values = {"schema_name": "topic_en", "multi_label": False, "max_length": 64}
    card = ClassifierCard(classes=classes, encoder="minilm", **{**values, **fields})
    card.write(folder)
    return str(folder)


def _with_classifier(path, schema="topic_en", schemas=("news_ner_en", "topic_en")):
    return _config(schemas=list(schemas), classifiers=[{"schema": schema, "path": path}])


def test_a_classifier_for_a_schema_of_the_job_with_its_labels_passes(tmp_path):
    check_job(_with_classifier(_classifier_folder(tmp_path / "enc")))
    # a none class the gold used is no label of the schema's: still the same labels
    none = _classifier_folder(
        tmp_path / "none", ("world", "sports", "business", "sci_tech", "none"), none_label="none"
    )
    check_job(_with_classifier(none))


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            lambda tmp: _with_classifier(str(tmp / "absent")),
            "classifiers[0].path: {tmp}/absent: no such folder",
        ),
        (
            lambda tmp: _with_classifier(str(tmp), schema="topics"),
            "classifiers[0].schema: 'topics' is not a schema of this job (it has "
            "'news_ner_en', 'topic_en')",
        ),
        (
            lambda tmp: _with_classifier(str(tmp), schema="news_ner_en"),
            "classifiers[0].schema: 'news_ner_en' is a ner schema; an encoder predicts "
            "classification schemas only",
        ),
        (
            lambda tmp: _with_classifier(str(tmp)),
            "classifiers[0].path: {tmp}: no ie_batch_classifier.json",
        ),
        (
            lambda tmp: _with_classifier(_classifier_folder(tmp / "x", ("world", "sports"))),
            "other labels than schema 'topic_en' has (not trained: ['business', 'sci_tech']",
        ),
        (
            lambda tmp: _with_classifier(_classifier_folder(tmp / "x", multi_label=True)),
            "is multi-label, schema 'topic_en' is multi-class",
        ),
    ],
)
def test_a_classifier_that_cannot_predict_its_schema_fails_before_anything_runs(
    tmp_path, make, message
):
    with pytest.raises(JobCheckError) as refused:
        check_job(make(tmp_path))
    assert message.format(tmp=tmp_path) in str(refused.value)


def test_two_classifiers_for_one_schema_are_refused_by_the_configuration(tmp_path):
    from ie_batch.config import ConfigError

    twice = [{"schema": "topic_en", "path": "a"}, {"schema": "topic_en", "path": "b"}]
    with pytest.raises(ConfigError, match=r"classifiers\[1\]: schema 'topic_en' already has"):
        _config(schemas=["topic_en"], classifiers=twice)
