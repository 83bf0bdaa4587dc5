"""Request checks of the online endpoint (ie_batch.serve.requests): no Ray, no engine."""

import pytest

from ie_batch.prompts import get_format
from ie_batch.schema.catalog import shipped_schema_names
from ie_batch.serve.requests import (
    ExtractRequest,
    Limits,
    RequestError,
    SchemaCatalog,
    decode_body,
    parse_extract_request,
    read_body,
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
    assert (status, message) == (
        413,
        "texts: 4 texts; the limit is 3 per request (limits.max_texts)",
    )
    status, message = refused({"texts": ["a", "b" * 51], "schema": "news_ner_en"}, catalog)
    assert (status, message) == (
        413,
        "texts[1]: 51 characters; the limit is 50 per text (limits.max_text_chars)",
    )
    body = {"texts": ["a"], "schemas": ["news_ner_en", "topic_en", "ner_zh"]}
    status, message = refused(body, catalog)
    assert (status, message) == (
        413,
        "schemas: 3 schemas; the limit is 2 per request (limits.max_schemas)",
    )


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


# --- limits on inline schemas and on the prompts a request expands to --------------------------


def over(body, catalog, **limits):
    """A request refused for a limit: its status, message and the limit named in the answer."""
    with pytest.raises(RequestError) as caught:
        parse_extract_request(body, Limits(**limits), catalog)
    return caught.value.status, caught.value.message, caught.value.content().get("limit")


def test_an_inline_schema_with_too_many_labels_is_413_naming_the_limit(catalog):
    body = {"texts": ["a"], "schema": {"task": "ner", "entities": [f"t{i}" for i in range(5)]}}
    status, message, limit = over(body, catalog, max_labels=4)
    assert status == 413 and limit == {"name": "max_labels", "value": 4}
    assert message == (
        "schema.entities: 5 items; the limit is 4 per list or mapping of an inline schema "
        "(limits.max_labels)"
    )
    # PP-UIE relations per subject type: each list is short, the schema's relations are not
    body = {"texts": ["a"], "schema": {"person": ["r1", "r2", "r3"], "company": ["r4", "r5"]}}
    status, message, limit = over(body, catalog, max_labels=4)
    assert (status, limit["name"]) == (413, "max_labels")
    assert message == "schema: 5 labels; the limit is 4 per inline schema (limits.max_labels)"


def test_a_huge_label_list_is_refused_before_the_schema_is_built(catalog, monkeypatch):
    import ie_batch.serve.requests as requests_module

    def never(*args, **kwargs):
        raise AssertionError("the schema builder ran on an over-limit schema")

    monkeypatch.setattr(requests_module, "schema_from_data", never)
    body = {"texts": ["a"], "schemas": [[f"t{i}" for i in range(100_000)]]}
    status, message, _ = over(body, catalog)
    assert status == 413 and message.startswith("schemas[0]: 100000 items; the limit is 64")


def test_served_schemas_are_not_held_to_the_inline_schema_limits(catalog):
    call = parse_extract_request(
        {"texts": ["a"], "schema": "re_zh_duie"}, Limits(max_labels=2, max_label_chars=2), catalog
    )
    assert len(call.schemas[0].label_specs) == 32


@pytest.mark.parametrize(
    ("schema", "says"),
    [
        ({"task": "ner", "entities": ["x" * 11]}, "schema: label 'xxxxxxxxxx…' has 11 characters"),
        ({"task": "ner", "name": "n" * 11, "entities": ["x"]}, "schema: name 'nnnnnnnnnn…'"),
        ({"task": "ee", "events": {"hire": ["r" * 11]}}, "schema: role 'rrrrrrrrrr…' of 'hire'"),
        ({"person": ["works_for"], "s" * 11: ["knows"]}, "schema: subject type 'ssssssssss…'"),
    ],
)
def test_a_long_label_name_is_413_naming_the_limit(catalog, schema, says):
    status, message, limit = over({"texts": ["a"], "schema": schema}, catalog, max_label_chars=10)
    assert status == 413 and limit == {"name": "max_label_chars", "value": 10}
    assert message.startswith(says)
    assert message.endswith("the limit is 10 per name (limits.max_label_chars)")


@pytest.mark.parametrize(
    ("schema", "says"),
    [
        ({"task": "ner", "entities": {"drug": "d" * 21}}, "schema: the description of 'drug'"),
        ({"task": "ner", "entities": ["x"], "description": "d" * 21}, "schema: its description"),
    ],
)
def test_a_long_description_is_413_naming_the_limit(catalog, schema, says):
    status, message, limit = over(
        {"texts": ["a"], "schema": schema}, catalog, max_description_chars=20
    )
    assert status == 413 and limit == {"name": "max_description_chars", "value": 20}
    assert message == f"{says} has 21 characters; the limit is 20 per description " + (
        "(limits.max_description_chars)"
    )


def test_too_many_prompts_is_413_naming_the_limit(catalog):
    # document_first asks news_ner_en one entity type per prompt: 4 slices, plus topic_en's 1
    body = {"texts": ["a", "b", "c"], "schemas": ["news_ner_en", "topic_en"]}
    assert parse_extract_request(body, Limits(max_prompts=15), catalog).prompts == 15
    status, message, limit = over(body, catalog, max_prompts=14)
    assert status == 413 and limit == {"name": "max_prompts", "value": 14}
    assert message == (
        "texts x schema slices: 15 prompts (3 texts x 5 slices); the limit is 14 per request "
        "(limits.max_prompts)"
    )
    # the prompt format decides the slices: IEPile asks news_ner_en's four types at once
    call = parse_extract_request(
        body, Limits(max_prompts=6), catalog, prompt_format=get_format("iepile")
    )
    assert call.prompts == 6


@pytest.mark.parametrize("label_order", ["sorted", "shuffled"])
def test_the_prompt_count_is_what_the_extractor_asks(catalog, label_order):
    """The count is the extractor's own stage-1 plan: run it on the fake engine and compare."""
    import asyncio

    from ie_batch.engines.fake import FakeEngine
    from ie_batch.extraction.extractor import BatchExtractor, ExtractionSettings
    from ie_batch.extraction.texts import extract_texts

    inline = {"task": "ner", "name": "drugs", "split_num": 2, "entities": ["a", "b", "c", "d", "e"]}
    body = {"texts": ["one", "two", "three"], "schemas": ["news_ner_en", "topic_en", inline]}
    prompt_format = get_format()
    call = parse_extract_request(
        body, Limits(), catalog, prompt_format=prompt_format, label_order=label_order
    )
    engine = FakeEngine()
    settings = ExtractionSettings(label_order=label_order)
    extractor = BatchExtractor(call.schemas, engine, prompt_format, settings)
    asyncio.run(extract_texts(extractor, call.texts, batch_size=2))
    assert call.prompts == len(engine.prompts_seen) == 3 * (4 + 1 + 3)  # a, b | c, d | e


# --- what cannot be decoded, or cannot be encoded --------------------------------------------


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "the body is nested too deeply"),
        (b'{"texts": ["a"], "schema": ' + b"[" * 40 + b"]" * 40 + b"}", "nested too deeply"),
        (b"{not json", "the body is not valid JSON"),
        (b'{"texts": [' + b"1" * 5000 + b"]}", "the body is not valid JSON"),
        (b'"\xff"', "the body is not valid JSON"),
    ],
)
def test_a_body_that_cannot_be_decoded_is_400(raw, says):
    with pytest.raises(RequestError) as caught:
        decode_body(raw)
    assert caught.value.status == 400 and says in caught.value.message


def test_a_body_nested_as_deep_as_a_request_needs_is_decoded():
    body = {"texts": ["a"], "schema": {"task": "ee", "events": [{"type": "x", "arguments": []}]}}
    import json

    assert decode_body(json.dumps(body).encode()) == body


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (
            {"texts": ["a", "b", "c", "x\ud800"], "schema": "news_ner_en"},
            "texts[3]: cannot be encoded as UTF-8 (a lone surrogate '\\ud800' at character 1)",
        ),
        (
            {"texts": ["a"], "schema": {"task": "ner", "entities": ["ok", "\udfff"]}},
            "schema.entities[1]: cannot be encoded as UTF-8",
        ),
        ({"texts": ["a"], "schema": {"\ud83d": ["x"]}}, "schema: a key cannot be encoded"),
    ],
)
def test_text_that_cannot_be_encoded_as_utf8_is_422_naming_the_field(catalog, body, says):
    status, message = refused(body, catalog, limits=Limits())
    assert status == 422 and message.startswith(says)
    message.encode("utf-8")  # the answer itself can be sent


def test_a_lone_surrogate_written_as_raw_bytes_is_caught_too(catalog):
    body = decode_body(b'{"texts": ["\xed\xa0\x80"], "schema": "news_ner_en"}')
    status, message = refused(body, catalog, limits=Limits())
    assert status == 422 and message.startswith("texts[0]: cannot be encoded as UTF-8")


# --- the body's size -----------------------------------------------------------------------


async def _chunks(*parts):
    for part in parts:
        yield part


def _read(chunks, declared, limit):
    import asyncio

    return asyncio.run(read_body(chunks, declared, Limits(max_body_bytes=limit)))


def test_a_body_within_the_limit_is_read_whole():
    assert _read(_chunks(b"ab", b"cd"), "4", 4) == b"abcd"
    assert _read(_chunks(b"ab", b"cd"), None, 4) == b"abcd"


@pytest.mark.parametrize(
    ("declared", "says"),
    [
        ("5", "body: 5 bytes; the limit is 4 per request (limits.max_body_bytes)"),
        ("9" * 5000, "body: more than 4 bytes; the limit is 4 per request"),
        (None, "body: more than 4 bytes; the limit is 4 per request (limits.max_body_bytes)"),
    ],
)
def test_a_body_over_the_limit_is_413_whether_declared_or_streamed(declared, says):
    with pytest.raises(RequestError) as caught:
        _read(_chunks(b"abc", b"de"), declared, 4)
    assert caught.value.status == 413 and caught.value.message.startswith(says)
    assert caught.value.content()["limit"] == {"name": "max_body_bytes", "value": 4}


def test_the_limits_have_documented_defaults():
    limits = Limits()
    assert (limits.max_labels, limits.max_label_chars, limits.max_description_chars) == (
        64,
        100,
        500,
    )
    assert (limits.max_prompts, limits.max_body_bytes) == (1024, 16 * 2**20)
    for name, field in Limits.model_fields.items():
        assert field.description, f"Limits.{name} has no description"
    # room for every allowed text even when each character is sent as a surrogate-pair escape
    assert limits.max_body_bytes > limits.max_texts * limits.max_text_chars * 12
