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


@pytest.fixture(scope="session")
def topic_encoder(tmp_path_factory):
    """(folder, record) of an encoder classifier for topic_en, fine-tuned for a few steps on the
    packaged MiniLM (tests/customize/encoders.py); trained once per session."""
    pytest.importorskip("transformers")
    from tests.customize.encoders import train_topics

    folder = tmp_path_factory.mktemp("encoders") / "topic_en"
    return folder, train_topics(folder)


@pytest.fixture(scope="session")
def tag_encoder(tmp_path_factory):
    """(folder, record) of a multi-label encoder classifier for news_tags (as topic_encoder)."""
    pytest.importorskip("transformers")
    from tests.customize.encoders import train_tags

    folder = tmp_path_factory.mktemp("encoders") / "news_tags"
    return folder, train_tags(folder)
