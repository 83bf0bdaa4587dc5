"""Building a job's classifiers where they run (an extraction actor, the local `Extractor`)."""

from __future__ import annotations

from collections.abc import Sequence

from ie_batch.classifiers.base import Classifier
from ie_batch.config import ClassifierConfig


def build_classifiers(
    configs: Sequence[ClassifierConfig], num_gpus: float = 0
) -> dict[str, Classifier]:
    """One loaded classifier per `classifiers:` entry, keyed by the schema it predicts."""
    from ie_batch.classifiers.encoder import EncoderClassifier

    return {
        config.schema_: EncoderClassifier.load(config.path, config.batch_size, num_gpus)
        for config in configs
    }
