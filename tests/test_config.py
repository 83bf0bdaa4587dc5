"""The job configuration: validation with named fields, YAML loading."""

import pytest

from ie_batch.config import ConfigError, JobConfig, config_from_data, load_config

MINIMAL = {"input": {"paths": "data/"}, "schemas": ["news_ner_en"], "output": "out/"}


def _with(**sections):
    data = {**MINIMAL}
    for key, value in sections.items():
        data[key] = {**data.get(key, {}), **value} if isinstance(value, dict) else value
    return config_from_data(data)


def test_minimal_config_takes_the_defaults():
    config = config_from_data(MINIMAL)
    assert isinstance(config, JobConfig)
    assert config.input.paths == ["data/"]  # one path becomes a list
    assert config.input.text_column == "text" and config.input.id_column == "id"
    assert config.engine.model == "embedded"
    assert config.engine.structured_outputs is True
    assert config.engine.max_model_len == 2048 and config.engine.max_tokens == 384
    assert config.pool.batch_size == 16 and config.pool.num_gpus == 0
    assert config.prompt.format == "document_first" and config.prompt.label_order == "sorted"
    assert config.ray_address is None


def test_every_field_has_a_description():
    def undescribed(model, prefix=""):
        for name, info in model.model_fields.items():
            annotation = info.annotation
            if isinstance(annotation, type) and hasattr(annotation, "model_fields"):
                yield from undescribed(annotation, f"{prefix}{name}.")
            elif not info.description:
                yield f"{prefix}{name}"

    # sections are walked into: every leaf field of every section is described
    assert list(undescribed(JobConfig)) == []


def test_bad_field_names_the_nested_field():
    with pytest.raises(ConfigError, match=r"<config>: field 'engine\.max_tokens'"):
        _with(engine={"max_tokens": 3})


def test_unknown_field_is_rejected_by_name():
    with pytest.raises(ConfigError, match=r"field 'pool\.batchsize'.*Extra inputs"):
        _with(pool={"batchsize": 8})


def test_missing_required_field_is_named():
    with pytest.raises(ConfigError, match="field 'output'"):
        config_from_data({"input": {"paths": ["a"]}, "schemas": ["news_ner_en"]})


def test_bad_literal_is_named():
    with pytest.raises(ConfigError, match=r"field 'prompt\.label_order'"):
        _with(prompt={"label_order": "random"})


def test_empty_schema_list_is_rejected():
    with pytest.raises(ConfigError, match="field 'schemas'"):
        _with(schemas=[])


def test_source_name_goes_into_the_error():
    with pytest.raises(ConfigError, match="^job.yaml: field"):
        config_from_data({**MINIMAL, "output": None}, source="job.yaml")


def test_overrides_are_merged_deeply():
    config = config_from_data(MINIMAL, overrides={"engine": {"max_tokens": 64}, "output": "o2"})
    assert config.engine.max_tokens == 64
    assert config.engine.max_model_len == 2048  # the rest of the section stays
    assert config.output == "o2"
    assert config.input.paths == ["data/"]


def test_config_is_frozen():
    config = config_from_data(MINIMAL)
    with pytest.raises(ValueError):
        config.output = "elsewhere"


def test_load_config_reads_a_yaml_file(tmp_path):
    path = tmp_path / "job.yaml"
    path.write_text(
        "input:\n"
        "  paths: [s3://bucket/news/*.parquet, local/extra.jsonl]\n"
        "  text_column: body\n"
        "schemas: [news_ner_en, topic_en]\n"
        "output: s3://bucket/enriched/\n"
        "engine:\n"
        "  model: Qwen/Qwen2.5-1.5B-Instruct\n"
        "  max_tokens: 256\n"
        "pool:\n"
        "  num_gpus: 1\n"
        "  max_actors: 4\n",
        encoding="utf-8",
    )
    config = load_config(path, overrides={"input": {"limit": 10}})
    assert config.input.paths == ["s3://bucket/news/*.parquet", "local/extra.jsonl"]
    assert config.input.text_column == "body"
    assert config.input.limit == 10
    assert [ref.schema_ for ref in config.schemas] == ["news_ner_en", "topic_en"]
    assert all(ref.shards == ["*"] for ref in config.schemas)
    assert config.engine.model == "Qwen/Qwen2.5-1.5B-Instruct"
    assert config.engine.max_tokens == 256
    assert config.pool.num_gpus == 1 and config.pool.max_actors == 4


def test_load_config_errors_name_the_file(tmp_path):
    with pytest.raises(ConfigError, match="missing.yaml: cannot read the file"):
        load_config(tmp_path / "missing.yaml")
    listing = tmp_path / "list.yaml"
    listing.write_text("- a\n- b\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="list.yaml: expected a mapping"):
        load_config(listing)
    broken = tmp_path / "broken.yaml"
    broken.write_text("input: [unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="broken.yaml: expected YAML"):
        load_config(broken)
    invalid = tmp_path / "invalid.yaml"
    invalid.write_text("input: {paths: [a]}\nschemas: [x]\noutput: o\nengine: {kind: sglang}\n")
    with pytest.raises(ConfigError, match=rf"{invalid}: field 'engine\.kind'"):
        load_config(invalid)


def test_a_schema_can_be_limited_to_some_shards():
    config = config_from_data(
        {
            "input": {"paths": ["in"]},
            "schemas": ["news_ner_en", {"schema": "finance_events_en", "shards": ["finance*"]}],
            "output": "out",
        }
    )
    ner, events = config.schemas
    assert ner.applies_to("news") and ner.applies_to("finance_2026")
    assert events.applies_to("finance_2026") and not events.applies_to("news")


def test_a_schema_ref_with_an_unknown_key_names_the_field():
    with pytest.raises(ConfigError, match="schemas.0.shard"):
        config_from_data(
            {
                "input": {"paths": ["in"]},
                "schemas": [{"schema": "x", "shard": ["a"]}],
                "output": "o",
            }
        )


def test_an_actor_with_fewer_gpus_than_tensor_parallelism_needs_is_refused():
    with pytest.raises(ConfigError, match=r"pool\.num_gpus 1 is fewer than the 2 GPUs"):
        _with(engine={"tensor_parallel_size": 2}, pool={"num_gpus": 1})
    config = _with(engine={"tensor_parallel_size": 2}, pool={"num_gpus": 2})
    assert config.pool.num_gpus == 2
    assert _with(engine={"tensor_parallel_size": 2}).pool.num_gpus == 0  # CPU: nothing to split
