"""What the job needs from a classifier: label scores for a list of texts.

Synchronous on purpose: a forward pass is CPU or GPU work that holds no event loop, so the
extraction code runs it in a worker thread next to the engine's async generation.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

from ie_batch.results import LabelScore


class Classifier(ABC):
    """A trained predictor for one classification schema (`schema_name`)."""

    schema_name: str

    @abstractmethod
    def classify(self, texts: Sequence[str]) -> list[list[LabelScore]]:
        """For each text, in order, the labels it is given with their probabilities: the one
        most likely label of a multi-class schema, every label at or above the threshold of a
        multi-label one (possibly none). Raises when the batch as a whole cannot be scored; the
        caller then asks text by text, so one bad text costs only its own row."""

    def shutdown(self) -> None:  # noqa: B027 - most classifiers hold nothing to release
        """Release the model's memory."""
