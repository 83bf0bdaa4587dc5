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


def test_autoscaling_arguments_replace_a_fixed_replica_count():
    from ie_batch.serve.settings import Autoscaling

    _, deployment = settings_from_args(
        {
            "autoscaling.min_replicas": "0",
            "autoscaling.max_replicas": "4",
            "autoscaling.target_ongoing_requests": "8",
            "autoscaling.downscale_delay_s": "900",
        }
    )
    assert deployment.autoscaling == Autoscaling(
        min_replicas=0, max_replicas=4, target_ongoing_requests=8, downscale_delay_s=900
    )
    # what Serve is handed: every field but the unset optional ones, with Serve's own names
    assert deployment.autoscaling.serve_config() == {
        "min_replicas": 0,
        "max_replicas": 4,
        "target_ongoing_requests": 8.0,
        "upscale_delay_s": 30.0,
        "downscale_delay_s": 900.0,
    }
    _, nested = settings_from_args({"autoscaling": {"max_replicas": 2}})  # a Serve config file
    assert nested.autoscaling == Autoscaling(max_replicas=2)
    assert settings_from_args({})[1].autoscaling is None  # no autoscaling unless asked


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (
            {"autoscaling.min_replicas": "1"},
            r"app argument 'autoscaling\.max_replicas': Field required",
        ),
        (
            {"autoscaling.min_replicas": "3", "autoscaling.max_replicas": "2"},
            r"app argument 'autoscaling': Value error, min_replicas 3 > max_replicas 2",
        ),
        (
            {"autoscaling.max_replicas": "2", "autoscaling.initial_replicas": "5"},
            "initial_replicas 5 is not between min_replicas 1 and max_replicas 2",
        ),
        (
            {"autoscaling.max_replicas": "2", "num_replicas": "2"},
            "app argument 'num_replicas': num_replicas and autoscaling exclude each other",
        ),
        (
            {"autoscaling.max_replicas": "2", "autoscaling.target_requests": "2"},
            r"app argument 'autoscaling\.target_requests': Extra inputs",
        ),
    ],
)
def test_bad_autoscaling_arguments_name_the_argument(args, says):
    with pytest.raises(ArgsError, match=says):
        settings_from_args(args)


def test_serve_accepts_the_autoscaling_config_as_it_is_handed_over():
    serve_config = pytest.importorskip("ray.serve.config", exc_type=ImportError)
    from ie_batch.serve.settings import Autoscaling

    ours = Autoscaling(min_replicas=1, max_replicas=8, initial_replicas=2, upscale_delay_s=10)
    theirs = serve_config.AutoscalingConfig(**ours.serve_config())
    for name, value in ours.serve_config().items():
        assert getattr(theirs, name) == value, name
    # the defaults restated here are Serve's own, so leaving a field out changes nothing
    default = serve_config.AutoscalingConfig(max_replicas=1)
    for name in ("min_replicas", "target_ongoing_requests", "upscale_delay_s", "downscale_delay_s"):
        assert getattr(Autoscaling(max_replicas=1), name) == getattr(default, name), name


def test_lora_adapter_is_a_shorthand_for_the_engines_adapter_folder():
    service, _ = settings_from_args({"model": "/models/base", "lora_adapter": "/adapters/news"})
    assert service.engine.model == "/models/base"
    assert service.engine.lora_adapter == "/adapters/news"
