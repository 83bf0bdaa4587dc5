"""Endpoint settings and `app_builder` arguments (ie_batch.serve.settings): no Ray."""

import pytest

from ie_batch.config import EngineConfig
from ie_batch.serve.requests import Limits
from ie_batch.serve.settings import ArgsError, DeploymentSettings, ServiceConfig, settings_from_args


def test_no_arguments_give_the_defaults():
    service, deployment = settings_from_args({})
    assert service == ServiceConfig()
    assert service.engine.model == "embedded" and service.num_gpus == 0
    assert deployment == DeploymentSettings()


def test_command_line_strings_become_typed_settings():
    service, deployment = settings_from_args(
        {
            "model": "Qwen/Qwen2.5-7B-Instruct",
            "num_gpus": "1",
            "num_replicas": "2",
            "max_ongoing_requests": "32",
            "engine.max_model_len": "4096",
            "engine.structured_outputs": "false",
            "prompt.format": "iepile",
            "limits.max_texts": "8",
            "schemas": "a.yaml, b.yaml",
        }
    )
    assert service.engine == EngineConfig(
        model="Qwen/Qwen2.5-7B-Instruct", max_model_len=4096, structured_outputs=False
    )
    assert service.prompt.format == "iepile"
    assert service.limits == Limits(max_texts=8)
    assert service.schemas == ("a.yaml", "b.yaml") and service.num_gpus == 1
    assert (deployment.num_replicas, deployment.max_ongoing_requests) == (2, 32)


def test_nested_sections_from_a_serve_config_file():
    service, _ = settings_from_args(
        {"engine": {"max_tokens": 128, "engine_kwargs": {"seed": 1}}, "limits": {"max_schemas": 2}}
    )
    assert service.engine.max_tokens == 128 and service.engine.engine_kwargs == {"seed": 1}
    assert service.limits.max_schemas == 2


@pytest.mark.parametrize(
    ("args", "says"),
    [
        ({"num_replicas": "zero"}, "app argument 'num_replicas'"),
        ({"engine.max_model_len": "12"}, "app argument 'engine.max_model_len'"),
        ({"limits.max_texts": "0"}, "app argument 'limits.max_texts'"),
        ({"replicas": "2"}, "app argument 'replicas': Extra inputs are not permitted"),
    ],
)
def test_bad_arguments_name_the_argument(args, says):
    with pytest.raises(ArgsError, match=says):
        settings_from_args(args)


def test_the_new_limits_are_builder_arguments():
    service, _ = settings_from_args(
        {
            "limits.max_labels": "16",
            "limits.max_label_chars": "40",
            "limits.max_description_chars": "200",
            "limits.max_prompts": "256",
            "limits.max_body_bytes": "1000000",
        }
    )
    assert service.limits == Limits(
        max_labels=16,
        max_label_chars=40,
        max_description_chars=200,
        max_prompts=256,
        max_body_bytes=1_000_000,
    )
    with pytest.raises(ArgsError, match="app argument 'limits.max_prompts'"):
        settings_from_args({"limits.max_prompts": "0"})
