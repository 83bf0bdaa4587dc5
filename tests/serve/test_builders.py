"""`build_app`, `app_builder` and the default `app` (ie_batch.serve.app) as Serve sees them, without
starting Ray: the deployment's options and what each replica will be constructed with."""

import pytest

serve_app = pytest.importorskip("ie_batch.serve.app", exc_type=ImportError)


def _deployment(application):
    return application._bound_deployment  # Serve keeps the bound deployment here


def test_the_default_app_runs_the_embedded_model_on_one_cpu_replica():
    deployment = _deployment(serve_app.app)
    config, engine_factory = deployment.init_args
    assert deployment.name == "ie_batch" and deployment.num_replicas == 1
    assert deployment.ray_actor_options == {"num_cpus": 1}
    assert config.engine.model == "embedded" and config.num_gpus == 0
    assert engine_factory is None  # vLLM


def test_build_app_takes_resources_limits_and_engine_settings():
    application = serve_app.build_app(
        {"model": "Qwen/Qwen2.5-7B-Instruct", "max_model_len": 4096},
        limits={"max_texts": 8},
        num_replicas=2,
        ray_actor_options={"num_gpus": 1, "num_cpus": 4},
        max_ongoing_requests=16,
    )
    deployment = _deployment(application)
    config, _ = deployment.init_args
    assert (deployment.num_replicas, deployment.max_ongoing_requests) == (2, 16)
    assert deployment.ray_actor_options == {"num_cpus": 4, "num_gpus": 1}
    assert config.num_gpus == 1 and config.limits.max_texts == 8
    assert config.engine.max_model_len == 4096


def test_app_builder_takes_serve_run_arguments():
    from ray.serve._private.api import call_user_app_builder_with_args_if_necessary

    application = call_user_app_builder_with_args_if_necessary(
        serve_app.app_builder,
        {"model": "some/model", "num_gpus": "1", "num_replicas": "3", "limits.max_texts": "5"},
    )
    deployment = _deployment(application)
    config, _ = deployment.init_args
    assert deployment.num_replicas == 3
    assert deployment.ray_actor_options == {"num_cpus": 1, "num_gpus": 1}
    assert (config.engine.model, config.num_gpus, config.limits.max_texts) == ("some/model", 1, 5)


def test_bad_builder_arguments_name_the_argument():
    from ie_batch.serve.settings import ArgsError

    with pytest.raises(ArgsError, match="app argument 'num_replicas'"):
        serve_app.app_builder({"num_replicas": "many"})


def test_app_builder_hands_autoscaling_to_serve_instead_of_a_replica_count():
    from ray.serve._private.api import call_user_app_builder_with_args_if_necessary

    application = call_user_app_builder_with_args_if_necessary(
        serve_app.app_builder,
        {
            "model": "some/model",
            "num_gpus": "1",
            "autoscaling.min_replicas": "1",
            "autoscaling.max_replicas": "4",
            "autoscaling.target_ongoing_requests": "3",
        },
    )
    deployment = _deployment(application)
    autoscaling = deployment._deployment_config.autoscaling_config
    assert (autoscaling.min_replicas, autoscaling.max_replicas) == (1, 4)
    assert autoscaling.target_ongoing_requests == 3
    assert deployment.ray_actor_options == {"num_cpus": 1, "num_gpus": 1}


def test_build_app_takes_autoscaling_and_refuses_it_with_a_replica_count():
    deployment = _deployment(
        serve_app.build_app(autoscaling={"min_replicas": 0, "max_replicas": 2})
    )
    autoscaling = deployment._deployment_config.autoscaling_config
    assert (autoscaling.min_replicas, autoscaling.max_replicas) == (0, 2)
    fixed = _deployment(serve_app.build_app(num_replicas=3))
    assert fixed.num_replicas == 3 and fixed._deployment_config.autoscaling_config is None
    with pytest.raises(ValueError, match="num_replicas and autoscaling exclude each other"):
        serve_app.build_app(num_replicas=2, autoscaling={"max_replicas": 4})
