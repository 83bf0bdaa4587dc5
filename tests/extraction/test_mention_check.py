"""verify_mentions: every mention the NER slices found is asked once more, and may be dropped."""

import asyncio
import json

from ie_batch.engines.fake import FakeEngine
from ie_batch.extraction.extractor import BatchExtractor, Document
from ie_batch.prompts import get_format
from ie_batch.schema import NerSchema

FORMAT = get_format("document_first")
NER_ZH = NerSchema(name="ner", language="zh", entities=["人名", "地名"], verify_mentions=True)


def _answers(prompt):
    slice_ = prompt.slice
    if slice_.span is None:  # the type slices: a name and a pronoun as 人名, a place as 地名
        found = {"人名": ["张三", "他"], "地名": ["北京"]}
        return json.dumps({name: found.get(name, []) for name in slice_.label_names})
    verdict = {"张三": "人名", "他": "都不是", "北京": "地名"}[slice_.span]
    return json.dumps({"type": verdict})


def _run(schema):
    engine = FakeEngine(_answers)
    extractor = BatchExtractor([schema], engine, FORMAT)
    (outcome,) = asyncio.run(extractor.extract([Document(id="d", text="张三说他明天去北京。")]))
    return outcome, engine


def test_every_mention_is_checked_and_one_found_none_of_the_types_is_dropped():
    outcome, engine = _run(NER_ZH)
    assert sorted((e.type, e.text, e.start) for e in outcome.result.entities) == [
        ("人名", "张三", 0),
        ("地名", "北京", 7),
    ]
    checks = [p for p in engine.prompts_seen if p.slice.span is not None]
    assert sorted(p.slice.span for p in checks) == ["他", "北京", "张三"]
    assert all(p.answer_schema["properties"]["type"]["enum"][-1] == "都不是" for p in checks)
    assert any("'他'" in warning for warning in outcome.result.warnings)


def test_without_the_check_only_contested_mentions_are_asked():
    outcome, engine = _run(NER_ZH.model_copy(update={"verify_mentions": False}))
    assert sorted(e.text for e in outcome.result.entities) == ["他", "北京", "张三"]
    assert all(p.slice.span is None for p in engine.prompts_seen)
