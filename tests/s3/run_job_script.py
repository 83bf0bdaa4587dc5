"""A job driver in its own process, for the kill-and-resume test: it starts its own Ray and runs
one job over S3 (or local folders, with ENDPOINT_URL `-`) with a deliberately slow fake
engine, so a test can SIGKILL it mid-job.

    python tests/s3/run_job_script.py INPUT_URI OUTPUT_URI ENDPOINT_URL [--delay SECONDS]
        [--lease-ttl SECONDS]

`job_config` is shared with the test, so the rerun has the very same configuration fingerprint.
"""

from __future__ import annotations

import argparse
import json
import time

from ie_batch.config import JobConfig, config_from_data
from ie_batch.engines.fake import FakeEngineFactory, LexiconAnswers
from ie_batch.prompts import Prompt

LEXICON = LexiconAnswers(
    entities={"person": ["Tim Cook", "Angela Merkel"], "location": ["Berlin", "Paris"]}
)


def job_config(input_uri: str, output_uri: str, endpoint_url: str) -> JobConfig:
    storage = {} if endpoint_url == "-" else {"endpoint_url": endpoint_url}
    return config_from_data(
        {
            "input": {"paths": [input_uri]},
            "schemas": ["news_ner_en"],
            "output": output_uri,
            "pool": {"batch_size": 4},
            "storage": storage,
        }
    )


class SlowAnswers:
    """The lexicon's answers, each after `delay` seconds: a stand-in for a busy model.

    Defined at module level; run as a script it lives in `__main__`, which Ray's cloudpickle
    ships to the actors by value, so the workers need not import this file."""

    def __init__(self, inner: LexiconAnswers, delay: float) -> None:
        self.inner = inner
        self.delay = delay

    def __call__(self, prompt: Prompt) -> str:
        time.sleep(self.delay)
        return self.inner(prompt)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("input_uri")
    parser.add_argument("output_uri")
    parser.add_argument("endpoint_url")
    parser.add_argument("--delay", type=float, default=0.2)
    parser.add_argument("--lease-ttl", type=float, default=120.0)
    args = parser.parse_args()

    import ray

    from ie_batch.job.run import run_job

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    report = run_job(
        job_config(args.input_uri, args.output_uri, args.endpoint_url),
        engine_factory=FakeEngineFactory(SlowAnswers(LEXICON, args.delay)),
        print_report=False,
        lease_ttl_s=args.lease_ttl,
    )
    print(json.dumps({"shards": sorted(report.shards), "skipped": report.skipped}), flush=True)


if __name__ == "__main__":
    main()
