"""Shared fixtures: paths to the shipped schemas and examples."""

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def schemas_dir() -> Path:
    return REPO / "schemas"
