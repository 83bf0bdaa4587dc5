"""Shared fixtures: paths to the shipped schemas and examples."""

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def schemas_dir() -> Path:
    return REPO / "schemas"


@pytest.fixture(scope="module")
def ray_runtime():
    """A local Ray for one test module (modules that start their own Ray must not overlap)."""
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()
