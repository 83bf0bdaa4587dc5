"""Entity-type run-off examples: the job's own run-off prompt about each gold mention."""

from __future__ import annotations

import asyncio
import json

from ie_batch.config import PromptConfig
from ie_batch.customize.training_data import export_training_data
from ie_batch.customize.training_examples import document_examples, run_off_examples
from ie_batch.engines.fake import FakeEngine
from ie_batch.extraction.extractor import BatchExtractor, Document, ExtractionSettings
from ie_batch.prompts import get_format
from ie_batch.results import DocumentResult, Entity
from tests.customize.test_training_examples import NER, NER_GOLD, NER_TEXT, RE, RE_GOLD, RE_TEXT


def _key(prompt) -> str:
    return json.dumps(prompt.chat(), ensure_ascii=False)


def test_the_run_offs_the_job_asks_are_the_examples_and_their_answers_give_the_gold():
    fmt = get_format("document_first")
    settings = ExtractionSettings.from_prompt(PromptConfig())
    slices, _ = document_examples("doc-1", NER_TEXT, NER_GOLD, NER, fmt, settings)
    run_offs, problems = run_off_examples("doc-1", NER_TEXT, NER_GOLD, NER, fmt, settings)
    assert problems == []
    assert sorted(json.loads(e.answer)["type"] for e in run_offs) == [
        "location",
        "organization",
        "person",
        "person",
    ]  # one per mention text: "Tim Cook" twice in the text, one example
    answers = {_key(e.prompt): e.answer for e in run_offs}
    assert all(e.answer == json.dumps(json.loads(e.answer)) for e in run_offs)  # spaced JSON
    mentions = sorted({e.text for e in NER_GOLD.entities})
    asked: list[str] = []

    def greedy(prompt) -> str:
        """Every one-type slice claims every gold mention: each is asked in a run-off."""
        if prompt.slice.span is not None:
            asked.append(_key(prompt))
            return answers[_key(prompt)]  # a KeyError: a run-off no example teaches
        (name,) = prompt.slice.label_names
        return json.dumps({name: mentions})

    extractor = BatchExtractor([NER], FakeEngine(greedy), fmt, settings)
    (outcome,) = asyncio.run(extractor.extract([Document("doc-1", NER_TEXT)]))
    assert sorted(asked) == sorted(answers)
    # each mention listed once, under the type its run-off gives it
    assert {(e.type, e.text) for e in outcome.result.entities} == {
        (e.type, e.text) for e in NER_GOLD.entities
    }
    assert len(slices) == 3  # the one-type slices are unchanged


def test_a_mention_the_gold_types_twice_is_reported_and_other_tasks_have_none():
    fmt = get_format("document_first")
    settings = ExtractionSettings.from_prompt(PromptConfig())
    text = "Paris met Paris."
    gold = DocumentResult(
        entities=[Entity("person", "Paris", 0, 5), Entity("location", "Paris", 10, 15)]
    )
    examples, problems = run_off_examples("d", text, gold, NER, fmt, settings)
    assert examples == []
    assert "the gold gives 'Paris' the types ['location', 'person']" in str(problems[0])
    assert run_off_examples("d", RE_TEXT, RE_GOLD, RE, fmt, settings) == ([], [])


def test_export_adds_run_offs_only_when_asked_and_says_so(tmp_path):
    rows = [
        {
            "id": "doc-1",
            "text": NER_TEXT,
            "entities": [{"type": e.type, "text": e.text} for e in NER_GOLD.entities],
        }
    ]
    schema = tmp_path / "people.json"
    schema.write_text(json.dumps(NER.model_dump(mode="json")), encoding="utf-8")
    plain = export_training_data(rows, schema, tmp_path / "plain", dev_fraction=0)
    with_run_offs = export_training_data(
        rows, schema, tmp_path / "run_offs", dev_fraction=0, run_offs=True
    )
    assert plain.content["run_offs"] is False
    assert "entity_type" not in plain.counts["examples_by_stage"]
    assert with_run_offs.content["run_offs"] is True
    assert with_run_offs.counts["examples_by_stage"]["entity_type"] == 4
    assert with_run_offs.counts["examples"]["train"] == plain.counts["examples"]["train"] + 4
