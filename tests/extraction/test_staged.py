"""Events and relations in two stages (prompts.staging), end to end through the extractor with
a scripted engine: which prompts are asked, and what the merged result holds."""

import asyncio
import json

from ie_batch.engines.base import Generation
from ie_batch.engines.fake import FakeEngine
from ie_batch.extraction.extractor import BatchExtractor, Document, ExtractionSettings
from ie_batch.prompts import get_format
from ie_batch.schema import EeSchema, ReSchema

FORMAT = get_format("document_first")
EE = EeSchema(
    name="ee",
    events=[
        {"type": "acquisition", "arguments": ["buyer", "target"]},
        {"type": "layoff", "arguments": ["company"]},
        {"type": "rumour", "arguments": []},
    ],
)
RE = ReSchema(
    name="re",
    relations=[
        {"name": "founded by", "subject_types": ["company"], "object_types": ["person"]},
        {"name": "headquartered in", "subject_types": ["company"]},
    ],
)


class StagedScript:
    """Answers each stage from a table: triggers/subjects per label, and the second stage by
    the anchor's text and offset."""

    def __init__(self, first: dict[str, list[str]], second: dict[tuple[str, int], dict]) -> None:
        self.first = first
        self.second = second

    def __call__(self, prompt):
        slice_ = prompt.slice
        if slice_.anchor is not None:
            key = (slice_.anchor.text, slice_.anchor.start)
            return json.dumps(self.second[key])
        if slice_.stage == "triggers":
            events = [
                {"type": name, "trigger": trigger}
                for name in slice_.label_names
                for trigger in self.first.get(name, [])
            ]
            return json.dumps({"events": events})
        return json.dumps({name: self.first.get(name, []) for name in slice_.label_names})


def _extract(schemas, engine, texts, **settings):
    extractor = BatchExtractor(schemas, engine, FORMAT, ExtractionSettings(**settings))
    documents = [Document(id=f"d{i}", text=text) for i, text in enumerate(texts)]
    return asyncio.run(extractor.extract(documents))


def test_events_are_found_by_trigger_then_each_event_asked_its_roles():
    text = "Apple bought Beats. Intel cut jobs."
    script = StagedScript(
        {"acquisition": ["bought"], "layoff": ["cut"]},
        {
            ("bought", 6): {"buyer": ["Apple"], "target": ["Beats"]},
            ("cut", 26): {"company": ["Intel"]},
        },
    )
    engine = FakeEngine(script)
    (outcome,) = _extract([EE], engine, [text])
    stages = [p.slice.stage for p in engine.prompts_seen]
    assert stages == ["triggers", "arguments", "arguments"]
    events = {(e.type, e.trigger, e.trigger_start): e for e in outcome.result.events}
    assert set(events) == {("acquisition", "bought", 6), ("layoff", "cut", 26)}
    assert [(a.role, a.text, a.start) for a in events["acquisition", "bought", 6].arguments] == [
        ("buyer", "Apple", 0),
        ("target", "Beats", 13),
    ]
    assert outcome.result.errors == []
    assert outcome.prompts == 3


def test_a_trigger_written_twice_is_two_events_each_with_its_own_arguments():
    text = "Apple bought Beats. Google bought Fitbit."
    script = StagedScript(
        {"acquisition": ["bought", "bought"]},
        {
            ("bought", 6): {"buyer": ["Apple"], "target": ["Beats"]},
            ("bought", 27): {"buyer": ["Google"], "target": ["Fitbit"]},
        },
    )
    (outcome,) = _extract([EE], FakeEngine(script), [text])
    found = sorted(
        (e.trigger_start, [(a.role, a.text, a.start) for a in e.arguments])
        for e in outcome.result.events
    )
    assert found == [
        (6, [("buyer", "Apple", 0), ("target", "Beats", 13)]),
        (27, [("buyer", "Google", 20), ("target", "Fitbit", 34)]),
    ]


def test_a_document_without_events_costs_one_prompt_per_slice():
    engine = FakeEngine(StagedScript({}, {}))
    (outcome,) = _extract([EE], engine, ["Nothing happened today."])
    assert outcome.result.events == []
    assert outcome.prompts == 1
    assert [p.slice.stage for p in engine.prompts_seen] == ["triggers"]


def test_an_event_type_without_roles_needs_no_second_stage():
    engine = FakeEngine(StagedScript({"rumour": ["said"]}, {}))
    (outcome,) = _extract([EE], engine, ["People said so."])
    assert [(e.type, e.trigger, e.arguments) for e in outcome.result.events] == [
        ("rumour", "said", ())
    ]
    assert outcome.prompts == 1


def test_a_trigger_not_in_the_text_is_not_asked_about():
    engine = FakeEngine(StagedScript({"acquisition": ["purchased"]}, {}))
    (outcome,) = _extract([EE], engine, ["Apple bought Beats."])
    assert outcome.result.events == []  # dropped as ungrounded (the default), with a warning
    assert outcome.prompts == 1
    assert any("purchased" in warning for warning in outcome.result.warnings)


def test_a_failed_second_stage_keeps_the_event_without_arguments_and_says_why():
    class FailsOnArguments(FakeEngine):
        async def generate(self, prompts):
            answers = await super().generate(prompts)
            return [
                Generation(text="", error="scripted failure") if p.slice.anchor else answer
                for p, answer in zip(prompts, answers, strict=True)
            ]

    engine = FailsOnArguments(StagedScript({"layoff": ["cut"]}, {("cut", 6): {}}))
    (outcome,) = _extract([EE], engine, ["Intel cut jobs."])
    assert [(e.type, e.trigger, e.trigger_start, e.arguments) for e in outcome.result.events] == [
        ("layoff", "cut", 6, ())
    ]
    assert outcome.result.errors == ["slice ee[1/1 arguments 'cut'@6]: scripted failure"]


def test_relations_are_found_by_subject_then_each_subject_asked_its_objects():
    text = "Apple, founded by Steve Jobs, is based in Cupertino."
    script = StagedScript(
        {"founded by": ["Apple"], "headquartered in": ["Apple"]},
        {("Apple", 0): {"founded by": ["Steve Jobs"], "headquartered in": ["Cupertino"]}},
    )
    engine = FakeEngine(script)
    (outcome,) = _extract([RE], engine, [text])
    assert [p.slice.stage for p in engine.prompts_seen] == ["subjects", "objects"]
    (objects_prompt,) = [p for p in engine.prompts_seen if p.slice.stage == "objects"]
    assert objects_prompt.slice.label_names == ["founded by", "headquartered in"]
    assert "(object is a person)" in objects_prompt.messages[-1].content
    relations = sorted(
        (r.subject, r.subject_start, r.relation, r.object, r.object_start)
        for r in outcome.result.relations
    )
    assert relations == [
        ("Apple", 0, "founded by", "Steve Jobs", 18),
        ("Apple", 0, "headquartered in", "Cupertino", 42),
    ]


def test_staging_off_asks_the_whole_answer_object_in_one_prompt():
    answer = {
        "acquisition": [{"trigger": "bought", "arguments": {"buyer": ["Apple"], "target": []}}],
        "layoff": [],
        "rumour": [],
    }
    engine = FakeEngine(lambda prompt: json.dumps(answer))
    (outcome,) = _extract([EE], engine, ["Apple bought Beats."], staged=False)
    assert [p.slice.stage for p in engine.prompts_seen] == ["whole"]
    assert [(e.trigger, [a.text for a in e.arguments]) for e in outcome.result.events] == [
        ("bought", ["Apple"])
    ]


def test_the_iepile_format_asks_in_one_stage():
    engine = FakeEngine()
    extractor = BatchExtractor([EE], engine, get_format("iepile"))
    asyncio.run(extractor.extract([Document(id="d", text="Apple bought Beats.")]))
    assert {p.slice.stage for p in engine.prompts_seen} == {"whole"}


def test_a_trigger_answer_keyed_by_type_is_read_too():
    """The per-type shape (`{type: [trigger]}`) a model trained on it may write."""
    answers = iter(['{"layoff": ["cut"], "acquisition": []}', '{"company": ["Intel"]}'])
    (outcome,) = _extract([EE], FakeEngine(lambda prompt: next(answers)), ["Intel cut jobs."])
    assert [(e.type, e.trigger, [a.text for a in e.arguments]) for e in outcome.result.events] == [
        ("layoff", "cut", ["Intel"])
    ]


def test_trigger_slices_are_wider_than_one_step_event_slices():
    many = EeSchema(
        name="ee", events=[{"type": f"t{i:02d}", "arguments": ["a"]} for i in range(20)]
    )
    engine = FakeEngine(StagedScript({}, {}))
    _extract([many], engine, ["Nothing happened."])
    assert [len(p.slice.labels) for p in engine.prompts_seen] == [20]  # 16 + a remainder of 4
    engine = FakeEngine()
    _extract([many], engine, ["Nothing happened."], staged=False)
    assert [len(p.slice.labels) for p in engine.prompts_seen] == [4] * 5  # IEPile's EE default
