"""The online endpoint for real: Ray Serve on a local Ray, one replica with the vLLM engine and the
embedded model (started once for the module), and HTTP requests with httpx.

The model's accuracy is not asserted, only what must hold for any model: one result per text in
the batch job's row shape, labels from the schema, offsets that point at their spans, usage
counted; and every refused request gets its 4xx status and a message that says what to fix.
"""

import socket

import pytest

from tests.helpers import count_grounded

pytestmark = [pytest.mark.engine, pytest.mark.ray]

LIMITS = {"max_texts": 4, "max_text_chars": 400}
ROW_KEYS = {"id", "entities", "relations", "events", "labels", "errors", "warnings"}
NEWS = [
    "Angela Merkel met Emmanuel Macron in Paris on Tuesday to discuss the European Union budget.",
    "Shares of Toyota fell 3 percent in Tokyo after the carmaker cut its profit forecast.",
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def client(ray_runtime):
    httpx = pytest.importorskip("httpx")
    pytest.importorskip("vllm")
    from ray import serve

    from ie_batch.serve.app import build_app

    port = _free_port()
    serve.start(http_options={"host": "127.0.0.1", "port": port})
    try:
        serve.run(
            build_app(engine={"max_model_len": 1024, "max_tokens": 160}, limits=LIMITS),
            name="ie_batch",
            route_prefix="/",
        )
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=600) as http:
            yield http
    finally:
        serve.shutdown()


def test_health_and_the_served_schemas(client):
    health = client.get("/healthz")
    assert health.status_code == 200 and health.json() == {"status": "ok", "model": "embedded"}
    listed = {entry["name"]: entry for entry in client.get("/v1/schemas").json()["schemas"]}
    assert {"news_ner_en", "topic_en", "ner_zh"} <= set(listed)
    assert listed["topic_en"]["labels"] == ["world", "sports", "business", "sci_tech"]


def test_ner_with_a_shipped_schema(client):
    response = client.post("/v1/extract", json={"texts": NEWS, "schema": "news_ner_en"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["model"] == "embedded"
    assert body["usage"]["prompt_tokens"] > 0 and body["usage"]["completion_tokens"] > 0
    rows = body["results"]
    assert [row["id"] for row in rows] == ["0", "1"]
    types = {"person", "organization", "location", "miscellaneous"}
    for text, row in zip(NEWS, rows, strict=True):
        assert set(row) == ROW_KEYS and row["errors"] == [], row
        assert row["labels"] == [] and row["relations"] == [] and row["events"] == []
        assert {entity["type"] for entity in row["entities"]} <= types
        count_grounded(text, row)
    assert count_grounded(NEWS[0], rows[0]) > 0


def test_classification_with_an_inline_schema(client):
    schema = {
        "task": "classification",
        "name": "sentiment",
        "labels": {"positive": "good news", "negative": "bad news"},
    }
    texts = ["The team won the cup and fans celebrated all night.", NEWS[1]]
    response = client.post("/v1/extract", json={"texts": texts, "schema": schema})
    assert response.status_code == 200, response.text
    rows = response.json()["results"]
    assert len(rows) == 2
    for row in rows:
        assert row["errors"] == [] and row["entities"] == []
        assert len(row["labels"]) == 1 and row["labels"][0]["label"] in {"positive", "negative"}


@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        (b"{not json", 400, "not valid JSON"),
        ({"schema": "news_ner_en"}, 422, "texts: Field required"),
        ({"texts": ["a", 3], "schema": "news_ner_en"}, 422, "texts[1]: Input should be a valid"),
        ({"texts": ["a"], "schema": "nope"}, 422, "unknown schema 'nope'; the served schemas are"),
        (
            {"texts": ["a"], "schema": {"task": "ner", "entities": ["x", 3]}},
            422,
            "schema: field 'entities[1]': expected a label name",
        ),
        ({"texts": ["a"] * 5, "schema": "news_ner_en"}, 413, "the limit is 4 per request"),
        ({"texts": ["a" * 401], "schema": "news_ner_en"}, 413, "the limit is 400 per text"),
    ],
)
def test_refused_requests(client, body, status, says):
    if isinstance(body, bytes):
        response = client.post(
            "/v1/extract", content=body, headers={"content-type": "application/json"}
        )
    else:
        response = client.post("/v1/extract", json=body)
    assert response.status_code == status, response.text
    assert says in response.json()["detail"]


def test_unknown_routes_and_methods(client):
    assert client.get("/v1/extract").status_code == 405
    assert client.get("/v1/nothing").status_code == 404
