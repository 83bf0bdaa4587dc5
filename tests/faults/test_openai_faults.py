"""An OpenAI-compatible server behind a proxy that throttles and fails requests: the job, run
through Ray with `engine.kind: openai`, still returns every row exactly once.

A real vLLM server on CPU with the embedded model (one for the module), a real HTTP proxy on
loopback between the job's CPU actors and the server (`tests/faults/openai_proxy.py`): every
third chat-completion request is answered 429 with `Retry-After`, 503, or a dropped connection,
in turn. The test checks that the proxy really did so, that every faulted request came back and
was answered, that a Retry-After was waited for, that every request carried the key, and that
the key is in no output file.
"""

from __future__ import annotations

import os
import random

import pytest

from ie_batch.api import read_results
from ie_batch.config import config_from_data
from ie_batch.job.run import run_job
from tests.faults.conftest import assert_exactly_once, write_jsonl
from tests.faults.openai_proxy import Fault, running_proxy

pytestmark = [pytest.mark.ray, pytest.mark.engine]

KEY_ENV = "IE_BATCH_TEST_OPENAI_KEY"
KEY = "ie-batch-fault-" + "".join(random.choices("abcdef0123456789", k=24))
RETRY_AFTER_S = 1
#: Clock slack between the proxy's arrival times and the client's wait (seconds).
SLACK_S = 0.05
TEXTS = [
    "Angela Merkel met Tim Cook in Paris on Monday.",
    "Shares of Apple rose 3% after the earnings report.",
    "Serena Williams won the final in London.",
    "NASA launched a probe to study Jupiter.",
]
FAULTS = {fault.value for fault in Fault}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    pytest.importorskip("vllm")
    from tests.engines.vllm_server import running_server

    log = tmp_path_factory.mktemp("vllm-server") / "server.log"
    with running_server(log, api_key=KEY) as running:
        yield running


@pytest.fixture(scope="module")
def ray_with_key(server):
    """A local Ray whose workers inherit the key's variable, as a cluster's would from its
    Secret."""
    ray = pytest.importorskip("ray")
    os.environ[KEY_ENV] = KEY
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        yield ray
    finally:
        ray.shutdown()
        os.environ.pop(KEY_ENV, None)


def test_throttling_and_server_errors_cost_no_row(server, ray_with_key, tmp_path):
    write_jsonl(
        tmp_path / "in" / "a.jsonl",
        [{"id": f"r{i}", "text": text} for i, text in enumerate(TEXTS)],
    )
    output = tmp_path / "out"
    with running_proxy(
        server.base_url,
        every=3,
        faults=(Fault.THROTTLE, Fault.UNAVAILABLE, Fault.DROP),
        retry_after_s=RETRY_AFTER_S,
        authorization=f"Bearer {KEY}",
    ) as proxy:
        config = config_from_data(
            {
                "input": {"paths": [str(tmp_path / "in")]},
                "schemas": ["news_ner_en", "topic_en"],
                "output": str(output),
                "engine": {
                    "kind": "openai",
                    "base_url": proxy.base_url,
                    "model": server.served_model,
                    "api_key_env": KEY_ENV,
                    "max_tokens": 64,
                    "request_timeout_s": 120,
                    "retry_backoff_s": 0.1,
                    "retry_backoff_max_s": 1.0,
                },
                "prompt": {"entity_type_run_off": False},
                "pool": {"batch_size": 2, "batches_in_flight": 2},
            }
        )
        report = run_job(config, print_report=False)

    assert report.ok
    assert_exactly_once(output, "a", len(TEXTS))
    rows = read_results(str(output)).to_pylist()
    assert not [error for row in rows for error in row["errors"] if "openai" in error]
    assert all(len(row["labels"]) == 1 for row in rows)  # every topic prompt was answered

    exchanges = proxy.exchanges
    outcomes = proxy.outcomes()
    assert outcomes[Fault.THROTTLE.value] >= 1, outcomes
    assert outcomes[Fault.UNAVAILABLE.value] >= 1, outcomes
    assert outcomes[Fault.DROP.value] >= 1, outcomes
    assert set(outcomes) <= FAULTS | {"200"}, outcomes
    assert all(exchange.authorized for exchange in exchanges)
    answered = [exchange.body for exchange in exchanges if exchange.outcome == "200"]
    assert len(answered) == len(set(answered))  # no prompt answered twice
    assert {e.body for e in exchanges if e.outcome in FAULTS} <= set(answered)
    for throttled in (e for e in exchanges if e.outcome == Fault.THROTTLE.value):
        again = min(
            e.arrived
            for e in exchanges
            if e.body == throttled.body and e.arrived > throttled.arrived
        )
        assert again - throttled.arrived >= RETRY_AFTER_S - SLACK_S

    for path in output.rglob("*"):
        if path.is_file():
            assert KEY.encode() not in path.read_bytes(), path
