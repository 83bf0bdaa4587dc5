"""The endpoint's HTTP behaviour in-process, with the fake engine: no Ray runtime, no model.

The replica class is built the way Serve builds it (its async constructor, on an event loop) and
the FastAPI app is called with Starlette's test client. Serve's ingress hands each route the
replica through `serve.get_replica_context().servable_object`; outside a replica there is no
context, so the tests provide one that holds the replica under test.
"""

import asyncio
import json
from types import SimpleNamespace

import pytest

serve_app = pytest.importorskip("ie_batch.serve.app", exc_type=ImportError)

from fastapi.testclient import TestClient  # noqa: E402 - after the skip

from ie_batch.engines.base import EngineDead  # noqa: E402
from ie_batch.engines.fake import FakeEngineFactory, LexiconAnswers  # noqa: E402
from ie_batch.serve.settings import Limits, ServiceConfig  # noqa: E402

LIMITS = {"max_texts": 4, "max_text_chars": 400, "max_labels": 8, "max_prompts": 12}
ANSWERS = LexiconAnswers({"person": ["Merkel"], "location": ["Paris"]})


def start_replica(limits=LIMITS):
    """A replica with the fake engine, constructed as Serve constructs it."""
    config = ServiceConfig(limits=Limits(**limits))
    replica = serve_app.ExtractionReplica.__new__(serve_app.ExtractionReplica)
    asyncio.run(replica.__init__(config, FakeEngineFactory(ANSWERS)))
    return replica


@pytest.fixture
def replica(monkeypatch):
    import ray.serve

    replica = start_replica()
    monkeypatch.setattr(
        ray.serve, "get_replica_context", lambda: SimpleNamespace(servable_object=replica)
    )
    return replica


@pytest.fixture
def client(replica):
    return TestClient(serve_app.api, raise_server_exceptions=False)


def post_raw(client, raw: bytes):
    return client.post("/v1/extract", content=raw, headers={"content-type": "application/json"})


def test_an_extraction_with_the_fake_engine(client):
    text = "Merkel met Macron in Paris."
    response = client.post("/v1/extract", json={"texts": [text], "schema": "news_ner_en"})
    assert response.status_code == 200, response.text
    entities = {(e["text"], e["type"]) for e in response.json()["results"][0]["entities"]}
    assert entities == {("Merkel", "person"), ("Paris", "location")}


def test_deeply_nested_json_is_400_not_500(client):
    response = post_raw(client, b"[" * 100_000 + b"]" * 100_000)
    assert response.status_code == 400, response.text
    assert "nested too deeply" in response.json()["detail"]
    response = post_raw(client, b'{"texts": [' + b"9" * 5000 + b"]}")
    assert response.status_code == 400 and "not valid JSON" in response.json()["detail"]


@pytest.mark.parametrize(
    ("body", "limit", "says"),
    [
        (
            {"texts": ["a"], "schema": [f"t{i}" for i in range(9)]},
            {"name": "max_labels", "value": 8},
            "schema: 9 items; the limit is 8 per list or mapping of an inline schema",
        ),
        (
            {"texts": ["a"], "schema": ["x" * 101]},
            {"name": "max_label_chars", "value": 100},
            "has 101 characters; the limit is 100 per name (limits.max_label_chars)",
        ),
        (
            {"texts": ["a"], "schema": {"task": "ner", "entities": {"x": "d" * 501}}},
            {"name": "max_description_chars", "value": 500},
            "the limit is 500 per description (limits.max_description_chars)",
        ),
        (
            {"texts": ["a"] * 4, "schema": "news_ner_en"},  # one prompt per type: 4 x 4
            {"name": "max_prompts", "value": 12},
            "16 prompts (4 texts x 4 slices); the limit is 12 per request (limits.max_prompts)",
        ),
        (
            {"texts": ["a"] * 5, "schema": "news_ner_en"},
            {"name": "max_texts", "value": 4},
            "texts: 5 texts; the limit is 4 per request (limits.max_texts)",
        ),
    ],
)
def test_requests_over_a_limit_are_413_naming_it(client, body, limit, says):
    response = client.post("/v1/extract", json=body)
    assert response.status_code == 413, response.text
    assert response.json()["limit"] == limit
    assert says in response.json()["detail"]


def test_a_body_over_the_size_limit_is_413(monkeypatch):
    import ray.serve

    replica = start_replica({**LIMITS, "max_body_bytes": 100})
    monkeypatch.setattr(
        ray.serve, "get_replica_context", lambda: SimpleNamespace(servable_object=replica)
    )
    client = TestClient(serve_app.api, raise_server_exceptions=False)
    response = client.post("/v1/extract", json={"texts": ["a" * 200], "schema": "news_ner_en"})
    assert response.status_code == 413, response.text
    assert response.json()["limit"] == {"name": "max_body_bytes", "value": 100}


def test_text_with_a_lone_surrogate_is_422_naming_the_field(client):
    texts = ["a", "b", "c", "bad \ud800 text"]
    raw = json.dumps({"texts": texts, "schema": "news_ner_en"}).encode()  # "\\ud800" escaped
    response = post_raw(client, raw)
    assert response.status_code == 422, response.text
    assert response.json()["detail"].startswith("texts[3]: cannot be encoded as UTF-8")


def test_healthz_and_check_health_follow_the_engine(client, replica):
    assert client.get("/healthz").json() == {"status": "ok", "model": "embedded"}
    asyncio.run(replica.check_health())  # healthy: returns

    replica.engine.dead = True  # as when vLLM's engine core process dies
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["status"] == "unhealthy" and "dead" in response.json()["detail"]
    with pytest.raises(EngineDead):  # Serve's health check: the replica is replaced
        asyncio.run(replica.check_health())


def test_a_request_to_a_dead_engine_is_503_not_500(client, replica):
    replica.engine.dead = True
    response = client.post("/v1/extract", json={"texts": ["Merkel"], "schema": "news_ner_en"})
    assert response.status_code == 503, response.text
    assert "retry" in response.json()["detail"]


def test_serve_finds_the_health_check_on_the_deployment():
    deployment_class = serve_app.ExtractionService.func_or_class
    assert deployment_class.check_health is serve_app.ExtractionReplica.check_health


def test_the_vllm_engine_asks_vllm_and_reports_a_dead_core_as_engine_dead(monkeypatch):
    """`VllmEngine.check_health` is vLLM's `AsyncLLM.check_health`, its `EngineDeadError`
    becoming `EngineDead`. vLLM takes tens of seconds to import, so its exception module and
    engine are stand-ins here; the engine-marked tests run the real one."""
    import sys
    from types import ModuleType

    from ie_batch.config import EngineConfig
    from ie_batch.engines.vllm_engine import VllmEngine

    class EngineDeadError(Exception):
        pass

    exceptions = ModuleType("vllm.v1.engine.exceptions")
    exceptions.EngineDeadError = EngineDeadError
    monkeypatch.setitem(sys.modules, "vllm.v1.engine.exceptions", exceptions)

    class AsyncLLM:
        errored = False

        async def check_health(self):
            if self.errored:
                raise EngineDeadError("EngineCore encountered an issue.")

    core = AsyncLLM()
    engine = VllmEngine(core, tokenizer=None, config=EngineConfig())
    asyncio.run(engine.check_health())
    core.errored = True
    with pytest.raises(EngineDead, match="vllm: the engine died: EngineCore encountered"):
        asyncio.run(engine.check_health())
