import pytest

from ie_batch.metrics import (
    ClassificationCounts,
    Counts,
    bad_case,
    classification_counts,
    predicted_labels,
)
from ie_batch.results import DocumentResult, LabelScore


def multi_class(pairs):
    return [ClassificationCounts.of_row(g, p, multi_label=False) for g, p in pairs]


# gold, prediction; the last row got no prediction at all.
MULTI_CLASS_ROWS = [(["a"], ["a"]), (["a"], ["b"]), (["b"], ["b"]), (["c"], [])]


def test_multi_class_report_by_hand():
    report = sum(multi_class(MULTI_CLASS_ROWS)).report()
    # per class: a tp1 pred1 gold2 (P 1, R .5, F1 2/3); b tp1 pred2 gold1 (P .5, R 1, F1 2/3);
    #            c tp0 pred0 gold1 (all 0: the empty prediction is wrong)
    # accuracy 2/4; micro tp2 pred3 gold4 -> P 2/3, R 1/2, F1 4/7
    # macro P (1+.5+0)/3 = .5, R (.5+1+0)/3 = .5, F1 (2/3+2/3+0)/3 = 4/9 (mean of F1s)
    assert report["rows"] == 4
    assert report["correct"] == 2
    assert report["accuracy"] == 0.5
    assert (report["tp"], report["pred"], report["gold"]) == (2, 3, 4)
    assert report["f1"] == 4 / 7
    assert report["macro_precision"] == 0.5
    assert report["macro_recall"] == 0.5
    assert report["macro_f1"] == pytest.approx(4 / 9, abs=1e-15)
    assert report["per_class"]["a"] == Counts(1, 1, 2).to_dict()
    assert report["per_class"]["b"] == Counts(1, 2, 1).to_dict()
    assert report["per_class"]["c"] == Counts(0, 0, 1).to_dict()
    assert list(report["per_class"]) == ["a", "b", "c"]


def test_multi_label_report_by_hand():
    rows = [({"x", "y"}, {"x"}), ({"y"}, {"y", "z"}), (set(), set())]
    report = sum(ClassificationCounts.of_row(g, p, multi_label=True) for g, p in rows).report()
    # x tp1 pred1 gold1; y tp1 pred1 gold2; z tp0 pred1 gold0
    # micro tp2 pred3 gold3 -> P = R = F1 = 2/3; subset accuracy 1/3 (only the empty row)
    # macro P (1+1+0)/3 = 2/3, R (1+.5+0)/3 = .5, F1 (1+2/3+0)/3 = 5/9
    assert report["multi_label"] is True
    assert report["accuracy"] == 1 / 3
    assert (report["precision"], report["recall"], report["f1"]) == (2 / 3, 2 / 3, 2 / 3)
    assert report["macro_precision"] == 2 / 3
    assert report["macro_recall"] == 0.5
    assert report["macro_f1"] == pytest.approx(5 / 9, abs=1e-15)


def test_shards_add_up_to_the_whole():
    counts = multi_class(MULTI_CLASS_ROWS)
    shard_a, shard_b = sum(counts[:1]), sum(counts[1:])
    assert (shard_a + shard_b).report() == sum(counts).report()
    assert (shard_b + shard_a).report() == sum(counts).report()


def test_report_reads_back_for_re_summing():
    whole = sum(multi_class(MULTI_CLASS_ROWS))
    assert ClassificationCounts.from_dict(whole.report()) == whole


def test_empty_counts_take_the_mode_of_what_is_added():
    row = ClassificationCounts.of_row({"x"}, {"x"}, multi_label=True)
    assert ClassificationCounts() + row == row
    assert row + ClassificationCounts() == row
    assert ClassificationCounts().report()["accuracy"] == 0.0


def test_modes_do_not_mix():
    single = ClassificationCounts.of_row(["a"], ["a"], multi_label=False)
    multi = ClassificationCounts.of_row(["a"], ["a"], multi_label=True)
    with pytest.raises(ValueError, match="multi-class and multi-label"):
        single + multi


def test_multi_class_needs_exactly_one_gold_label():
    with pytest.raises(ValueError, match="exactly one label"):
        ClassificationCounts.of_row(["a", "b"], ["a"], multi_label=False)
    with pytest.raises(ValueError, match="exactly one label"):
        ClassificationCounts.of_row([], ["a"], multi_label=False)


def test_multi_class_prediction_is_the_top_scored_label():
    labels = [LabelScore("a", 0.2), LabelScore("b", 0.7), LabelScore("c", 0.7), LabelScore("d")]
    assert predicted_labels(labels, multi_label=False) == ("b",)  # ties keep the first
    assert predicted_labels([LabelScore("x"), LabelScore("y")], multi_label=False) == ("x",)
    assert predicted_labels([], multi_label=False) == ()
    assert predicted_labels(labels, multi_label=True) == ("a", "b", "c", "d")


def test_classification_counts_from_documents():
    gold = DocumentResult(labels=[LabelScore("sports")])
    predicted = DocumentResult(labels=[LabelScore("finance", 0.4), LabelScore("sports", 0.6)])
    counts = classification_counts(predicted, gold, multi_label=False)
    assert counts.correct == 1
    assert counts.per_class == {"sports": Counts(1, 1, 1)}


def test_bad_cases_list_only_wrong_rows():
    gold = DocumentResult(labels=[LabelScore("sports")])
    right = DocumentResult(labels=[LabelScore("sports")])
    wrong = DocumentResult(labels=[LabelScore("finance")])
    assert bad_case("r1", "text", right, gold, multi_label=False) is None
    assert bad_case("r2", "text", wrong, gold, multi_label=False) == {
        "id": "r2",
        "text": "text",
        "label": "sports",
        "prediction": "finance",
    }
    assert bad_case("r3", None, DocumentResult(), gold, multi_label=False) == {
        "id": "r3",
        "text": None,
        "label": "sports",
        "prediction": None,
    }
    multi_gold = DocumentResult(labels=[LabelScore("b"), LabelScore("a")])
    assert bad_case("r4", "t", wrong, multi_gold, multi_label=True) == {
        "id": "r4",
        "text": "t",
        "label": ["a", "b"],
        "prediction": ["finance"],
    }
