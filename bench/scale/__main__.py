"""The whole plan at scale with a zero-latency engine: rows/s, driver peak RSS, object-store peak,
files written per shard, and every row exactly once. Not in CI.

    .venv/bin/python -m bench.scale --rows 1000000 --shards 200   # the job's pool defaults

Synthetic rows (a news-like sentence each, half the shards Parquet, half JSONL) go through the
real job (`run_job`: the read tasks, the extraction actor pool, the write tasks, the commit)
with an engine that answers at once but counts tokens with the embedded model's real tokenizer
and chat template, so the CPU the extraction code spends per prompt (rendering, fitting to the
context, parsing) is all there and the model's time is not. The job's own figures come from its
`summary.json`; the bench then reads the results back and checks each (shard, row) once.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import resource
import tempfile
import threading
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from ie_batch.config import EngineConfig, config_from_data
from ie_batch.engines.fake import FakeEngine, LexiconAnswers
from ie_batch.engines.token_counter import TokenCounter
from ie_batch.prompts import Prompt

PEOPLE = ["Angela Merkel", "Tim Cook", "Ada Lovelace", "Alan Turing", "Grace Hopper"]
PLACES = ["Berlin", "Paris", "Tokyo", "Nairobi", "Lima"]
ORGS = ["Siemens", "Apple", "the United Nations", "Toyota", "FIFA"]
LEXICON = LexiconAnswers(entities={"person": PEOPLE, "location": PLACES, "organization": ORGS})


class TokenizingEngine(FakeEngine):
    """Answers at once (the lexicon's answer), counts tokens as the real engine does."""

    def __init__(self, config: EngineConfig) -> None:
        super().__init__(LEXICON, config.max_model_len, config.max_tokens, keep_prompts=False)
        self.counter = TokenCounter.from_config(config)

    def count_tokens(self, prompt: Prompt) -> int:
        return self.counter.count_tokens(prompt)


def tokenizing_engine(config: EngineConfig, num_gpus: float = 0) -> TokenizingEngine:
    return TokenizingEngine(config)


def write_corpus(folder: Path, rows: int, shards: int, seed: int = 0) -> None:
    rng = random.Random(seed)
    per_shard = [rows // shards + (1 if i < rows % shards else 0) for i in range(shards)]
    for index, count in enumerate(per_shard):
        texts = [
            f"{rng.choice(PEOPLE)} met officials of {rng.choice(ORGS)} in {rng.choice(PLACES)} "
            f"on day {rng.randrange(365)}, the agency said."
            for _ in range(count)
        ]
        ids = [f"s{index}-{i}" for i in range(count)]
        if index % 2:
            pq.write_table(pa.table({"id": ids, "text": texts}), folder / f"s{index:04d}.parquet")
        else:
            with open(folder / f"s{index:04d}.jsonl", "w", encoding="utf-8") as out:
                for doc_id, text in zip(ids, texts, strict=True):
                    out.write(json.dumps({"id": doc_id, "text": text}) + "\n")


class ObjectStorePeak:
    """The object store's peak use during the job, sampled from Ray's own memory summary (the
    figures `ray memory --stats-only` prints) every `every_s` seconds on a thread."""

    def __init__(self, every_s: float = 2.0) -> None:
        self.every_s = every_s
        self.peak_mib = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="object-store-peak", daemon=True)

    def __enter__(self) -> ObjectStorePeak:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        from ray._private.internal_api import memory_summary

        while not self._stop.wait(self.every_s):
            try:
                found = re.search(r"Plasma memory usage (\d+) MiB", memory_summary(stats_only=True))
            except Exception:  # noqa: BLE001 - a missed sample only lowers the peak's resolution
                continue
            if found:
                self.peak_mib = max(self.peak_mib, int(found.group(1)))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--shards", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=None, help="Default: the job's.")
    parser.add_argument("--block-rows", type=int, default=None, help="Default: the job's.")
    parser.add_argument("--actors", type=int, default=1)
    parser.add_argument("--work", default=None, help="Folder for the corpus and the output.")
    args = parser.parse_args()

    import ray

    from ie_batch.api import read_results
    from ie_batch.job.run import run_job

    work = Path(args.work or tempfile.mkdtemp(prefix="ie_batch_scale_"))
    corpus, output = work / "in", work / "out"
    corpus.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    write_corpus(corpus, args.rows, args.shards)
    print(
        f"corpus: {args.rows} rows in {args.shards} shards, {time.perf_counter() - started:.1f} s"
    )
    config = config_from_data(
        {
            "input": {"paths": [str(corpus)]},
            "schemas": ["news_ner_en"],
            "output": str(output),
            "pool": {
                "min_actors": args.actors,
                "max_actors": args.actors,
                **({"batch_size": args.batch_size} if args.batch_size else {}),
                **({"block_rows": args.block_rows} if args.block_rows else {}),
            },
        }
    )
    ray.init(include_dashboard=False, log_to_driver=False)
    with ObjectStorePeak() as object_store:
        report = run_job(config, engine_factory=tokenizing_engine, print_report=False, force=True)
    peak_rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # before read-back
    summary = json.loads((output / "summary.json").read_text(encoding="utf-8"))

    table = read_results(str(output))
    keys = set(
        zip(table.column("_shard").to_pylist(), table.column("_row").to_pylist(), strict=True)
    )
    files = [len(list(folder.glob("*.parquet"))) for folder in (output / "data").iterdir()]
    figures = {
        "rows": args.rows,
        "shards": args.shards,
        "batch_size": config.pool.batch_size,
        "block_rows": config.pool.block_rows,
        "actors": args.actors,
        "ok": report.ok,
        "job_seconds": summary["seconds"],
        "rows_per_second": summary["rows_per_second"],
        "prompt_tokens": summary["prompt_tokens"],
        "result_rows": table.num_rows,
        "distinct_rows": len(keys),
        "exactly_once": table.num_rows == len(keys) == args.rows,
        "files_per_shard_max": max(files, default=0),
        "driver_peak_rss_mib_during_job": round(peak_rss_mib, 1),
        "object_store_peak_mib": object_store.peak_mib,
        "work": str(work),
    }
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
