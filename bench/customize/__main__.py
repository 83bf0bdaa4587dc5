"""`python -m bench.customize`: the job's F1 before and after fine-tuning, on one bench data set.

    .venv/bin/python -m bench.customize --dataset conll2003-valid --train-limit 2000 \
        --limit 100 --epochs 1

1. Gold rows of a train subset: the first `--train-limit` rows of the data set's few-shot pool
   (`Dataset.example_rows`, e.g. CoNLL-2003 train for conll2003-valid), which never overlaps the
   evaluated split.
2. Training examples from them with the job's own prompt format
   (`ie_batch.customize.training_data.export_training_data`, a small dev share for dev F1).
3. `ie_batch.customize.lora_training.train_adapter` (or `--adapter DIR`: one trained before).
4. The job (`bench.accuracy.runner.run_one`: Ray Data, the vLLM engine) on `--limit` rows of the
   evaluated split, zero-shot and then with the adapter (engine.lora_adapter; `--merged` loads
   the merged checkpoint as engine.model instead).

Printed: F1 before/after, training wall time, tokens/s, steps, and prompt + answer tokens per
document of each run; written to `<output>/results.json`. Not run in CI: a real training takes
minutes to an hour on CPU (see the README's customization section for the budget).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.accuracy.configurations import Configuration, get_configuration
from bench.accuracy.datasets import DATASETS, Dataset, get_dataset
from bench.accuracy.runner import RunResult, run_one, write_jsonl
from bench.accuracy.table import render_text


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.customize",
        description="F1 of the ie_batch job before and after LoRA fine-tuning on a train subset.",
    )
    parser.add_argument("--dataset", default="conll2003-valid", help=", ".join(DATASETS))
    parser.add_argument("--data-dir", type=Path, default=None, help="as for bench.accuracy")
    parser.add_argument("--train-limit", type=int, default=2000, help="gold train rows used")
    parser.add_argument("--dev-fraction", type=float, default=0.05, help="of them held out")
    parser.add_argument(
        "--negative-slices",
        type=_negative_slices,
        default=1,
        help="slices of absent labels per document beyond its gold ones ('all': every slice)",
    )
    parser.add_argument(
        "--run-off-examples",
        action="store_true",
        help="also train the entity-type run-off the job asks, one example per gold mention",
    )
    parser.add_argument("--limit", type=int, default=100, help="evaluated rows (spread; 0 all)")
    parser.add_argument("--format", default="document_first", help="prompt format (both ways)")
    parser.add_argument("--model", default="embedded", help="base model (both runs)")
    parser.add_argument("--epochs", type=float, default=1.0)
    parser.add_argument("--max-steps", type=int, default=None)
    parser.add_argument("--lr", type=float, default=2e-4)
    parser.add_argument("--rank", type=int, default=16)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--grad-accum", type=int, default=4)
    parser.add_argument("--dev-limit", type=int, default=32, help="dev examples for dev F1")
    parser.add_argument("--adapter", type=Path, default=None, help="use this trained adapter")
    parser.add_argument("--merged", action="store_true", help="evaluate the merged checkpoint")
    parser.add_argument("--skip-before", action="store_true", help="no zero-shot run")
    parser.add_argument("--output", type=Path, default=Path("out/bench/customize"))
    parser.add_argument("--batch-size-job", type=int, default=16, help="documents per batch")
    parser.add_argument("--num-cpus", type=int, default=2, help="CPUs of the local Ray")
    return parser.parse_args(argv)


def _negative_slices(value: str) -> int | None:
    return None if value == "all" else int(value)


def export_examples(dataset: Dataset, args: argparse.Namespace, work: Path) -> Path:
    """Gold rows of the train subset, exported as training examples; the examples' folder."""
    from ie_batch.customize.training_data import export_training_data

    rows = dataset.example_rows()[: args.train_limit]
    gold = work / "gold" / f"{dataset.name}-train.jsonl"
    write_jsonl(gold, rows)
    schema = dataset.schema_file(work / "schemas")
    examples = args.output / "examples" / dataset.name
    manifest = export_training_data(
        gold,
        str(schema),
        examples,
        format=args.format,
        dev_fraction=args.dev_fraction,
        negative_slices=args.negative_slices,
        run_offs=args.run_off_examples,
    )
    counts = manifest.content["counts"]
    print(
        f"bench: {len(rows)} gold rows -> {counts['examples']} examples in {examples}",
        file=sys.stderr,
    )
    return examples


def train(examples: Path, args: argparse.Namespace, dataset: Dataset) -> Path:
    from ie_batch.customize.lora_training import train_adapter
    from ie_batch.customize.training_options import TrainingOptions

    adapter = args.output / "adapters" / dataset.name
    if (adapter / "training_record.json").exists():
        print(f"bench: using the adapter trained before in {adapter}", file=sys.stderr)
        return adapter
    options = TrainingOptions(
        data_dir=examples,
        output=adapter,
        model=args.model,
        epochs=args.epochs,
        max_steps=args.max_steps,
        learning_rate=args.lr,
        rank=args.rank,
        alpha=2 * args.rank,
        batch_size=args.batch_size,
        grad_accum=args.grad_accum,
        dev_limit=args.dev_limit,
        merge=args.merged,
        resume=(adapter / "checkpoints").is_dir(),
    )
    train_adapter(options, log=lambda line: print(f"bench: train: {line}", file=sys.stderr))
    return adapter


def tuned_engine(adapter: Path, args: argparse.Namespace) -> dict[str, Any]:
    if args.merged:
        return {"model": str(adapter / "merged")}
    engine: dict[str, Any] = {"model": args.model, "lora_adapter": str(adapter.resolve())}
    if args.rank > 16:  # vLLM serves ranks up to 16 unless told
        engine["engine_kwargs"] = {"max_lora_rank": args.rank}
    return engine


def evaluate(dataset, name, engine, args, work) -> RunResult:
    base = get_configuration("defaults")
    job = {"engine": engine, "prompt": {"format": args.format}}
    configuration = Configuration(name, f"{base.summary}; {name}", job=job)
    result = run_one(
        dataset,
        configuration,
        limit=args.limit or None,
        output=args.output,
        work=work,
        batch_size=args.batch_size_job,
    )
    print(render_text([result]).split("\n\n")[0], file=sys.stderr)
    return result


def summary(result: RunResult) -> dict[str, Any]:
    tokens = result.prompt_tokens + result.completion_tokens
    return {
        **result.to_dict(),
        "tokens_per_document": round(tokens / result.rows, 1) if result.rows else None,
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    dataset = get_dataset(args.dataset, args.data_dir)
    args.output.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="ie_batch_bench_customize_") as tmp:
        work = Path(tmp)
        adapter = args.adapter
        if adapter is None:
            adapter = train(export_examples(dataset, args, work), args, dataset)
        from ie_batch.customize.training_record import read_record

        record = read_record(adapter)
        import ray

        ray.init(num_cpus=args.num_cpus, include_dashboard=False, log_to_driver=False)
        try:
            before = None
            if not args.skip_before:
                before = evaluate(dataset, "zero-shot", {"model": args.model}, args, work)
            after = evaluate(dataset, "lora", tuned_engine(adapter, args), args, work)
        finally:
            ray.shutdown()
    figures = {
        "dataset": dataset.name,
        "adapter": str(adapter),
        "training": {
            "examples": record.data.get("train_examples"),
            "steps": record.steps,
            "epochs": record.epochs,
            "wall_seconds": record.wall_seconds,
            "tokens_per_second": record.tokens_per_second,
            "history": [vars(h) for h in record.history],
        },
        "before": summary(before) if before else None,
        "after": summary(after),
    }
    path = args.output / "results.json"
    path.write_text(json.dumps(figures, indent=2, ensure_ascii=False) + "\n")

    def f1(result: RunResult | None) -> str:
        if result is None:
            return "-"
        value = result.metrics.get("f1", result.metrics.get("accuracy"))
        return f"{value:.4f}" if isinstance(value, float) else "-"

    print(f"{dataset.name}: F1 before {f1(before)}, after {f1(after)}")
    print(
        f"training: {record.steps} steps, {record.epochs} epochs over "
        f"{record.data.get('train_examples')} examples in {record.wall_seconds:.0f} s, "
        f"{record.tokens_per_second:.0f} tokens/s"
    )
    for name, result in (("before", before), ("after", after)):
        if result is not None:
            print(f"{name}: {summary(result)['tokens_per_document']} tokens per document")
    print(f"written: {path}")
    return 1 if (after.error or (before and before.error)) else 0


if __name__ == "__main__":  # vLLM spawns processes: keep the guard
    sys.exit(main())
