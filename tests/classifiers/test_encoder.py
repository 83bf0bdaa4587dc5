"""EncoderClassifier on folders trained for a few steps from the packaged MiniLM (no accuracy
asserted: what must hold for any trained encoder)."""

from concurrent.futures import ThreadPoolExecutor

import pytest

from ie_batch.classifiers.encoder import EncoderClassifier

TEXTS = [
    "The goalkeeper saved a penalty in extra time.",
    "Markets rallied after the earnings report.",
    "word " * 400,  # far past max_length: read from its head
    "",
]
TOPICS = {"world", "sports", "business", "sci_tech"}


@pytest.fixture(scope="module")
def topics(topic_encoder):
    folder, _ = topic_encoder
    return EncoderClassifier.load(folder, batch_size=3)


def test_a_multi_class_folder_gives_each_text_one_label_of_its_schema(topics):
    predictions = topics.classify(TEXTS)
    assert len(predictions) == len(TEXTS)
    for labels in predictions:
        (label,) = labels
        assert label.label in TOPICS and 0.25 <= label.score <= 1.0  # the top of 4 softmax scores
    assert topics.schema_name == "topic_en"


def test_class_probabilities_sum_to_one_and_follow_the_card_order(topics):
    rows = topics.probabilities(TEXTS[:2])
    assert all(
        len(row) == len(topics.card.classes) and sum(row) == pytest.approx(1) for row in rows
    )


def test_batching_does_not_change_the_labels(topics):
    single = EncoderClassifier(topics.model, topics.tokenizer, topics.card, batch_size=1)
    one_by_one = single.classify(TEXTS)
    batched = topics.classify(TEXTS)
    assert [[s.label for s in labels] for labels in one_by_one] == [
        [s.label for s in labels] for labels in batched
    ]
    for single, together in zip(one_by_one, batched, strict=True):
        assert single[0].score == pytest.approx(together[0].score, abs=1e-4)


def test_threads_classifying_at_once_each_get_their_own_answers(topics):
    expected = topics.classify(TEXTS)
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: topics.classify(TEXTS), range(8)))
    assert all(
        [[s.label for s in labels] for labels in result]
        == [[s.label for s in labels] for labels in expected]
        for result in results
    )


def test_a_multi_label_folder_gives_the_labels_over_its_threshold(tag_encoder):
    folder, record = tag_encoder
    tags = EncoderClassifier.load(folder)
    probabilities = tags.probabilities(TEXTS)
    for row, labels in zip(probabilities, tags.classify(TEXTS), strict=True):
        expected = {
            c for c, p in zip(tags.card.classes, row, strict=True) if p >= record.dev["threshold"]
        }
        assert {s.label for s in labels} == expected
        assert all(s.score >= tags.card.threshold for s in labels)
