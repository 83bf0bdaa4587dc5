"""Training examples are the job's own prompts with answers its parser reads back as the gold.

The check that matters is end to end: the job's `BatchExtractor`, driven by an engine that
answers each prompt with the exported example whose messages are exactly that prompt's, must
send no prompt without an example (first rounds and second stages alike), and must merge the
answers back into exactly the gold. A perfect model trained on these examples reproduces the
gold through the job's own parsing, grounding and merging.
"""

from __future__ import annotations

import asyncio
import json

import pytest

from ie_batch.config import PromptConfig
from ie_batch.customize.training_examples import document_examples, gold_labels
from ie_batch.engines.fake import FakeEngine
from ie_batch.extraction.extractor import BatchExtractor, Document, ExtractionSettings
from ie_batch.prompts import get_format
from ie_batch.results import DocumentResult, Entity, Event, EventArgument, LabelScore, Relation
from ie_batch.schema import schema_from_data

NER = schema_from_data(
    {
        "task": "ner",
        "name": "people",
        "entities": {"person": "a person's name", "organization": None, "location": None},
    }
)
RE = schema_from_data(
    {
        "task": "re",
        "name": "jobs",
        "relations": [
            {"name": "works_for", "subject_types": ["person"]},
            {"name": "located_in"},
            {"name": "founded_by"},
        ],
    }
)
EE = schema_from_data(
    {
        "task": "ee",
        "name": "deals",
        "events": [
            {"type": "acquisition", "arguments": ["acquirer", "target"]},
            {"type": "layoff", "arguments": ["organization", "number"]},
            {"type": "ipo", "arguments": []},
        ],
    }
)
EE_ZH = schema_from_data(
    {
        "task": "ee",
        "name": "quakes",
        "events": [
            {"type": "地震", "arguments": ["时间", "震级"]},
            {"type": "夺冠", "arguments": ["冠军"]},
        ],
    }
)
TOPICS = schema_from_data(
    {
        "task": "classification",
        "name": "topics",
        "labels": ["world", "sports", "business", "science", "health", "culture", "travel"],
    }
)
TAGS = schema_from_data(
    {
        "task": "classification",
        "name": "tags",
        "multi_label": True,
        "labels": ["sports", "business", "world", "science"],
    }
)


def _at(text: str, span: str, nth: int = 0) -> tuple[int, int]:
    start = -1
    for _ in range(nth + 1):
        start = text.index(span, start + 1)
    return start, start + len(span)


NER_TEXT = "Tim Cook met Angela Merkel in Berlin; Tim Cook then flew home to Apple."
NER_GOLD = DocumentResult(
    entities=[
        Entity("person", "Tim Cook", *_at(NER_TEXT, "Tim Cook")),
        Entity("person", "Angela Merkel", *_at(NER_TEXT, "Angela Merkel")),
        Entity("location", "Berlin", *_at(NER_TEXT, "Berlin")),
        Entity("person", "Tim Cook", *_at(NER_TEXT, "Tim Cook", 1)),
        Entity("organization", "Apple", *_at(NER_TEXT, "Apple")),
    ]
)
RE_TEXT = "Ann works for Acme, which is based in Paris. Bob works for Acme too."
RE_GOLD = DocumentResult(
    relations=[
        Relation("Ann", "works_for", "Acme", *_at(RE_TEXT, "Ann"), *_at(RE_TEXT, "Acme")),
        Relation("Acme", "located_in", "Paris", *_at(RE_TEXT, "Acme"), *_at(RE_TEXT, "Paris")),
        Relation("Bob", "works_for", "Acme", *_at(RE_TEXT, "Bob"), *_at(RE_TEXT, "Acme", 1)),
    ]
)
EE_TEXT = "Acme bought Beta on Monday. Later Acme acquired Gamma, and Delta went public."
EE_GOLD = DocumentResult(
    events=[
        Event(
            "acquisition",
            "bought",
            *_at(EE_TEXT, "bought"),
            (EventArgument("acquirer", "Acme"), EventArgument("target", "Beta")),
        ),
        Event(
            "acquisition",
            "acquired",
            *_at(EE_TEXT, "acquired"),
            (EventArgument("acquirer", "Acme"), EventArgument("target", "Gamma")),
        ),
        Event("ipo", "went public", *_at(EE_TEXT, "went public")),
    ]
)
EE_ZH_TEXT = "2月8日发生了5.8级地震，谷爱凌夺冠。"
EE_ZH_GOLD = DocumentResult(
    events=[
        Event(
            "地震",
            "地震",
            *_at(EE_ZH_TEXT, "地震"),
            (EventArgument("时间", "2月8日"), EventArgument("震级", "5.8级")),
        ),
        Event("夺冠", "夺冠", *_at(EE_ZH_TEXT, "夺冠"), (EventArgument("冠军", "谷爱凌"),)),
    ]
)
TOPIC_TEXT = "The home side won the cup final 2-1 after extra time."
TOPIC_GOLD = DocumentResult(labels=[LabelScore("sports")])
TAGS_GOLD = DocumentResult(labels=[LabelScore("sports"), LabelScore("business")])
NO_EVENT_TEXT = "Nothing happened here."

CASES = [
    pytest.param(NER, NER_TEXT, NER_GOLD, id="ner"),
    pytest.param(RE, RE_TEXT, RE_GOLD, id="re"),
    pytest.param(EE, EE_TEXT, EE_GOLD, id="ee"),
    pytest.param(EE_ZH, EE_ZH_TEXT, EE_ZH_GOLD, id="ee-zh"),
    pytest.param(EE, NO_EVENT_TEXT, DocumentResult(), id="ee-nothing"),
    pytest.param(TOPICS, TOPIC_TEXT, TOPIC_GOLD, id="classification"),
    pytest.param(TAGS, TOPIC_TEXT, TAGS_GOLD, id="multi-label"),
]
PROMPTS = [
    pytest.param("document_first", True, id="document_first-staged"),
    pytest.param("document_first", False, id="document_first-whole"),
    pytest.param("iepile", True, id="iepile"),
]


def _content(result: DocumentResult) -> dict[str, list]:
    """What the metrics compare: tuples, not offsets or order."""
    return {
        "entities": sorted((e.type, e.text) for e in result.entities),
        "relations": sorted((r.subject, r.relation, r.object) for r in result.relations),
        "events": sorted(
            (e.type, e.trigger, tuple(sorted((a.role, a.text) for a in e.arguments)))
            for e in result.events
        ),
        "labels": sorted(label.label for label in result.labels),
    }


@pytest.mark.parametrize(("format_name", "staged"), PROMPTS)
@pytest.mark.parametrize(("schema", "text", "gold"), CASES)
def test_a_perfect_model_answering_the_examples_gives_the_job_the_gold(
    schema, text, gold, format_name, staged
):
    fmt = get_format(format_name)
    settings = ExtractionSettings.from_prompt(PromptConfig(staged_extraction=staged))
    examples, problems = document_examples("doc-1", text, gold, schema, fmt, settings)
    assert problems == []
    answers = {json.dumps(e.prompt.chat(), ensure_ascii=False): e.answer for e in examples}
    assert len(answers) == len(examples)  # no two examples ask the same prompt

    asked: list[str] = []

    def perfect(prompt) -> str:
        key = json.dumps(prompt.chat(), ensure_ascii=False)
        asked.append(key)
        return answers[key]  # a KeyError: the job sent a prompt no example teaches

    extractor = BatchExtractor([schema], FakeEngine(perfect), fmt, settings)
    (outcome,) = asyncio.run(extractor.extract([Document("doc-1", text)]))
    assert outcome.result.errors == []
    assert sorted(asked) == sorted(answers)  # the job's prompts, each once, and no other
    assert _content(outcome.result) == _content(gold)


def test_staged_events_have_one_argument_example_per_gold_trigger_on_its_occurrence():
    fmt = get_format("document_first")
    settings = ExtractionSettings.from_prompt(PromptConfig())
    examples, _ = document_examples("doc-1", EE_TEXT, EE_GOLD, EE, fmt, settings)
    keyed = {e.key: (e.slice.stage, e.answer) for e in examples}
    assert keyed == {
        "1": (
            "triggers",
            '{"events": [{"type": "acquisition", "trigger": "bought"}, '
            '{"type": "acquisition", "trigger": "acquired"}, '
            '{"type": "ipo", "trigger": "went public"}]}',
        ),
        "1.1": ("arguments", '{"acquirer": ["Acme"], "target": ["Beta"]}'),
        "1.2": ("arguments", '{"acquirer": ["Acme"], "target": ["Gamma"]}'),
    }  # ipo has no roles: the job asks no second stage for it
    second = [e.slice.anchor.start for e in examples if e.slice.stage == "arguments"]
    assert second == [_at(EE_TEXT, "bought")[0], _at(EE_TEXT, "acquired")[0]]


def test_two_second_stages_that_read_the_same_with_different_answers_are_reported():
    text = "Acme bought Beta. Later Acme bought Gamma."
    gold = DocumentResult(
        events=[
            Event(
                "acquisition", "bought", *_at(text, "bought"), (EventArgument("target", "Beta"),)
            ),
            Event(
                "acquisition",
                "bought",
                *_at(text, "bought", 1),
                (EventArgument("target", "Gamma"),),
            ),
        ]
    )
    fmt = get_format("document_first")
    settings = ExtractionSettings.from_prompt(PromptConfig())
    examples, problems = document_examples("d2", text, gold, EE, fmt, settings)
    assert [e.slice.stage for e in examples] == ["triggers"]
    assert len(problems) == 2
    assert "2 second-stage prompts about 'bought' read the same but their gold answers differ" in (
        str(problems[0])
    )


def test_asking_fewer_labels_keeps_the_jobs_slice_size_and_prompt_wording():
    fmt = get_format("document_first")
    settings = ExtractionSettings.from_prompt(PromptConfig())
    everything, _ = document_examples("doc-1", TOPIC_TEXT, TOPIC_GOLD, TOPICS, fmt, settings)
    fewer, _ = document_examples(
        "doc-1", TOPIC_TEXT, TOPIC_GOLD, TOPICS, fmt, settings, asked={"sports", "world", "health"}
    )
    (only,) = fewer
    assert only.slice.label_names == ["health", "sports", "world"]
    assert only.answer == '{"label": "sports"}'
    # the job asks these 7 classes in slices, so each may answer "none": so does this one
    assert 'answer "none" if none fits' in only.prompt.messages[-1].content
    assert len(everything) == 2


@pytest.mark.parametrize(
    ("gold", "reason"),
    [
        pytest.param(
            DocumentResult(entities=[Entity("person", "Tim Cooks")]),
            'the parser does not read back the gold from {"person": ["Tim Cooks"]}: missing '
            "[('person', 'Tim Cooks')]",
            id="span-not-in-the-text",
        ),
        pytest.param(
            DocumentResult(entities=[Entity("person", "Timo")]),
            "the parser does not read back the gold",
            id="part-of-a-word",
        ),
        pytest.param(
            DocumentResult(entities=[Entity("person", "x" * 300)]),
            "breaks the slice's answer schema: at person/0:",
            id="span-longer-than-the-schema-allows",
        ),
    ],
)
def test_an_answer_the_job_could_not_produce_is_reported_not_exported(gold, reason):
    fmt = get_format("document_first")
    settings = ExtractionSettings.from_prompt(PromptConfig())
    text = "Timothy met Tim Cook."
    examples, problems = document_examples("d7", text, gold, NER, fmt, settings, {"person"})
    assert examples == []
    (problem,) = problems
    assert str(problem).startswith("document 'd7', slice people[")
    assert reason in str(problem)


def test_gold_labels_are_the_schema_labels_the_document_uses():
    assert gold_labels(NER_GOLD, NER) == {"person", "location", "organization"}
    assert gold_labels(EE_GOLD, EE) == {"acquisition", "ipo"}
    assert gold_labels(TAGS_GOLD, TAGS) == {"sports", "business"}
