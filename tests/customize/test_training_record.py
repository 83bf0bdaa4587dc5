"""The per-epoch history of a training record, rebuilt from the trainer's own log."""

from ie_batch.customize.training_record import EpochFigures, TrainingRecord, history_from_log


def test_each_evaluation_gets_the_mean_train_loss_before_it_and_its_dev_f1():
    log = [
        {"loss": 2.0, "step": 1, "epoch": 0.5},
        {"loss": 1.0, "step": 2, "epoch": 1.0},
        {"eval_loss": 1.5, "step": 2, "epoch": 1.0},
        {"dev_f1": 0.25, "dev_precision": 0.5, "dev_recall": 1 / 6, "dev_examples": 3, "step": 2},
        {"loss": 0.5, "step": 3, "epoch": 1.5},
        {"eval_loss": 1.25, "step": 3, "epoch": 1.5},
    ]
    assert history_from_log(log) == [
        EpochFigures(1.0, 2, 1.5, 1.5, 0.25, 0.5, 1 / 6, 3),
        EpochFigures(1.5, 3, 0.5, 1.25),
    ]


def test_a_record_round_trips_through_its_dict():
    record = TrainingRecord(
        base_model="embedded",
        base_model_path="/m",
        data={"sha256": "x"},
        hyperparameters={"rank": 16},
        steps=3,
        epochs=1.5,
        wall_seconds=1.0,
        train_tokens=10,
        tokens_per_second=10.0,
        train_loss=0.5,
        history=[EpochFigures(1.0, 2, dev_loss=1.0)],
    )
    assert TrainingRecord.from_dict(record.to_dict()) == record
