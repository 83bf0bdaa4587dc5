"""Request checks of the online endpoint (ie_batch.serve.requests): no Ray, no engine."""

import pytest

from ie_batch.schema.catalog import shipped_schema_names
from ie_batch.serve.requests import (
    ExtractRequest,
    Limits,
    RequestError,
    SchemaCatalog,
    parse_extract_request,
)

LIMITS = Limits(max_texts=3, max_text_chars=50, max_schemas=2)


@pytest.fixture(scope="module")
def catalog():
    return SchemaCatalog.load()


def refused(body, catalog, limits=LIMITS):
    with pytest.raises(RequestError) as caught:
        parse_extract_request(body, limits, catalog)
    return caught.value.status, caught.value.message


def test_a_request_with_a_served_schema_name(catalog):
    call = parse_extract_request({"texts": ["a", "b"], "schema": "news_ner_en"}, LIMITS, catalog)
    assert call.texts == ["a", "b"]
    assert [schema.name for schema in call.schemas] == ["news_ner_en"]


def test_schema_and_schemas_are_asked_together_schema_first(catalog):
    body = {
        "texts": ["a"],
        "schema": "topic_en",
        "schemas": [{"task": "ner", "name": "drugs", "entities": ["drug"]}],
    }
    call = parse_extract_request(body, LIMITS, catalog)
    assert [schema.name for schema in call.schemas] == ["topic_en", "drugs"]


def test_inline_schemas_native_and_ppuie(catalog):
    inline = {"task": "classification", "labels": ["positive", "negative"]}
    call = parse_extract_request({"texts": ["a"], "schema": inline}, LIMITS, catalog)
    assert call.schemas[0].kind == "classification"
    assert call.schemas[0].label_names == ["positive", "negative"]
    call = parse_extract_request({"texts": ["a"], "schema": ["时间", "选手"]}, LIMITS, catalog)
    assert call.schemas[0].kind == "ner" and call.schemas[0].language == "zh"


@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        ([], 422, "body: expected a JSON object"),
        ({"schema": "news_ner_en"}, 422, "texts: Field required"),
        ({"texts": [], "schema": "news_ner_en"}, 422, "texts: List should have at least 1 item"),
        (
            {"texts": "one text", "schema": "news_ner_en"},
            422,
            "texts: Input should be a valid list",
        ),
        (
            {"texts": ["a", 3], "schema": "news_ner_en"},
            422,
            "texts[1]: Input should be a valid string",
        ),
        ({"texts": ["a"]}, 422, "give `schema`"),
        ({"texts": ["a"], "schema": "news_ner_en", "model": "x"}, 422, "model: unknown field"),
        ({"texts": ["a"], "schema": 3}, 422, "schema: expected a schema name or an inline schema"),
    ],
)
def test_malformed_bodies_are_422_and_name_the_field(catalog, body, status, says):
    got_status, message = refused(body, catalog)
    assert got_status == status
    assert says in message


def test_an_unknown_schema_name_lists_the_served_ones(catalog):
    status, message = refused({"texts": ["a"], "schema": "nope"}, catalog)
    assert status == 422
    assert message.startswith("schema: unknown schema 'nope'; the served schemas are")
    for name in shipped_schema_names():
        assert name in message


def test_a_schema_name_is_never_read_as_a_server_path(catalog, schemas_dir):
    status, message = refused(
        {"texts": ["a"], "schemas": [str(schemas_dir / "topic_en.yaml")]}, catalog
    )
    assert status == 422 and "schemas[0]: unknown schema" in message


def test_an_invalid_inline_schema_gives_the_schema_error_naming_the_field(catalog):
    body = {"texts": ["a"], "schemas": ["topic_en", {"task": "ner", "entities": ["x", 3]}]}
    status, message = refused(body, catalog)
    assert status == 422
    assert message == (
        "schemas[1]: field 'entities[1]': expected a label name or {name, description}, got int"
    )
    status, message = refused({"texts": ["a"], "schema": {"task": "sentiment"}}, catalog)
    assert (status, message) == (
        422,
        "schema: field 'task': expected one of ner, re, ee, classification",
    )


def test_two_schemas_with_one_name_are_refused(catalog):
    body = {"texts": ["a"], "schema": ["x"], "schemas": [["y"]]}
    status, message = refused(body, catalog)
    assert status == 422
    assert message.startswith("schema and schemas[0] are both named 'ner'")


def test_limits_are_413_and_say_the_limit(catalog):
    status, message = refused({"texts": ["a"] * 4, "schema": "news_ner_en"}, catalog)
    assert (status, message) == (413, "texts: 4 texts; the limit is 3 per request")
    status, message = refused({"texts": ["a", "b" * 51], "schema": "news_ner_en"}, catalog)
    assert (status, message) == (413, "texts[1]: 51 characters; the limit is 50 per text")
    body = {"texts": ["a"], "schemas": ["news_ner_en", "topic_en", "ner_zh"]}
    status, message = refused(body, catalog)
    assert (status, message) == (413, "schemas: 3 schemas; the limit is 2 per request")


def test_too_many_texts_is_refused_before_each_text_is_checked(catalog):
    # a huge request is turned away on its length alone
    status, _ = refused({"texts": [1] * 10, "schema": "news_ner_en"}, catalog)
    assert status == 413


def test_the_catalog_describes_the_shipped_schemas(catalog):
    described = {entry["name"]: entry for entry in catalog.describe()}
    assert sorted(described) == shipped_schema_names() == catalog.names()
    assert described["topic_en"]["task"] == "classification"
    assert described["news_ner_en"]["labels"] == [
        "person",
        "organization",
        "location",
        "miscellaneous",
    ]


def test_the_catalog_serves_extra_schema_files_by_name(tmp_path):
    extra = tmp_path / "drugs.yaml"
    extra.write_text("task: ner\nentities: [drug, dose]\n", encoding="utf-8")
    catalog = SchemaCatalog.load([extra])
    assert "drugs" in catalog.names() and "news_ner_en" in catalog.names()
    with pytest.raises(ValueError, match="are both named 'drugs'"):
        SchemaCatalog.load([extra, extra])


def test_limits_and_request_model_document_themselves():
    assert Limits().max_texts == 64 and Limits().max_text_chars == 20_000
    schema = ExtractRequest.model_json_schema(by_alias=True)
    assert {"texts", "schema", "schemas"} <= set(schema["properties"])
    assert schema["properties"]["texts"]["items"] == {"type": "string"}
