import pytest

from ie_batch.metrics import Counts, sum_counts


def test_ratios_come_from_the_counts():
    counts = Counts(tp=3, pred=5, gold=3)
    assert counts.to_dict() == {
        "precision": 0.6,
        "recall": 1.0,
        "f1": 0.75,
        "tp": 3,
        "pred": 5,
        "gold": 3,
    }


def test_zero_denominators_give_zero_not_an_error():
    assert Counts().to_dict() == {
        "precision": 0.0,
        "recall": 0.0,
        "f1": 0.0,
        "tp": 0,
        "pred": 0,
        "gold": 0,
    }
    nothing_predicted = Counts(tp=0, pred=0, gold=4)
    assert nothing_predicted.precision == nothing_predicted.recall == nothing_predicted.f1 == 0.0


def test_counts_add_and_sum_from_zero():
    parts = [Counts(1, 2, 3), Counts(2, 2, 2), Counts(0, 1, 0)]
    assert parts[0] + parts[1] == Counts(3, 4, 5)
    assert sum(parts) == Counts(3, 5, 5)
    assert sum([], Counts()) == Counts()


def test_summed_f1_is_not_the_mean_of_f1s():
    small, large = Counts(tp=1, pred=1, gold=1), Counts(tp=0, pred=9, gold=9)
    assert (small.f1 + large.f1) / 2 == 0.5
    assert (small + large).f1 == 0.1  # 2*1 / (10+10)


@pytest.mark.parametrize("tp, pred, gold", [(2, 1, 5), (2, 5, 1), (-1, 0, 0), (0, -1, 0)])
def test_impossible_counts_are_rejected(tp, pred, gold):
    with pytest.raises(ValueError):
        Counts(tp=tp, pred=pred, gold=gold)


def test_from_dict_reads_back_to_dict_and_ignores_the_ratios():
    counts = Counts(tp=2, pred=7, gold=4)
    assert Counts.from_dict(counts.to_dict()) == counts
    assert Counts.from_dict({"tp": 1, "pred": 1, "gold": 2, "f1": 0.99}) == Counts(1, 1, 2)


def test_sum_counts_adds_key_by_key():
    total = sum_counts([{"ner": Counts(1, 1, 1)}, {"ner": Counts(0, 2, 1), "re": Counts(1, 1, 1)}])
    assert total == {"ner": Counts(1, 3, 2), "re": Counts(1, 1, 1)}
