"""The cluster definitions under cluster/ are valid, consistent with each other and with the code,
and big enough for the job configs they run. Fast: nothing here starts a cluster."""

from __future__ import annotations

import importlib
import re
import shlex
import tomllib
import zipfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from ie_batch import __version__
from ie_batch.config import JobConfig, config_from_data, load_config
from ie_batch.schema.catalog import schema_path
from ie_batch.serve.settings import settings_from_args
from tests.cluster.resource_math import (
    GPU_RESOURCE,
    READ_TASK_CPUS,
    WRITE_TASK_CPUS,
    ClusterShape,
    NodeGroup,
    capacity_problems,
    cpu_quantity,
    memory_quantity,
    ray_container,
    serve_capacity_problems,
    shape_from_launcher,
    shape_from_raycluster,
)

REPO = Path(__file__).resolve().parents[2]
CLUSTER = REPO / "cluster"
RAYCLUSTER = CLUSTER / "kuberay" / "raycluster.yaml"
RAYJOB = CLUSTER / "kuberay" / "rayjob.yaml"
RAYSERVICE = CLUSTER / "kuberay" / "rayservice.yaml"
PVC = CLUSTER / "kuberay" / "model-cache-pvc.yaml"
AWS = CLUSTER / "aws" / "cluster.yaml"
RUNTIME_ENV = CLUSTER / "runtime_env.yaml"
RUNTIME_ENV_PREINSTALLED = CLUSTER / "runtime_env_preinstalled.yaml"
NEWS_JOB = "cluster/jobs/news_enrichment.yaml"
# The job each long-lived cluster runs (cluster/README.md submits it); a RayJob names its own.
JOB_OF_CLUSTER = {RAYCLUSTER: NEWS_JOB, AWS: NEWS_JOB}
#: The image every Ray node runs: cluster/docker/Dockerfile, tagged with the package version
#: (`docker build -f cluster/docker/Dockerfile -t registry.example.com/ie-batch:<version> .`;
#: the registry is yours to set).
IMAGE = f"registry.example.com/ie-batch:{__version__}"
#: The Serve app every RayService application must be (ie_batch/serve/app.py).
SERVE_IMPORT_PATH = "ie_batch.serve.app:app_builder"
#: The share of a node's memory Ray gives its object store when not told
#: (ray._private.ray_constants.DEFAULT_OBJECT_STORE_MEMORY_PROPORTION, checked below).
OBJECT_STORE_SHARE = 0.3

S3_SECRET = "ie-batch-s3"
S3_KEYS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
# names of things that hold a credential: AWS_SECRET_ACCESS_KEY, HF_TOKEN, auth_token, password...
CREDENTIAL_NAME = re.compile(
    r"(^|_)(SECRET|PASSWORD|TOKEN|ACCESS_KEY|PRIVATE_KEY|CREDENTIALS?)(_|$)", re.IGNORECASE
)
# field names of ray.io/v1 (KubeRay ray-operator/apis/ray/v1): a typo would be dropped silently
RAYCLUSTER_SPEC_FIELDS = {
    "headGroupSpec",
    "workerGroupSpecs",
    "rayVersion",
    "enableInTreeAutoscaling",
    "autoscalerOptions",
    "headServiceAnnotations",
    "suspend",
    "authOptions",
    "gcsFaultToleranceOptions",
    "managedBy",
}
WORKER_GROUP_FIELDS = {
    "groupName",
    "replicas",
    "minReplicas",
    "maxReplicas",
    "numOfHosts",
    "rayStartParams",
    "template",
    "scaleStrategy",
    "suspend",
    "idleTimeoutSeconds",
}
# RayServiceSpec of ray.io/v1 as of KubeRay 1.5.1 (the oldest version the manifests need)
RAYSERVICE_SPEC_FIELDS = {
    "serveConfigV2",
    "rayClusterConfig",
    "upgradeStrategy",
    "serveService",
    "excludeHeadPodFromServeSvc",
    "rayClusterDeletionDelaySeconds",
    "serviceUnhealthySecondThreshold",
    "deploymentUnhealthySecondThreshold",
}
RAYJOB_SPEC_FIELDS = {
    "activeDeadlineSeconds",
    "backoffLimit",
    "rayClusterSpec",
    "submitterPodTemplate",
    "metadata",
    "clusterSelector",
    "submitterConfig",
    "managedBy",
    "deletionStrategy",
    "entrypoint",
    "runtimeEnvYAML",
    "jobId",
    "submissionMode",
    "entrypointResources",
    "entrypointNumCpus",
    "entrypointNumGpus",
    "ttlSecondsAfterFinished",
    "shutdownAfterJobFinishes",
    "suspend",
    "schedule",
}


def _load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _pyproject() -> dict[str, Any]:
    return tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))


def _ray_pin() -> str:
    gpu = _pyproject()["project"]["optional-dependencies"]["gpu"]
    (pin,) = [req for req in gpu if req.startswith("ray[")]
    return pin.split("==")[1]


def _cluster_specs() -> dict[str, dict[str, Any]]:
    return {
        "raycluster": _load(RAYCLUSTER)["spec"],
        "rayjob": _load(RAYJOB)["spec"]["rayClusterSpec"],
        "rayservice": _load(RAYSERVICE)["spec"]["rayClusterConfig"],
    }


#: The clusters that run batch jobs (reading and writing need CPU workers and object storage).
BATCH_CLUSTERS = ["raycluster", "rayjob"]
KUBERAY_CLUSTERS = [*BATCH_CLUSTERS, "rayservice"]


def _pod_groups(spec: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [("head", spec["headGroupSpec"])] + [
        (group["groupName"], group) for group in spec["workerGroupSpecs"]
    ]


def _rayjob_config() -> tuple[str, JobConfig]:
    argv = shlex.split(_load(RAYJOB)["spec"]["entrypoint"])
    assert argv[:2] == ["python", "jobs/extract.py"], argv
    assert "--config" in argv, argv
    path = argv[argv.index("--config") + 1]
    return path, load_config(REPO / path)


# --------------------------------------------------------------------------- every file


def test_every_yaml_under_cluster_parses():
    files = sorted([*CLUSTER.rglob("*.yaml"), *CLUSTER.rglob("*.yml")])
    assert {RAYCLUSTER, RAYJOB, RAYSERVICE, PVC, AWS, RUNTIME_ENV, RUNTIME_ENV_PREINSTALLED} <= set(
        files
    )
    for path in files:
        documents = list(yaml.safe_load_all(path.read_text(encoding="utf-8")))
        assert documents and all(isinstance(doc, dict) for doc in documents), path


def test_the_cluster_readme_lists_every_definition():
    readme = (CLUSTER / "README.md").read_text(encoding="utf-8")
    for path in sorted(p for p in CLUSTER.rglob("*") if p.is_file() and p.name != "README.md"):
        assert f"`{path.relative_to(CLUSTER).as_posix()}`" in readme, path


def _literal_credentials(node: Any, where: str) -> list[str]:
    """Credential-named keys or env entries that carry a literal value."""
    found: list[str] = []
    if isinstance(node, dict):
        name = node.get("name")
        if isinstance(name, str) and CREDENTIAL_NAME.search(name) and node.get("value"):
            found.append(f"{where}: env {name} has a literal value")
        for key, value in node.items():
            if (
                isinstance(key, str)
                and CREDENTIAL_NAME.search(key)
                and isinstance(value, str | int)
                and value != ""
            ):
                found.append(f"{where}: {key} = literal")
            found += _literal_credentials(value, f"{where}.{key}")
    elif isinstance(node, list):
        for index, item in enumerate(node):
            found += _literal_credentials(item, f"{where}[{index}]")
    elif isinstance(node, str) and "\n" in node and ":" in node:
        try:  # an embedded YAML document, such as a RayJob's runtimeEnvYAML
            found += _literal_credentials(yaml.safe_load(node), f"{where}(yaml)")
        except yaml.YAMLError:
            pass
    return found


def test_no_literal_credential_appears_in_any_file():
    access_key_id = re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b")
    secret_like = re.compile(
        r"(?i)(secret|token|password)[^\n]{0,40}?[:=]\s*['\"]?[A-Za-z0-9/+]{32,}"
    )
    for path in sorted(p for p in CLUSTER.rglob("*") if p.is_file()):
        text = path.read_text(encoding="utf-8")
        assert not access_key_id.search(text), f"{path}: an AWS access key id"
        assert not secret_like.search(text), f"{path}: {secret_like.search(text).group(0)!r}"
        if path.suffix in {".yaml", ".yml"}:
            for index, doc in enumerate(yaml.safe_load_all(text)):
                assert _literal_credentials(doc, f"{path.name}#{index}") == []


def test_the_credential_check_catches_a_literal_secret():
    leaky = {"env": [{"name": "AWS_SECRET_ACCESS_KEY", "value": "abc"}], "runtimeEnvYAML": ""}
    assert _literal_credentials(leaky, "x") == [
        "x.env[0]: env AWS_SECRET_ACCESS_KEY has a literal value"
    ]
    embedded = {"runtimeEnvYAML": "env_vars:\n  HF_TOKEN: hf_abc\n"}
    assert _literal_credentials(embedded, "x") == [
        "x.runtimeEnvYAML(yaml).env_vars: HF_TOKEN = literal"
    ]


# --------------------------------------------------------------------------- KubeRay


@pytest.mark.parametrize(
    "path, kind", [(RAYCLUSTER, "RayCluster"), (RAYJOB, "RayJob"), (RAYSERVICE, "RayService")]
)
def test_kuberay_objects_name_their_api_kind_and_name(path, kind):
    obj = _load(path)
    assert obj["apiVersion"] == "ray.io/v1"
    assert obj["kind"] == kind
    assert re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", obj["metadata"]["name"])
    assert len(obj["metadata"]["name"]) <= 47  # KubeRay appends suffixes to name pods/services


@pytest.mark.parametrize("which", KUBERAY_CLUSTERS)
def test_cluster_specs_have_the_required_fields(which):
    spec = _cluster_specs()[which]
    assert set(spec) <= RAYCLUSTER_SPEC_FIELDS, set(spec) - RAYCLUSTER_SPEC_FIELDS
    assert spec["rayVersion"] == _ray_pin()
    assert spec["enableInTreeAutoscaling"] is True
    head = spec["headGroupSpec"]
    assert isinstance(head["rayStartParams"], dict)
    groups = spec["workerGroupSpecs"]
    assert len({g["groupName"] for g in groups}) == len(groups)
    assert len(groups) >= (2 if which in BATCH_CLUSTERS else 1)  # batch jobs: CPU and GPU groups
    for group in groups:
        assert set(group) <= WORKER_GROUP_FIELDS, set(group) - WORKER_GROUP_FIELDS
        for field in ("groupName", "replicas", "minReplicas", "maxReplicas", "rayStartParams"):
            assert field in group, (group["groupName"], field)
        assert 0 <= group["minReplicas"] <= group["replicas"] <= group["maxReplicas"], group
        assert group["maxReplicas"] >= 1
        assert isinstance(group["rayStartParams"], dict)
    for name, group in _pod_groups(spec):
        container = ray_container(group["template"])
        # the project's image: Ray at the pinned version, Python 3.11, the project's
        # dependencies (tests/cluster/test_image.py checks the Dockerfile behind it)
        assert container["image"] == IMAGE, (name, container["image"])
        for side in ("requests", "limits"):
            assert {"cpu", "memory"} <= set(container["resources"][side]), (name, side)
        assert cpu_quantity(container["resources"]["limits"]["cpu"]) >= cpu_quantity(
            container["resources"]["requests"]["cpu"]
        )


@pytest.mark.parametrize("which", KUBERAY_CLUSTERS)
def test_a_gpu_group_requests_nvidia_gpus_and_tolerates_the_gpu_taint(which):
    spec = _cluster_specs()[which]
    gpu_groups = [
        group
        for group in spec["workerGroupSpecs"]
        if GPU_RESOURCE in ray_container(group["template"])["resources"]["limits"]
    ]
    assert gpu_groups, "no worker group requests nvidia.com/gpu"
    for group in gpu_groups:
        container = ray_container(group["template"])
        resources = container["resources"]
        gpus = resources["limits"][GPU_RESOURCE]
        assert isinstance(gpus, int) and gpus >= 1
        # an extended resource cannot be overcommitted: a request must equal the limit
        assert resources.get("requests", {}).get(GPU_RESOURCE, gpus) == gpus
        tolerations = group["template"]["spec"].get("tolerations", [])
        assert any(t.get("key") == GPU_RESOURCE for t in tolerations)
    if which in BATCH_CLUSTERS:
        cpu_groups = [g for g in spec["workerGroupSpecs"] if g not in gpu_groups]
        assert cpu_groups, "reading and writing need a CPU worker group"


@pytest.mark.parametrize("which", BATCH_CLUSTERS)
def test_object_storage_credentials_come_from_a_kubernetes_secret(which):
    for name, group in _pod_groups(_cluster_specs()[which]):
        env = {e["name"]: e for e in ray_container(group["template"]).get("env", [])}
        for key in S3_KEYS:
            assert key in env, (name, key)
            assert "value" not in env[key], (name, key)
            ref = env[key]["valueFrom"]["secretKeyRef"]
            assert ref == {"name": S3_SECRET, "key": key}, (name, ref)
        for entry in env.values():  # anything credential-like is a reference, never a value
            if CREDENTIAL_NAME.search(entry["name"]):
                assert "secretKeyRef" in entry.get("valueFrom", {}), (name, entry["name"])


@pytest.mark.parametrize("which", KUBERAY_CLUSTERS)
def test_secrets_are_references_in_every_pod(which):
    for name, group in _pod_groups(_cluster_specs()[which]):
        for entry in ray_container(group["template"]).get("env", []):
            if CREDENTIAL_NAME.search(entry["name"]):
                assert "value" not in entry, (name, entry["name"])
                assert "secretKeyRef" in entry.get("valueFrom", {}), (name, entry["name"])


@pytest.mark.parametrize("which", KUBERAY_CLUSTERS)
def test_shared_memory_holds_the_object_store_within_the_pods_memory(which):
    """/dev/shm is a memory-backed emptyDir with a size limit: at least the object store Ray
    puts there (else Ray falls back to disk), at most half the pod's memory limit, which the
    volume's contents count against."""
    pytest.importorskip("ray")
    from ray._private.ray_constants import DEFAULT_OBJECT_STORE_MEMORY_PROPORTION

    assert DEFAULT_OBJECT_STORE_MEMORY_PROPORTION == OBJECT_STORE_SHARE
    for name, group in _pod_groups(_cluster_specs()[which]):
        container = ray_container(group["template"])
        (volume_name,) = [
            m["name"] for m in container["volumeMounts"] if m["mountPath"] == "/dev/shm"
        ]
        (volume,) = [v for v in group["template"]["spec"]["volumes"] if v["name"] == volume_name]
        assert volume["emptyDir"]["medium"] == "Memory", name
        size = memory_quantity(volume["emptyDir"]["sizeLimit"])
        memory = memory_quantity(container["resources"]["limits"]["memory"])
        object_store = group["rayStartParams"].get("object-store-memory")
        object_store = float(object_store) if object_store else OBJECT_STORE_SHARE * memory
        assert object_store <= size <= memory / 2, (name, size, object_store, memory)


@pytest.mark.parametrize("which", KUBERAY_CLUSTERS)
def test_every_pod_mounts_the_shared_model_cache_and_points_the_caches_at_it(which):
    pvc = _load(PVC)
    assert pvc["kind"] == "PersistentVolumeClaim"
    assert pvc["spec"]["accessModes"] == ["ReadWriteMany"]  # every GPU pod shares it
    for name, group in _pod_groups(_cluster_specs()[which]):
        pod = group["template"]["spec"]
        claims = {
            v["name"]: v["persistentVolumeClaim"]["claimName"]
            for v in pod.get("volumes", [])
            if "persistentVolumeClaim" in v
        }
        assert pvc["metadata"]["name"] in claims.values(), name
        volume = next(v for v, claim in claims.items() if claim == pvc["metadata"]["name"])
        container = ray_container(group["template"])
        (mount,) = [m["mountPath"] for m in container["volumeMounts"] if m["name"] == volume]
        env = {e["name"]: e.get("value") for e in container["env"]}
        for variable in ("IE_BATCH_CACHE", "HF_HOME"):
            assert env[variable] and env[variable].startswith(mount.rstrip("/") + "/"), (
                name,
                variable,
            )


def test_the_rayjob_creates_the_cluster_raycluster_yaml_describes():
    assert _cluster_specs()["rayjob"] == _cluster_specs()["raycluster"]


def test_the_rayjob_runs_the_job_entry_point_on_a_valid_job_config():
    path, config = _rayjob_config()
    assert (REPO / path).is_file()
    assert path == NEWS_JOB
    for ref in config.schemas:
        assert schema_path(ref.schema_).is_file(), ref.schema_
    spec = _load(RAYJOB)["spec"]
    assert set(spec) <= RAYJOB_SPEC_FIELDS, set(spec) - RAYJOB_SPEC_FIELDS
    assert spec["shutdownAfterJobFinishes"] is True
    assert spec["ttlSecondsAfterFinished"] >= 0
    assert spec.get("submissionMode", "K8sJobMode") == "K8sJobMode"


def test_the_rayjob_runtime_env_installs_nothing_and_fetches_the_code_from_storage():
    runtime_env = yaml.safe_load(_load(RAYJOB)["spec"]["runtimeEnvYAML"])
    reference = _load(RUNTIME_ENV_PREINSTALLED)  # the dependencies are in the image
    assert "pip" not in runtime_env and "uv" not in runtime_env and "conda" not in runtime_env
    assert runtime_env["env_vars"] == reference["env_vars"]
    # no local folder in a pod: the code is a zip in object storage, fetched by every node
    assert re.fullmatch(r"(s3|gs|https)://.+\.zip", runtime_env["working_dir"])
    # KubeRay hands the runtime env to `ray job submit` in a double-quoted shell string
    assert "$" not in _load(RAYJOB)["spec"]["runtimeEnvYAML"]


# --------------------------------------------------------------------------- RayService


def _serve_apps() -> list[dict[str, Any]]:
    return yaml.safe_load(_load(RAYSERVICE)["spec"]["serveConfigV2"])["applications"]


def test_the_rayservice_has_known_fields_and_a_cluster_that_autoscales():
    spec = _load(RAYSERVICE)["spec"]
    assert set(spec) <= RAYSERVICE_SPEC_FIELDS, set(spec) - RAYSERVICE_SPEC_FIELDS
    assert isinstance(spec["serveConfigV2"], str)  # KubeRay takes the Serve config as YAML text
    # Serve asks for replicas; only Ray's autoscaler can add the pods they need
    assert spec["rayClusterConfig"]["enableInTreeAutoscaling"] is True
    head = ray_container(spec["rayClusterConfig"]["headGroupSpec"]["template"])
    assert {"containerPort": 8000, "name": "serve"} in head["ports"]


def test_rays_own_serve_schema_accepts_the_serve_config():
    schema = pytest.importorskip("ray.serve.schema")
    config = yaml.safe_load(_load(RAYSERVICE)["spec"]["serveConfigV2"])
    schema.ServeDeploySchema.model_validate(config)


def test_every_serve_app_is_the_endpoint_from_the_image_with_arguments_it_takes():
    apps = _serve_apps()
    assert apps
    for app in apps:
        assert app["import_path"] == SERVE_IMPORT_PATH
        # the package comes from the image: nothing to upload or install when a pod starts
        runtime_env = app.get("runtime_env", {})
        assert not {"pip", "uv", "conda", "working_dir", "py_modules"} & set(runtime_env)
        # a `deployments:` override would silently replace what the builder sets up
        assert "deployments" not in app
        service, deployment = settings_from_args(app["args"])  # raises, naming a bad argument
        assert service.num_gpus >= 1 and service.engine.model != "embedded"
        assert deployment.autoscaling is not None


def test_the_serve_apps_most_replicas_fit_the_gpu_group():
    shape = shape_from_raycluster(_cluster_specs()["rayservice"])
    for app in _serve_apps():
        service, deployment = settings_from_args(app["args"])
        assert serve_capacity_problems(service, deployment, shape) == []
        gpu_groups = [g for g in shape.workers if g.gpus > 0]
        assert deployment.autoscaling.max_replicas * service.num_gpus <= sum(
            g.gpus * g.max_nodes for g in gpu_groups
        )
        # the first replicas need no node to be started first
        assert deployment.autoscaling.min_replicas * service.num_gpus <= sum(
            g.gpus * g.min_nodes for g in gpu_groups
        )


def test_the_serve_app_built_from_the_manifest_hands_serve_its_autoscaling():
    pytest.importorskip("ray.serve")
    from ray.serve._private.api import call_user_app_builder_with_args_if_necessary

    module, _, name = SERVE_IMPORT_PATH.partition(":")
    builder = getattr(importlib.import_module(module), name)
    for app in _serve_apps():
        application = call_user_app_builder_with_args_if_necessary(builder, app["args"])
        deployment = application._bound_deployment
        autoscaling = deployment._deployment_config.autoscaling_config
        for key, value in app["args"]["autoscaling"].items():
            assert getattr(autoscaling, key) == value, key
        assert deployment.ray_actor_options["num_gpus"] == app["args"]["num_gpus"]


@pytest.mark.parametrize(
    "args, problem",
    [
        ({"autoscaling": {"max_replicas": 9}}, "replicas: 9 wanted, 8 fit"),
        ({"num_cpus": 8}, "replicas: 4 wanted, 0 fit"),
        ({"engine": {"tensor_parallel_size": 2}}, "num_gpus 1 < engine.tensor_parallel_size 2"),
    ],
)
def test_a_serve_app_too_big_for_its_cluster_is_rejected(args, problem):
    base = {"model": "org/model", "num_gpus": 1, "num_cpus": 4, "autoscaling": {"max_replicas": 4}}
    service, deployment = settings_from_args({**base, **args})
    problems = serve_capacity_problems(service, deployment, SHAPE)
    assert any(problem in p for p in problems), problems


# --------------------------------------------------------------------------- AWS launcher


def test_the_aws_launcher_config_passes_rays_own_validation():
    pytest.importorskip("jsonschema")
    util = pytest.importorskip("ray.autoscaler._private.util")
    config = _load(AWS)
    prepared = util.prepare_config(config)  # fills Ray's AWS defaults, as `ray up` does
    util.validate_config(prepared)  # Ray's cluster-config JSON schema and node-type rules


def test_the_aws_launcher_has_head_cpu_and_gpu_node_types_with_bounds():
    config = _load(AWS)
    assert config["provider"]["type"] == "aws"
    types = config["available_node_types"]
    assert config["head_node_type"] in types
    workers = {name: t for name, t in types.items() if name != config["head_node_type"]}
    gpu = {n: t for n, t in workers.items() if t["resources"].get("GPU", 0) >= 1}
    cpu = {n: t for n, t in workers.items() if not t["resources"].get("GPU")}
    assert gpu and cpu
    for name, node_type in workers.items():
        assert 0 <= node_type["min_workers"] <= node_type["max_workers"], name
        assert node_type["resources"]["CPU"] >= 1, name
    # the global cap must not cut the node types' own maxima
    assert config["max_workers"] >= sum(t["max_workers"] for t in workers.values())
    for name, node_type in gpu.items():
        instance = node_type["node_config"]["InstanceType"]
        assert re.match(r"(g[4-6]|p[3-5])", instance), (name, instance)
    assert config["docker"]["image"] == IMAGE
    # no node type runs another image
    for node_type in types.values():
        assert node_type.get("docker", {}).get("worker_image", IMAGE) == IMAGE
        assert node_type.get("docker", {}).get("head_image", IMAGE) == IMAGE


def test_the_aws_nodes_install_nothing_at_start():
    config = _load(AWS)
    commands = [
        *config.get("setup_commands", []),
        *config.get("head_setup_commands", []),
        *config.get("worker_setup_commands", []),
        *config.get("initialization_commands", []),
    ]
    assert not [c for c in commands if "pip install" in c or "uv " in c]  # the image has it all
    for node_type in config["available_node_types"].values():  # S3 by instance profile only
        assert _literal_credentials(node_type, "node") == []


# --------------------------------------------------------------------------- runtime env


def test_the_runtime_env_uploads_the_repository_without_the_heavy_parts():
    runtime_env = _load(RUNTIME_ENV)
    assert runtime_env["working_dir"] == "."
    for excluded in (".venv/", ".git/", "out/", "__pycache__/"):
        assert excluded in runtime_env["excludes"], excluded


def test_the_runtime_env_pip_list_is_the_projects_gpu_and_s3_install():
    project = _pyproject()["project"]
    wanted = (
        project["dependencies"]
        + project["optional-dependencies"]["gpu"]
        + project["optional-dependencies"]["s3"]
    )
    assert _load(RUNTIME_ENV)["pip"]["packages"] == wanted


def test_the_preinstalled_runtime_env_differs_only_by_pip():
    full, preinstalled = _load(RUNTIME_ENV), _load(RUNTIME_ENV_PREINSTALLED)
    assert "pip" not in preinstalled and "uv" not in preinstalled
    assert preinstalled == {k: v for k, v in full.items() if k != "pip"}


@pytest.mark.parametrize("path", [RUNTIME_ENV, RUNTIME_ENV_PREINSTALLED])
def test_ray_accepts_the_runtime_env(path):
    runtime_env_module = pytest.importorskip("ray.runtime_env")
    data = _load(path)
    runtime_env = runtime_env_module.RuntimeEnv(**data)  # validates every field
    assert runtime_env["env_vars"] == data["env_vars"]  # strings only, as Ray requires
    assert runtime_env.get("pip") == data.get("pip")


def test_the_uploaded_package_holds_the_code_and_not_the_virtualenv(tmp_path):
    packaging = pytest.importorskip("ray._private.runtime_env.packaging")
    excludes = _load(RUNTIME_ENV)["excludes"]
    package = tmp_path / "working_dir.zip"
    # what `ray job submit` zips, with only the file's excludes (no .gitignore help)
    packaging.create_package(str(REPO), package, include_gitignore=False, excludes=excludes)
    names = set(zipfile.ZipFile(package).namelist())
    for needed in (
        "jobs/extract.py",
        "ie_batch/__init__.py",
        "ie_batch/config.py",
        "schemas/topic_en.yaml",
        NEWS_JOB,
        "pyproject.toml",
    ):
        assert needed in names, needed
    heavy = [n for n in names if n.split("/")[0] in {".venv", ".git", "out"} or "__pycache__" in n]
    assert heavy == []
    assert package.stat().st_size < 512 * 1024**2 // 8  # far below Ray's 512 MiB upload cap


# --------------------------------------------------------------------------- the job config


def test_the_gpu_job_config_reads_and_writes_object_storage_with_a_hub_model():
    config = load_config(REPO / NEWS_JOB)
    assert all(path.startswith("s3://") for path in config.input.paths)
    assert config.output.startswith("s3://")
    assert "/" in config.engine.model and not Path(config.engine.model).exists()
    assert config.pool.num_gpus >= 1 and config.pool.min_actors <= config.pool.max_actors
    assert config.ray_address is None  # a submitted job attaches to the cluster it runs on
    assert _literal_credentials(config.storage.model_dump(), "storage") == []


# --------------------------------------------------------------------------- resource math


def _clusters_and_jobs() -> list[tuple[str, ClusterShape, JobConfig]]:
    rayjob_config_path, rayjob_config = _rayjob_config()
    return [
        (
            "raycluster.yaml",
            shape_from_raycluster(_load(RAYCLUSTER)["spec"]),
            load_config(REPO / JOB_OF_CLUSTER[RAYCLUSTER]),
        ),
        (
            "rayjob.yaml",
            shape_from_raycluster(_load(RAYJOB)["spec"]["rayClusterSpec"]),
            rayjob_config,
        ),
        (
            "aws/cluster.yaml",
            shape_from_launcher(_load(AWS)),
            load_config(REPO / JOB_OF_CLUSTER[AWS]),
        ),
    ]


@pytest.mark.parametrize(
    "name, shape, config", _clusters_and_jobs(), ids=["raycluster", "rayjob", "aws"]
)
def test_the_job_pool_fits_the_cluster(name, shape, config):
    assert capacity_problems(config, shape) == [], name
    gpu_groups = [g for g in shape.workers if g.gpus > 0]
    # the explicit rules, for the record
    assert config.pool.max_actors * config.pool.num_gpus <= sum(
        g.gpus * g.max_nodes for g in gpu_groups
    )
    assert all(config.engine.tensor_parallel_size <= g.gpus for g in gpu_groups)
    assert config.pool.num_gpus >= config.engine.tensor_parallel_size
    cpu_side = sum(g.cpus * g.max_nodes for g in shape.groups if g.gpus == 0)
    assert cpu_side >= READ_TASK_CPUS + WRITE_TASK_CPUS


def test_the_cluster_shapes_are_read_as_ray_sees_them():
    kuberay = shape_from_raycluster(_load(RAYCLUSTER)["spec"])
    assert kuberay.head == NodeGroup("head", 0, 0, 1, 1)  # rayStartParams num-cpus: "0"
    assert {g.name: (g.cpus, g.gpus, g.max_nodes) for g in kuberay.workers} == {
        "cpu": (8, 0, 4),
        "gpu": (7, 1, 8),
    }
    aws = shape_from_launcher(_load(AWS))
    assert aws.head.cpus == 0
    assert {g.name: (g.cpus, g.gpus, g.max_nodes) for g in aws.workers} == {
        "ray.worker.cpu": (8, 0, 4),
        "ray.worker.gpu": (8, 1, 8),
    }


# A cluster and a pool that just fit each other, to break one rule at a time.
SHAPE = ClusterShape(
    NodeGroup("head", 0, 0, 1, 1),
    (NodeGroup("cpu", 8, 0, 1, 4), NodeGroup("gpu", 7, 1, 0, 8)),
)
FITTING = {
    "input": {"paths": ["s3://bucket/in/"]},
    "schemas": ["news_ner_en"],
    "output": "s3://bucket/out/",
    "engine": {"model": "Qwen/Qwen2.5-7B-Instruct", "tensor_parallel_size": 1},
    "pool": {"min_actors": 1, "max_actors": 8, "num_gpus": 1, "num_cpus": 4},
}


def _fitting(**changes: dict[str, Any]) -> JobConfig:
    return config_from_data(FITTING, overrides=changes)


def test_the_fitting_pool_fits():
    assert capacity_problems(_fitting(), SHAPE) == []


@pytest.mark.parametrize(
    "changes, problem",
    [
        ({"pool": {"max_actors": 9}}, "GPUs: pool.max_actors 9 x pool.num_gpus 1 = 9 > 8"),
        ({"pool": {"num_gpus": 2, "max_actors": 4}}, "actors: 4 wanted, 0 fit"),
        (
            {"engine": {"tensor_parallel_size": 2}, "pool": {"num_gpus": 2, "max_actors": 4}},
            "engine.tensor_parallel_size 2 > 1 GPU(s) per node of group 'gpu'",
        ),
        ({"pool": {"num_cpus": 8}}, "actors: 8 wanted, 0 fit"),
        ({"pool": {"min_actors": 9, "max_actors": 8}}, "pool.min_actors 9 > pool.max_actors 8"),
    ],
)
def test_an_inconsistent_job_config_is_rejected(changes, problem):
    problems = capacity_problems(_fitting(**changes), SHAPE)
    assert any(problem in p for p in problems), problems


def test_a_cluster_without_cpu_workers_is_rejected_for_reading_and_writing():
    gpu_only = ClusterShape(SHAPE.head, tuple(g for g in SHAPE.workers if g.gpus > 0))
    assert capacity_problems(_fitting(), gpu_only) == [
        "CPUs for reading and writing: 0 on the CPU-only nodes (head included), 1.25 needed "
        "(a read task 1 + a write task 0.25)"
    ]


def test_a_cluster_without_gpus_is_rejected_for_a_gpu_pool():
    cpu_only = ClusterShape(SHAPE.head, tuple(g for g in SHAPE.workers if g.gpus == 0))
    problems = capacity_problems(_fitting(), cpu_only)
    assert "pool.num_gpus > 0 but no node group has GPUs" in problems


def test_a_cpu_engine_pool_needs_room_beside_its_actors():
    one_node = ClusterShape(NodeGroup("head", 2, 0, 1, 1), ())
    fits = config_from_data({"input": {"paths": ["x"]}, "schemas": ["topic_en"], "output": "o"})
    assert capacity_problems(fits, ClusterShape(NodeGroup("head", 3, 0, 1, 1), ())) == []
    problems = capacity_problems(fits, one_node)
    assert problems and problems[0].startswith("CPUs for reading and writing: 1 beside 1 actor")
