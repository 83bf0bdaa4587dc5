"""The entity-type run-off prompt: the text first, the mention, the candidates, a choice."""

import pytest

from ie_batch.prompts import render_entity_type
from ie_batch.schema import NerSchema, entity_type_slice, rotate

NEWS = NerSchema(
    name="news",
    entities={"location": "places", "organization": "companies, sports teams", "person": None},
)
NEWS_ZH = NerSchema(name="news_zh", language="zh", entities=["地点", "机构"])


def test_prompt_shows_text_mention_and_candidates_with_descriptions():
    slice_ = entity_type_slice(NEWS, "Essex", ["organization", "location"])
    prompt = render_entity_type("Essex beat Kent.", slice_)
    user = prompt.messages[1].content
    assert user.startswith("Text:\nEssex beat Kent.\n\n")
    assert 'which type is "Essex"?' in user
    assert "- organization: companies, sports teams\n- location: places" in user
    assert "person" not in user  # only the types the slices gave the mention
    assert prompt.answer_schema == {
        "type": "object",
        "properties": {"type": {"type": "string", "enum": ["organization", "location"]}},
        "required": ["type"],
        "additionalProperties": False,
    }


def test_chinese_prompt():
    prompt = render_entity_type(
        "华为在深圳。", entity_type_slice(NEWS_ZH, "华为", ["机构", "地点"])
    )
    assert "“华为”属于哪种类型" in prompt.messages[1].content


def test_an_ordinary_slice_is_not_a_run_off():
    with pytest.raises(ValueError, match="has no span"):
        render_entity_type("x", rotate(NEWS)[0])
