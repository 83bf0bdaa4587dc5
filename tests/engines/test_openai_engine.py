"""The OpenAI-compatible engine.

Without a server (fast): Retry-After parsing, backoff, the request pacer, and the engine against
an in-process HTTP transport (httpx.MockTransport) that answers what each test scripts: request
shape, usage, retries on 429/5xx/connection errors, the structured-outputs fallback, the
concurrency cap, the key from the environment and never in an error or a log.

With a real server (marked `engine`): vLLM's OpenAI-compatible server on CPU with the embedded
model on a loopback port, one for the module (`tests/engines/vllm_server.py`).
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import random
import time
from collections.abc import Callable

import httpx
import pytest

from ie_batch.config import ConfigError, EngineConfig, config_from_data
from ie_batch.engines.factory import build_engine
from ie_batch.engines.openai_engine import (
    ESTIMATE_TEMPLATE_TOKENS,
    MAX_RETRY_AFTER_S,
    EngineSetupError,
    OpenAIEngine,
    RequestPacer,
    backoff_seconds,
    estimate_tokens,
    load_tokenizer,
    retry_after_seconds,
)
from ie_batch.fingerprint import fingerprint_of
from ie_batch.prompts import get_format
from ie_batch.schema.catalog import resolve_schema

BASE_URL = "http://llm.test/v1"
SERVED = "org/served-model"
KEY = "sk-test-0123456789abcdef"
#: The key the real server demands (a fresh one per run).
SERVER_KEY = "ie-batch-test-" + "".join(random.choices("abcdef0123456789", k=24))


def _prompts(texts: list[str], schema: str = "news_ner_en") -> list:
    fmt = get_format()
    resolved = resolve_schema(schema)
    return [fmt.render(text, slice_) for text in texts for slice_ in fmt.slices(resolved)]


PROMPT = _prompts(["Ada Lovelace met Charles Babbage in London."])[0]


def _config(**fields) -> EngineConfig:
    return EngineConfig(
        kind="openai",
        base_url=BASE_URL,
        model=SERVED,
        retry_backoff_s=0.01,
        retry_backoff_max_s=0.05,
        **fields,
    )


def _completion(text: str = '{"person": []}', prompt_tokens: int = 11, completion_tokens: int = 3):
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "model": SERVED,
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


class Server:
    """Scripted answers by request number (1-based); records every request it saw."""

    def __init__(self, script: Callable[[int, httpx.Request], httpx.Response] | None = None):
        self.script = script or (lambda n, request: httpx.Response(200, json=_completion()))
        self.requests: list[httpx.Request] = []
        self.times: list[float] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        self.times.append(time.monotonic())
        return self.script(len(self.requests), request)

    def bodies(self) -> list[dict]:
        return [json.loads(request.content) for request in self.requests]


def _engine(server, config: EngineConfig | None = None, **kwargs) -> OpenAIEngine:
    return OpenAIEngine(
        config or _config(),
        transport=httpx.MockTransport(server),
        rng=random.Random(7),
        **kwargs,
    )


def _run(engine: OpenAIEngine, prompts: list) -> list:
    return asyncio.run(engine.generate(prompts))


# --------------------------------------------------------------------------- Retry-After


def test_retry_after_in_seconds_fractions_and_milliseconds():
    assert retry_after_seconds({"Retry-After": "3"}) == 3.0
    assert retry_after_seconds({"retry-after": "0.25"}) == 0.25
    assert retry_after_seconds({"retry-after-ms": "1500", "retry-after": "9"}) == 1.5


def test_retry_after_as_an_http_date():
    now = 1_800_000_000.0
    header = email.utils.formatdate(now + 20, usegmt=True)
    assert retry_after_seconds({"Retry-After": header}, now=now) == pytest.approx(20.0)
    past = email.utils.formatdate(now - 20, usegmt=True)
    assert retry_after_seconds({"Retry-After": past}, now=now) == 0.0


def test_retry_after_unusable_or_absent_or_too_long():
    assert retry_after_seconds({}) is None
    assert retry_after_seconds({"Retry-After": "soon"}) is None
    assert retry_after_seconds({"Retry-After": "nan"}) is None
    assert retry_after_seconds({"Retry-After": "-5"}) == 0.0
    assert retry_after_seconds({"Retry-After": "86400"}) == MAX_RETRY_AFTER_S


# --------------------------------------------------------------------------- backoff


def test_backoff_doubles_up_to_its_cap_with_jitter():
    rng = random.Random(1)
    for retry, ceiling in [(0, 0.5), (1, 1.0), (2, 2.0), (3, 4.0), (6, 10.0), (20, 10.0)]:
        waits = [backoff_seconds(retry, 0.5, 10.0, rng) for _ in range(200)]
        assert all(ceiling / 2 <= wait <= ceiling for wait in waits)
        assert len({round(wait, 6) for wait in waits}) > 100  # jittered, not one value


# --------------------------------------------------------------------------- pacing


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_the_pacer_caps_requests_per_second():
    clock = FakeClock()
    pacer = RequestPacer(4.0, clock=clock, sleep=clock.sleep)

    async def starts() -> list[float]:
        times = []
        for _ in range(9):
            await pacer.turn()
            times.append(clock.now)
        return times

    times = asyncio.run(starts())
    assert times[0] == 100.0
    assert [round(b - a, 6) for a, b in zip(times, times[1:], strict=False)] == [0.25] * 8


def test_the_pacer_holds_every_request_until_a_servers_retry_after():
    clock = FakeClock()
    pacer = RequestPacer(None, clock=clock, sleep=clock.sleep)

    async def two() -> list[float]:
        await pacer.turn()
        first = clock.now
        pacer.hold(clock.now + 3.0)
        await pacer.turn()
        return [first, clock.now]

    assert asyncio.run(two()) == [100.0, 103.0]


def test_the_engine_keeps_to_its_rate_cap_in_real_time():
    server = Server()
    engine = _engine(server, _config(max_requests_per_second=20.0))
    _run(engine, _prompts(["Ada met Alan."] * 2)[:6])
    assert len(server.times) == 6
    assert server.times[-1] - server.times[0] >= 5 / 20 - 0.01


# --------------------------------------------------------------------------- requests


def test_a_request_is_an_openai_chat_completion_with_the_slice_schema():
    server = Server()
    engine = _engine(server, _config(max_tokens=40, temperature=0.3))
    [generation] = _run(engine, [PROMPT])
    [request] = server.requests
    assert request.method == "POST"
    assert str(request.url) == f"{BASE_URL}/chat/completions"
    assert "authorization" not in request.headers  # no key configured: none sent
    body = json.loads(request.content)
    assert body["model"] == SERVED
    assert body["messages"] == PROMPT.chat()
    assert body["max_tokens"] == 40
    assert body["temperature"] == 0.3
    assert body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "answer", "schema": PROMPT.answer_schema, "strict": True},
    }
    assert generation.text == '{"person": []}'
    assert (generation.prompt_tokens, generation.completion_tokens) == (11, 3)
    assert generation.finish_reason == "stop"
    assert generation.error is None


def test_without_structured_outputs_no_response_format_is_sent():
    server = Server()
    _run(_engine(server, _config(structured_outputs=False)), [PROMPT])
    assert "response_format" not in server.bodies()[0]


def test_usage_missing_from_the_answer_is_counted_here():
    def script(n, request):
        answer = _completion('{"person": ["Ada"]}')
        del answer["usage"]
        return httpx.Response(200, json=answer)

    [generation] = _run(_engine(Server(script)), [PROMPT])
    assert generation.prompt_tokens == estimate_tokens(PROMPT)
    assert generation.completion_tokens == len(b'{"person": ["Ada"]}')


def test_prompt_tokens_served_from_the_servers_cache_are_read_from_the_usage():
    def script(n, request):
        answer = _completion(prompt_tokens=40)
        answer["usage"]["prompt_tokens_details"] = {"cached_tokens": 32}
        return httpx.Response(200, json=answer)

    [generation] = _run(_engine(Server(script)), [PROMPT])
    assert (generation.prompt_tokens, generation.cached_tokens) == (40, 32)
    [plain] = _run(_engine(Server()), [PROMPT])
    assert plain.cached_tokens == 0


def test_429_with_retry_after_is_waited_for_and_retried():
    def script(n, request):
        if n == 1:
            return httpx.Response(
                429, headers={"Retry-After": "0.3"}, json={"error": {"message": "slow down"}}
            )
        return httpx.Response(200, json=_completion())

    server = Server(script)
    engine = _engine(server)
    [generation] = _run(engine, [PROMPT])
    assert generation.error is None and generation.text
    assert len(server.requests) == 2
    assert server.times[1] - server.times[0] >= 0.3
    assert (engine.counts.throttled, engine.counts.retries) == (1, 1)


def test_server_errors_and_connection_errors_are_retried_with_backoff():
    def script(n, request):
        if n == 1:
            return httpx.Response(503, text="upstream unavailable")
        if n == 2:
            raise httpx.ConnectError("connection refused", request=request)
        if n == 3:
            raise httpx.ReadTimeout("timed out", request=request)
        if n == 4:
            return httpx.Response(500, json={"object": "error", "message": "boom"})
        return httpx.Response(200, json=_completion())

    server = Server(script)
    engine = _engine(server)
    [generation] = _run(engine, [PROMPT])
    assert generation.error is None
    assert len(server.requests) == 5
    assert engine.counts.server_errors == 2
    assert engine.counts.connection_errors == 2
    assert engine.counts.retries == 4


def test_a_request_that_keeps_failing_becomes_the_prompts_error_only():
    def script(n, request):
        text = json.loads(request.content)["messages"][1]["content"]
        if "Babbage" in text:
            return httpx.Response(503, json={"error": {"message": "overloaded"}})
        return httpx.Response(200, json=_completion())

    prompts = [PROMPT, *_prompts(["Grace Hopper wrote code."])[:1]]
    server = Server(script)
    engine = _engine(server, _config(max_retries=2))
    failed, answered = _run(engine, prompts)
    assert failed.error == "openai: gave up after 3 attempt(s): HTTP 503: overloaded"
    assert answered.error is None
    assert len(server.requests) == 4
    assert engine.counts.gave_up == 1


def test_a_client_error_is_not_retried():
    def script(n, request):
        return httpx.Response(
            400, json={"error": {"message": "max_tokens=4000 cannot be greater than 2048"}}
        )

    server = Server(script)
    [generation] = _run(_engine(server), [PROMPT])
    assert generation.error == "openai: HTTP 400: max_tokens=4000 cannot be greater than 2048"
    assert len(server.requests) == 1


def test_an_answer_that_is_not_a_chat_completion_is_an_error():
    server = Server(lambda n, request: httpx.Response(200, text="<html>gateway</html>"))
    [generation] = _run(_engine(server), [PROMPT])
    assert generation.error == "openai: the server's answer is not a chat completion"


def test_a_refusal_or_an_empty_answer_is_an_error():
    def script(n, request):
        answer = _completion()
        message = answer["choices"][0]["message"]
        message["content"] = None
        if n == 1:
            message["refusal"] = "I cannot help with that."
        return httpx.Response(200, json=answer)

    generations = _run(_engine(Server(script), _config(max_concurrent_requests=1)), [PROMPT] * 2)
    assert [g.error for g in generations] == [
        "openai: the answer is refused: I cannot help with that.",
        "openai: the answer is empty",
    ]


def test_an_unexpected_failure_costs_its_prompt_only():
    def script(n, request):
        if "Babbage" in json.loads(request.content)["messages"][1]["content"]:
            raise RuntimeError("the transport broke")
        return httpx.Response(200, json=_completion())

    failed, answered = _run(_engine(Server(script)), [PROMPT, *_prompts(["Tim met Bob."])[:1]])
    assert failed.error == "openai: RuntimeError: the transport broke"
    assert answered.error is None


def test_a_server_rejecting_response_format_is_asked_without_it_from_then_on(caplog):
    def script(n, request):
        if "response_format" in json.loads(request.content):
            return httpx.Response(
                400, json={"error": {"message": "response_format json_schema is not supported"}}
            )
        return httpx.Response(200, json=_completion())

    server = Server(script)
    engine = _engine(server, _config(max_concurrent_requests=1))
    with caplog.at_level(logging.WARNING, logger="ie_batch.engines.openai_engine"):
        generations = _run(engine, _prompts(["Ada met Alan."])[:3])
    assert all(g.error is None for g in generations)
    with_format = ["response_format" in body for body in server.bodies()]
    assert with_format == [True, False, False, False]
    assert engine.counts.structured_outputs_dropped
    assert "rejects response_format" in caplog.text


def test_requests_in_flight_stay_within_the_concurrency_cap():
    in_flight = 0
    most = 0

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, most
        in_flight += 1
        most = max(most, in_flight)
        await asyncio.sleep(0.02)
        in_flight -= 1
        return httpx.Response(200, json=_completion())

    engine = OpenAIEngine(
        _config(max_concurrent_requests=3), transport=httpx.MockTransport(handler)
    )
    generations = _run(engine, _prompts(["Ada met Alan.", "Grace met Linus.", "Tim met Bob."]))
    assert len(generations) == 12 and all(g.error is None for g in generations)
    assert most == 3


# --------------------------------------------------------------------------- the API key


def test_the_key_comes_from_the_named_variable_and_goes_in_the_header(monkeypatch):
    monkeypatch.setenv("IE_BATCH_TEST_KEY", KEY)
    server = Server()
    engine = OpenAIEngine.from_config(
        _config(api_key_env="IE_BATCH_TEST_KEY"), transport=httpx.MockTransport(server)
    )
    _run(engine, [PROMPT])
    assert server.requests[0].headers["authorization"] == f"Bearer {KEY}"
    assert KEY not in repr(engine)


def test_a_missing_key_variable_is_named_not_guessed(monkeypatch):
    monkeypatch.delenv("IE_BATCH_TEST_KEY", raising=False)
    with pytest.raises(EngineSetupError, match="IE_BATCH_TEST_KEY is not set"):
        OpenAIEngine.from_config(_config(api_key_env="IE_BATCH_TEST_KEY"))


def test_the_key_never_reaches_an_error_or_a_log(caplog):
    def script(n, request):
        if n == 1:  # a server that echoes the key it was sent
            message = f"response_format refused for key {KEY}"
            return httpx.Response(400, json={"error": {"message": message}})
        if n == 2:
            raise httpx.ConnectError(f"refused (key {KEY})", request=request)
        return httpx.Response(401, json={"error": {"message": f"Incorrect API key: {KEY}"}})

    engine = _engine(Server(script), api_key=KEY)
    with caplog.at_level(logging.DEBUG):
        [generation] = _run(engine, [PROMPT])
    assert generation.error == "openai: HTTP 401: Incorrect API key: ***"
    assert KEY not in caplog.text
    assert "***" in caplog.text


# --------------------------------------------------------------------------- counting tokens


def test_the_estimate_errs_long_against_the_real_tokenizer():
    from ie_batch.engines.embedded_model import cache_root

    if not any((cache_root() / "models").glob("qwen2.5-coder-0.5b*/tokenizer.json")):
        pytest.skip("the embedded model is not prepared (`ie-batch model prepare`)")
    engine = OpenAIEngine.from_config(_config(tokenizer="embedded"))
    texts = [
        "Ada Lovelace met Charles Babbage in London.",
        "谷爱凌在北京冬奥会上获得金牌。",
        "x" * 3000,
        "Zürich, São Paulo, Kraków — 1,234.56 € ☃",
    ]
    for prompt in _prompts(texts) + _prompts(texts, "topic_en"):
        real = engine.count_tokens(prompt)
        assert ESTIMATE_TEMPLATE_TOKENS < real <= estimate_tokens(prompt)


def test_a_served_name_with_no_local_tokenizer_is_estimated():
    config = _config()
    assert load_tokenizer(config) is None
    engine = OpenAIEngine(config)
    assert engine.count_tokens(PROMPT) == estimate_tokens(PROMPT)


def test_a_named_tokenizer_that_is_not_here_fails_setup(tmp_path):
    with pytest.raises(EngineSetupError, match="engine.tokenizer"):
        load_tokenizer(_config(tokenizer=str(tmp_path / "missing")))


# --------------------------------------------------------------------------- configuration


JOB = {"input": {"paths": ["in"]}, "schemas": ["news_ner_en"], "output": "out"}


def _job(engine: dict, **sections):
    return config_from_data({**JOB, "engine": engine, **sections})


def test_the_factory_builds_a_server_client_for_kind_openai():
    engine = build_engine(_config(), num_gpus=0)
    assert isinstance(engine, OpenAIEngine)


def test_kind_openai_needs_a_base_url_without_credentials():
    with pytest.raises(ConfigError, match=r"engine\.base_url': .*required with engine.kind"):
        _job({"kind": "openai"})
    with pytest.raises(ConfigError, match="credentials") as raised:
        _job({"kind": "openai", "base_url": "http://user:secret@llm.test/v1"})
    assert "secret" not in str(raised.value)
    with pytest.raises(ConfigError, match=r"engine\.base_url': .*only for engine.kind 'openai'"):
        _job({"base_url": BASE_URL})


def test_api_key_env_takes_a_variable_name_and_never_echoes_a_key():
    with pytest.raises(ConfigError, match="not the key itself") as raised:
        _job({"kind": "openai", "base_url": BASE_URL, "api_key_env": KEY})
    assert KEY not in str(raised.value)
    assert _job({"kind": "openai", "base_url": BASE_URL, "api_key_env": "MY_KEY"})


def test_server_actors_take_no_gpu():
    with pytest.raises(ConfigError, match="pool.num_gpus to 0"):
        _job({"kind": "openai", "base_url": BASE_URL}, pool={"num_gpus": 1})


def test_the_fingerprint_follows_the_served_model_and_sampling_not_the_server():
    def fingerprint(**engine):
        return fingerprint_of(_job({"kind": "openai", "base_url": BASE_URL, **engine}))

    base = fingerprint(model=SERVED)
    assert base.legacy is None  # no earlier version wrote markers for servers
    for placement in [
        {"base_url": "https://other.test/v1"},
        {"api_key_env": "OTHER_KEY"},
        {"max_concurrent_requests": 4, "max_requests_per_second": 2.0},
        {"request_timeout_s": 10, "max_retries": 1, "retry_backoff_s": 2.0},
    ]:
        assert fingerprint(model=SERVED, **placement).value == base.value, placement
    for answer in [
        {"model": "org/other-model"},
        {"temperature": 0.5},
        {"max_tokens": 64},
        {"structured_outputs": False},
        {"tokenizer": "org/some-tokenizer"},
    ]:
        assert fingerprint(**{"model": SERVED, **answer}).value != base.value, answer
    in_process = fingerprint_of(_job({"model": SERVED}))
    assert in_process.value != base.value


# --------------------------------------------------------------------------- a real server


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    pytest.importorskip("vllm")
    from tests.engines.vllm_server import running_server

    log = tmp_path_factory.mktemp("vllm-server") / "server.log"
    with running_server(log, api_key=SERVER_KEY) as running:
        yield running


def _server_config(server, **fields) -> EngineConfig:
    return EngineConfig(
        kind="openai",
        base_url=server.base_url,
        model=server.served_model,
        api_key_env="IE_BATCH_TEST_SERVER_KEY",
        max_tokens=48,
        **fields,
    )


@pytest.mark.engine
def test_a_real_server_answers_every_slice_in_its_schema(server, monkeypatch):
    monkeypatch.setenv("IE_BATCH_TEST_SERVER_KEY", SERVER_KEY)
    engine = OpenAIEngine.from_config(_server_config(server, tokenizer="embedded"))
    texts = ["Angela Merkel met Tim Cook in Paris.", "Shares of Apple rose 3% on Monday."]
    prompts = _prompts(texts) + _prompts(texts, "topic_en")
    generations = _run(engine, prompts)
    for prompt, generation in zip(prompts, generations, strict=True):
        assert generation.error is None, generation.error
        answer = json.loads(generation.text)
        schema = prompt.answer_schema
        assert set(answer) == set(schema["required"])
        for key, value in answer.items():
            spec = schema["properties"][key]
            if spec["type"] == "array":
                assert len(value) <= spec["maxItems"]
            else:
                assert value in spec["enum"]
        # the server applied the same chat template to the same tokenizer: the count is exact,
        # and the estimate never falls short of it
        assert generation.prompt_tokens == engine.count_tokens(prompt)
        assert estimate_tokens(prompt) >= generation.prompt_tokens
        assert 0 < generation.completion_tokens <= 48
        assert generation.finish_reason == "stop"
    assert engine.counts.attempts == len(prompts) and engine.counts.retries == 0


@pytest.mark.engine
def test_a_wrong_key_is_refused_once_not_retried(server):
    engine = OpenAIEngine(_server_config(server), api_key="not-the-key")
    [generation] = _run(engine, [PROMPT])
    assert generation.error is not None and generation.error.startswith("openai: HTTP 401")
    assert "not-the-key" not in generation.error
    assert engine.counts.attempts == 1


@pytest.mark.engine
def test_the_extractor_asks_a_server_from_its_own_loop(server, monkeypatch):
    import ie_batch
    from tests.helpers import count_grounded

    monkeypatch.setenv("IE_BATCH_TEST_SERVER_KEY", SERVER_KEY)
    engine = _server_config(server).model_dump()
    text = "Angela Merkel met Tim Cook in Paris."
    with ie_batch.Extractor("news_ner_en", "topic_en", engine=engine) as extractor:
        [row] = extractor([text])
    assert row["errors"] == []
    count_grounded(text, row)
    assert len(row["labels"]) == 1
    assert row["labels"][0]["label"] in {"business", "sci_tech", "sports", "world"}
