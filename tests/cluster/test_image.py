"""The image every Ray node runs (cluster/docker/Dockerfile, built with the repository root as
its context and the .dockerignore there), checked
without building it (its CUDA base image cannot be pulled here): it parses with Docker's own
parser, starts from Ray's CUDA image at the Ray and Python versions the project pins, installs
exactly the dependencies and extras pyproject.toml names, and its install steps, replayed on the
files it copies, give an installed ie_batch that finds its schemas and templates. Also the GPU
install from a checkout (`make venv EXTRAS=gpu,...`), which keeps the torchvision vLLM needs."""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
import venv
import zipfile
from pathlib import Path
from typing import Any

import dockerfile
import pytest

from ie_batch import __version__

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "cluster" / "docker" / "Dockerfile"
DOCKERIGNORE = REPO / ".dockerignore"
#: The user and group of Ray's images (uid 1000, gid 100): the image's files belong to them.
RAY_IMAGE_OWNER = "ray:users"


def _commands() -> tuple[Any, ...]:
    return dockerfile.parse_file(str(DOCKERFILE))


def _pyproject() -> dict[str, Any]:
    return tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))


def _ray_pin() -> str:
    (pin,) = [r for r in _pyproject()["project"]["optional-dependencies"]["gpu"] if "ray[" in r]
    return pin.split("==")[1]


def _build_args() -> dict[str, str]:
    """Every ARG's default, as `docker build` without --build-arg would see it."""
    args = {}
    for command in _commands():
        if command.cmd == "ARG":
            for item in command.value:
                name, _, default = item.partition("=")
                args[name] = default
    return args


def _substitute(text: str, args: dict[str, str]) -> str:
    return re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: args[m.group(1) or m.group(2)], text)


def _ignore_patterns() -> list[str]:
    lines = DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def _ignored(path: str, patterns: list[str]) -> bool:
    """Whether the build context leaves out `path` (relative, with /): a pattern matching it or
    a folder above it, `**` standing for any number of folders, as Docker reads .dockerignore."""
    parts = path.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    for pattern in patterns:
        for prefix in prefixes:
            if fnmatch.fnmatchcase(prefix, pattern) or (
                pattern.startswith("**/") and fnmatch.fnmatchcase(prefix, pattern[3:])
            ):
                return True
    return False


def _copies() -> list[tuple[list[str], str, tuple[str, ...]]]:
    """(sources, destination, flags) of every COPY, in order."""
    return [(list(c.value[:-1]), c.value[-1], c.flags) for c in _commands() if c.cmd == "COPY"]


# --------------------------------------------------------------------------- the Dockerfile


def test_the_image_starts_from_rays_cuda_image_at_the_pinned_ray_and_python():
    froms = [c for c in _commands() if c.cmd == "FROM"]
    assert len(froms) == 1, "one stage: the image is the Ray image plus the project"
    base = _substitute(froms[0].value[0], _build_args())
    assert base == f"rayproject/ray:{_ray_pin()}-py311-gpu"
    # the Python of the image satisfies the project's requirement
    assert _pyproject()["project"]["requires-python"] == ">=3.11"


def test_the_image_installs_the_gpu_and_s3_extras_and_never_the_cpu_build():
    extras = _build_args()["EXTRAS"].split(",")
    assert extras == ["gpu", "s3"]
    assert set(extras) <= set(_pyproject()["project"]["optional-dependencies"])
    runs = " ".join(" ".join(c.value) for c in _commands() if c.cmd == "RUN")
    assert "uninstall" not in runs  # vLLM's CUDA build needs the torchvision it brings


def _requirements_script() -> tuple[Any, Any]:
    """The RUN that writes the requirements file from pyproject.toml, and the one after it."""
    commands = _commands()
    for index, command in enumerate(commands):
        if command.cmd == "RUN" and command.heredocs and "requirements.txt" in command.value[0]:
            return command, commands[index + 1]
    raise AssertionError("no RUN writes /tmp/requirements.txt from a script")


def test_the_requirements_script_lists_the_dependencies_and_the_extras_of_pyproject(tmp_path):
    script_run, install_run = _requirements_script()
    assert re.fullmatch(r"python - > (\S+) <<'EOF'", script_run.value[0])
    target = script_run.value[0].split()[3]
    assert f"pip install --no-cache-dir -r {target}" in install_run.value[0]
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    (heredoc,) = script_run.heredocs
    done = subprocess.run(
        [sys.executable, "-"],
        input=heredoc.content,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "EXTRAS": _build_args()["EXTRAS"]},
        timeout=60,
        check=True,
    )
    project = _pyproject()["project"]
    extras = project["optional-dependencies"]
    assert done.stdout.splitlines() == project["dependencies"] + extras["gpu"] + extras["s3"]


def test_the_dependencies_are_installed_before_the_code_is_copied():
    """So a code change rebuilds only the small layers, not the vLLM install."""
    commands = _commands()
    script_run, install_run = _requirements_script()
    install_at = commands.index(install_run)
    before = [c for c in commands[:install_at] if c.cmd in ("COPY", "ADD")]
    assert [c.value[:-1] for c in before] == [("pyproject.toml",)]
    code = [i for i, c in enumerate(commands) if c.cmd == "COPY" and "ie_batch" in c.value[:-1]]
    assert code and code[0] > install_at
    last_run = [c for c in commands if c.cmd == "RUN"][-1].value[0]
    assert "pip install --no-cache-dir --no-deps ." in last_run  # the package alone, at the end


def test_every_copied_path_exists_is_in_the_build_context_and_belongs_to_the_ray_user():
    patterns = _ignore_patterns()
    for sources, _, flags in _copies():
        assert f"--chown={RAY_IMAGE_OWNER}" in flags, sources
        for source in sources:
            assert (REPO / source).exists(), source
            assert not _ignored(source, patterns), source
    users = [c.value[0] for c in _commands() if c.cmd == "USER"]
    assert not users or users[-1] not in ("root", "0")  # Ray's images run as `ray`


def test_the_image_is_tagged_with_the_package_version_in_its_build_command():
    text = DOCKERFILE.read_text(encoding="utf-8")
    # run from the repository root: the context the COPY lines and .dockerignore are relative to
    build = "docker build -f cluster/docker/Dockerfile"
    assert f"{build} -t registry.example.com/ie-batch:{__version__} ." in text


def test_the_build_context_leaves_out_the_virtualenv_the_repository_and_model_files():
    patterns = _ignore_patterns()
    for heavy in (
        ".venv/lib/python3.11/site-packages/torch/__init__.py",
        ".git/objects/pack/pack-1.pack",
        "out/demo/en/data/news/part-0.parquet",
        "ie_batch/__pycache__/config.cpython-311.pyc",
        "models/qwen/model.safetensors",
        "qwen.gguf",
    ):
        assert _ignored(heavy, patterns), heavy
    for needed in ("pyproject.toml", "ie_batch/config.py", "schemas/news_ner_en.yaml"):
        assert not _ignored(needed, patterns), needed


# --------------------------------------------------------------------------- the install, replayed


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel `pip install --no-deps .` builds in the image, from exactly the files the
    Dockerfile copies into its build folder (minus what .dockerignore leaves out)."""
    context = tmp_path_factory.mktemp("context")
    patterns = _ignore_patterns()
    for sources, _, _ in _copies():
        for source in sources:
            origin = REPO / source
            if origin.is_dir():
                shutil.copytree(
                    origin,
                    context / source,
                    ignore=lambda folder, names: [
                        n
                        for n in names
                        if _ignored(str((Path(folder) / n).relative_to(REPO)), patterns)
                    ],
                )
            else:
                shutil.copy(origin, context / source)
    wheels = tmp_path_factory.mktemp("wheels")
    # --no-build-isolation: the build backend of this virtualenv, so no download is needed
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation"]
        + ["--wheel-dir", str(wheels), str(context)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (built,) = wheels.glob("ie_batch-*.whl")
    return built


def test_the_wheel_holds_the_package_its_data_files_and_the_schemas(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    package = [
        path.relative_to(REPO).as_posix()
        for path in (REPO / "ie_batch").rglob("*")
        if path.is_file() and not _ignored(path.relative_to(REPO).as_posix(), _ignore_patterns())
    ]
    assert [p for p in package if p not in names] == []  # templates and other data included
    data = f"ie_batch-{__version__}.data/data/share/ie_batch/schemas"
    for schema in (REPO / "schemas").glob("*.yaml"):
        assert f"{data}/{schema.name}" in names, schema.name
    metadata = zipfile.ZipFile(wheel).read(f"ie_batch-{__version__}.dist-info/METADATA").decode()
    assert f"\nVersion: {__version__}\n" in metadata
    assert {"gpu", "s3", "cpu"} <= set(re.findall(r"^Provides-Extra: (\S+)$", metadata, re.M))
    entry_points = zipfile.ZipFile(wheel).read(f"ie_batch-{__version__}.dist-info/entry_points.txt")
    assert b"ie-batch = ie_batch.cli:main" in entry_points


def test_the_installed_wheel_finds_its_schemas_and_runs_as_a_command(wheel, tmp_path):
    """What the image's smoke check does after its install: `ie-batch --version` and the
    shipped schemas found under the environment's share/ folder, away from any checkout."""
    environment = tmp_path / "env"
    venv.create(environment, with_pip=False)
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(environment / "bin" / "python"), "install"]
        + ["--quiet", "--no-deps", "--no-index", str(wheel)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    # the dependencies (pydantic, typer, ...) from this virtualenv, after the wheel's own files
    site = next((environment / "lib").glob("python3.*/site-packages"))
    (site / "zz_dependencies.pth").write_text(
        next(p for p in sys.path if p.endswith("site-packages")) + "\n", encoding="utf-8"
    )
    version = subprocess.run(
        [str(environment / "bin" / "ie-batch"), "--version"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert version.stdout == f"ie-batch {__version__}\n", version.stderr
    probe = (
        "import ie_batch, json; from ie_batch.schema.catalog import SHIPPED_SCHEMAS, "
        "shipped_schema_names; print(json.dumps([ie_batch.__file__, str(SHIPPED_SCHEMAS), "
        "shipped_schema_names()]))"
    )
    found = subprocess.run(
        [str(environment / "bin" / "python"), "-c", probe],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
        check=True,
    )
    module, schemas_folder, names = json.loads(found.stdout)
    assert module.startswith(str(environment))  # the installed copy, not this checkout
    assert schemas_folder == str(environment / "share" / "ie_batch" / "schemas")
    assert names == sorted(p.stem for p in (REPO / "schemas").glob("*.yaml"))


# --------------------------------------------------------------------------- the GPU install


def _make_venv_commands(extras: str | None, tmp_path: Path) -> str:
    make = shutil.which("make")
    if make is None:
        pytest.skip("make is not installed")
    argv = [make, "-n", "venv", f"VENV={tmp_path / 'venv'}"]
    if extras is not None:
        argv.append(f"EXTRAS={extras}")
    done = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=60, check=True)
    return "\n".join(line for line in done.stdout.splitlines() if not line.startswith("#"))


def test_the_gpu_install_from_a_checkout_keeps_torchvision(tmp_path):
    gpu = _make_venv_commands("gpu,s3,dev", tmp_path)
    assert "pip install --quiet -e '.[gpu,s3,dev]'" in gpu
    assert "uninstall" not in gpu  # vLLM's CUDA build requires its torchvision and torchaudio


@pytest.mark.parametrize("extras", [None, "cpu,s3,dev", "s3,cpu"])
def test_the_cpu_install_removes_the_torchvision_that_breaks_transformers(tmp_path, extras):
    commands = _make_venv_commands(extras, tmp_path)
    assert "pip uninstall --quiet --yes torchvision torchaudio torchcodec" in commands
