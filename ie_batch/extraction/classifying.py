"""Extraction with some classification schemas predicted by classifiers instead of prompts.

`ClassifyingExtractor` has `BatchExtractor`'s `extract`: each document's schemas that have a
classifier (`ie_batch.classifiers`) are scored by it, in one forward pass per batch, and the
others go to the `BatchExtractor` and its engine as before; both run at once and their results
meet in the document's one `DocumentResult` (the classifier's labels, with their probabilities,
in `labels`). With no schema left for the engine there is no `BatchExtractor` and no engine.

A batch a classifier cannot score is scored again text by text, so a text that fails costs its
own row an error (`classifier <schema>: ...`) and nothing else.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Mapping, Sequence

from ie_batch.classifiers import Classifier
from ie_batch.extraction.extractor import BatchExtractor, Document, DocumentOutcome
from ie_batch.results import DocumentResult, LabelScore

#: One text's labels, or why the classifier failed on it.
_Prediction = list[LabelScore] | str


class ClassifyingExtractor:
    def __init__(
        self, extractor: BatchExtractor | None, classifiers: Mapping[str, Classifier]
    ) -> None:
        if extractor is None and not classifiers:
            raise ValueError("an extractor needs at least one schema")
        self.extractor = extractor
        self.classifiers = dict(classifiers)
        self._prompted = (
            frozenset(schema.name for schema in extractor.schemas) if extractor else frozenset()
        )

    async def extract(self, documents: Sequence[Document]) -> list[DocumentOutcome]:
        asking = {
            name: [i for i, doc in enumerate(documents) if _asks(doc, name)]
            for name in self.classifiers
        }
        predicted = asyncio.gather(
            *(
                asyncio.to_thread(_classify, classifier, [documents[i].text for i in asking[name]])
                for name, classifier in self.classifiers.items()
            )
        )
        outcomes, predictions = await asyncio.gather(self._prompt(documents), predicted)
        for name, per_text in zip(self.classifiers, predictions, strict=True):
            for index, prediction in zip(asking[name], per_text, strict=True):
                result = outcomes[index].result
                if isinstance(prediction, str):
                    result.errors.append(f"classifier {name}: {prediction}")
                else:
                    result.labels.extend(prediction)
        return outcomes

    async def _prompt(self, documents: Sequence[Document]) -> list[DocumentOutcome]:
        """The engine's outcomes for the schemas no classifier predicts."""
        if self.extractor is None:
            return [DocumentOutcome(DocumentResult()) for _ in documents]
        prompted = [
            dataclasses.replace(
                doc,
                schemas=self._prompted if doc.schemas is None else doc.schemas & self._prompted,
            )
            for doc in documents
        ]
        return await self.extractor.extract(prompted)


def _asks(document: Document, schema: str) -> bool:
    return document.schemas is None or schema in document.schemas


def _classify(classifier: Classifier, texts: list[str]) -> list[_Prediction]:
    """The batch in one call; when that fails, each text alone, a failure its own."""
    if not texts:
        return []
    try:
        return _checked(classifier.classify(texts), len(texts))
    except Exception:  # noqa: BLE001 - some text broke the batch: find it, fail only it
        pass
    predictions: list[_Prediction] = []
    for text in texts:
        try:
            predictions.append(_checked(classifier.classify([text]), 1)[0])
        except Exception as exc:  # noqa: BLE001 - the row's error, the batch goes on
            predictions.append(f"{type(exc).__name__}: {exc}")
    return predictions


def _checked(predictions: list[list[LabelScore]], expected: int) -> list[_Prediction]:
    if len(predictions) != expected:
        raise RuntimeError(f"{expected} texts in, {len(predictions)} predictions out")
    return list(predictions)
