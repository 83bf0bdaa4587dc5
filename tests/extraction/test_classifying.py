"""ClassifyingExtractor: classifier schemas scored by their classifier, the rest prompted, one
result per document; a text the classifier fails on costs only its own document."""

import asyncio

import pytest

from ie_batch.classifiers import Classifier
from ie_batch.engines.fake import FakeEngine, LexiconAnswers
from ie_batch.extraction.classifying import ClassifyingExtractor
from ie_batch.extraction.extractor import BatchExtractor, Document
from ie_batch.prompts import get_format
from ie_batch.results import LabelScore
from ie_batch.schema.catalog import resolve_schemas

LEXICON = LexiconAnswers(entities={"person": ["Tim Cook"], "location": ["Berlin"]})


class ScriptedClassifier(Classifier):
    """'sports' at 0.9 for every text; raises on a batch holding one of `fail_on`."""

    def __init__(self, fail_on=()):
        self.schema_name = "topic_en"
        self.fail_on = set(fail_on)
        self.calls = []

    def classify(self, texts):
        self.calls.append(list(texts))
        for text in texts:
            if text in self.fail_on:
                raise RuntimeError(f"cannot score {text!r}")
        return [[LabelScore("sports", 0.9)] for _ in texts]


def _extractor(classifier, with_engine=True):
    engine = FakeEngine(LEXICON)
    prompted = None
    if with_engine:
        (ner,) = resolve_schemas(["news_ner_en"])
        prompted = BatchExtractor([ner], engine, get_format("document_first"))
    return ClassifyingExtractor(prompted, {"topic_en": classifier}), engine


DOCS = [
    Document("a", "Tim Cook visited Berlin.", frozenset({"news_ner_en", "topic_en"})),
    Document("b", "A quiet day.", frozenset({"news_ner_en", "topic_en"})),
    Document("c", "Berlin only.", frozenset({"news_ner_en"})),
]


def test_classifier_schemas_are_scored_by_it_and_the_rest_prompted():
    classifier = ScriptedClassifier()
    extractor, engine = _extractor(classifier)
    outcomes = asyncio.run(extractor.extract(DOCS))
    assert classifier.calls == [[DOCS[0].text, DOCS[1].text]]  # c is not asked topic_en
    assert [o.result.labels for o in outcomes] == [[LabelScore("sports", 0.9)]] * 2 + [[]]
    assert {(e.type, e.text) for e in outcomes[0].result.entities} == {
        ("person", "Tim Cook"),
        ("location", "Berlin"),
    }
    assert engine.prompts_seen
    assert all(p.slice.schema.name == "news_ner_en" for p in engine.prompts_seen)
    assert all(not o.result.errors for o in outcomes)


def test_a_text_the_classifier_fails_on_is_an_error_of_its_document_only():
    classifier = ScriptedClassifier(fail_on={DOCS[1].text})
    extractor, _ = _extractor(classifier)
    outcomes = asyncio.run(extractor.extract(DOCS))
    assert outcomes[1].result.errors == [
        "classifier topic_en: RuntimeError: cannot score 'A quiet day.'"
    ]
    assert outcomes[1].result.entities == []  # its prompted schemas still answered (nothing here)
    assert (
        outcomes[0].result.labels == [LabelScore("sports", 0.9)] and not outcomes[0].result.errors
    )
    # the whole batch first, then text by text
    assert classifier.calls == [[DOCS[0].text, DOCS[1].text], [DOCS[0].text], [DOCS[1].text]]


def test_a_classifier_answering_for_the_wrong_number_of_texts_fails_those_rows_not_the_batch():
    class Short(ScriptedClassifier):
        def classify(self, texts):
            return super().classify(texts)[:-1]  # one prediction short, always

    outcomes = asyncio.run(_extractor(Short())[0].extract(DOCS))
    assert all("1 texts in, 0 predictions out" in o.result.errors[0] for o in outcomes[:2])


def test_with_every_schema_classified_no_engine_is_needed():
    classifier = ScriptedClassifier()
    extractor, engine = _extractor(classifier, with_engine=False)
    docs = [Document("a", "One."), Document("b", "Two.", frozenset())]
    outcomes = asyncio.run(extractor.extract(docs))
    assert [o.result.labels for o in outcomes] == [[LabelScore("sports", 0.9)], []]
    assert not engine.prompts_seen and outcomes[0].prompts == 0
    with pytest.raises(ValueError, match="at least one schema"):
        ClassifyingExtractor(None, {})
