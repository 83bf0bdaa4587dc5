"""`python -m bench.classifier`: fine-tune the encoder classifier on a set's training part and
measure it on its evaluated part, next to the LLM figures of `bench.accuracy`. Not in CI.

    .venv/bin/python -m bench.classifier --dataset bbc-news-dev --epochs 3 --max-length 256

The rows are `bench.accuracy.datasets`' own: a `-dev` set's evaluated rows are its dev split and
the encoder trains on the set's training part (the few-shot pool, carved apart from dev and test,
see bench/README.md "Data"), so nothing evaluated was trained on. Training runs without a dev
set of its own (the evaluated rows are never used to choose anything); the evaluated rows are
then predicted by `EncoderClassifier`, the predictor a job runs, and scored with the job's
classification counts. Prints one JSON object and a Markdown table row.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from bench.accuracy.datasets import DATASETS, get_dataset
from bench.accuracy.runner import sample_rows
from ie_batch.classifiers.card import RECORD_NAME
from ie_batch.classifiers.encoder import EncoderClassifier
from ie_batch.customize.classifier_data import labelled_texts
from ie_batch.customize.encoder_training import (
    ClassifierTrainingRecord,
    EncoderTrainingOptions,
    dev_report,
    train_encoder_classifier,
)
from ie_batch.schema import ClassificationSchema, load_schema

#: Texts per forward pass when the evaluated rows are predicted.
PREDICT_BATCH = 32


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    classification = [name for name, d in DATASETS.items() if d.task == "classification"]
    parser = argparse.ArgumentParser(prog="python -m bench.classifier", description=__doc__)
    parser.add_argument("--dataset", default="bbc-news-dev", choices=classification)
    parser.add_argument("--encoder", default=None, help="default: the packaged MiniLM")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--max-length", type=int, default=256)
    parser.add_argument("--train-limit", type=int, default=None, help="first N training rows")
    parser.add_argument(
        "--limit", type=int, default=None, help="N evaluated rows spread evenly (bench.accuracy's)"
    )
    parser.add_argument("--output", type=Path, default=None, help="keep the classifier here")
    parser.add_argument(
        "--classifier", type=Path, default=None, help="evaluate this trained folder, no training"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    dataset = get_dataset(args.dataset)
    work = Path(tempfile.mkdtemp(prefix="bench-classifier-"))
    schema = load_schema(dataset.schema_file(work))
    assert isinstance(schema, ClassificationSchema)
    train_rows = dataset.example_rows()[: args.train_limit]
    evaluated_rows = sample_rows(dataset.rows(), args.limit, "spread")
    train = _texts(train_rows, schema, f"{args.dataset}:train")
    evaluated = _texts(evaluated_rows, schema, f"{args.dataset}:{dataset.split}")
    options = EncoderTrainingOptions(
        epochs=args.epochs,
        learning_rate=args.lr,
        batch_size=args.batch_size,
        max_length=args.max_length,
    )
    output = args.classifier or args.output or work / "classifier"
    if args.classifier is None:
        record = train_encoder_classifier(
            train, [], schema, output, encoder=args.encoder, options=options
        )
    else:
        record = ClassifierTrainingRecord(**json.loads((output / RECORD_NAME).read_text()))
    classifier = EncoderClassifier.load(output, batch_size=PREDICT_BATCH)
    started = time.perf_counter()
    probabilities = classifier.probabilities([text.text for text in evaluated])
    seconds = time.perf_counter() - started
    figures = dev_report(classifier.card, probabilities, evaluated)
    result = {
        "dataset": args.dataset,
        "encoder": record.encoder,
        "train_rows": record.data["train_rows"],
        "evaluated_rows": len(evaluated),
        "epochs": record.epochs,
        "max_length": classifier.card.max_length,
        "steps": record.steps,
        "train_seconds": record.wall_seconds,
        "train_texts_per_second": record.texts_per_second,
        "accuracy": round(figures["accuracy"], 4),
        "macro_f1": round(figures["macro_f1"], 4),
        "predict_seconds": round(seconds, 2),
        "docs_per_second": round(len(evaluated) / seconds, 1),
    }
    print(json.dumps(result))
    print(
        f"| {args.dataset} | {record.data['train_rows']} | {record.epochs} | "
        f"{classifier.card.max_length} | "
        f"{record.wall_seconds:.0f} | {len(evaluated)} | {figures['accuracy']:.3f} | "
        f"{figures['macro_f1']:.3f} | {result['docs_per_second']} |"
    )


def _texts(rows, schema, source):
    return labelled_texts(((f"{source}:{i}", row) for i, row in enumerate(rows)), schema)


if __name__ == "__main__":
    main()
