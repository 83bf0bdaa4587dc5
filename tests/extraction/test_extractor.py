"""BatchExtractor: fan-out of documents into (document, slice, window) prompts and fan-in of answers,
driven with the scripted FakeEngine."""

import asyncio
import json
import re

import pytest

from ie_batch.engines.base import Generation
from ie_batch.engines.fake import FakeEngine
from ie_batch.extraction.extractor import BatchExtractor, Document, ExtractionSettings
from ie_batch.prompts import Example, get_format
from ie_batch.results import DocumentResult, Entity, LabelScore
from ie_batch.schema import ClassificationSchema, NerSchema, rotate

FORMAT = get_format("document_first")
CITIES = ["Berlin", "Paris", "Tokyo"]
PEOPLE = ["Tim Cook", "Angela Merkel"]
# Explicit split_num: these tests count slices and prompts; the format's own default is tested below
NER = NerSchema(name="ner", entities=["city", "person"], split_num=2)
NER13 = NerSchema(
    name="ner13", entities=["city", "person", *[f"t{i:02d}" for i in range(11)]], split_num=6
)
TOPIC = ClassificationSchema(
    name="topic", labels=["business", "sports", "tech", "world"], split_num=2
)


def _document_text(prompt) -> str:
    """The document in a document_first prompt: the block after 'Text:' up to the blank line."""
    user = prompt.messages[1].content
    return user.removeprefix("Text:\n").split("\n\n", 1)[0]


def ner_answer(prompt) -> str:
    """A perfect NER model for `city` and `person`: every listed name the text contains."""
    text = _document_text(prompt)
    known = {"city": CITIES, "person": PEOPLE}
    return json.dumps(
        {name: [n for n in known.get(name, []) if n in text] for name in prompt.slice.label_names}
    )


def _extract(extractor, documents):
    return asyncio.run(extractor.extract(documents))


def _docs(*texts):
    return [Document(id=f"d{i}", text=text) for i, text in enumerate(texts)]


def test_one_outcome_per_document_in_order():
    docs = _docs("Tim Cook is in Berlin.", "Nothing here.", "Angela Merkel visited Paris.")
    outcomes = _extract(BatchExtractor([NER], FakeEngine(ner_answer), FORMAT), docs)
    assert len(outcomes) == 3
    assert [{e.text for e in o.result.entities} for o in outcomes] == [
        {"Tim Cook", "Berlin"},
        set(),
        {"Angela Merkel", "Paris"},
    ]
    assert all(o.result.errors == [] for o in outcomes)


def test_no_documents_no_prompts():
    engine = FakeEngine(ner_answer)
    assert _extract(BatchExtractor([NER], engine, FORMAT), []) == []
    assert engine.prompts_seen == []


def test_every_document_slice_pair_is_asked_once():
    docs = _docs("Tim Cook is in Berlin.", "Paris.", "Tokyo.")
    engine = FakeEngine(ner_answer)
    outcomes = _extract(BatchExtractor([NER13], engine, FORMAT), docs)
    slices = rotate(NER13)
    assert len(slices) == 2  # 13 labels, split_num 6: slices of 6 and 7
    asked = [(_document_text(p), p.slice.key) for p in engine.prompts_seen]
    assert sorted(asked) == sorted((d.text, s.key) for d in docs for s in slices)
    assert [o.prompts for o in outcomes] == [2, 2, 2]
    assert [o.windows for o in outcomes] == [1, 1, 1]


def test_every_documents_first_round_is_asked_before_any_answer_comes_back():
    calls: list[int] = []
    asked_when_answered: list[int] = []

    class CountingEngine(FakeEngine):
        async def generate(self, prompts):
            calls.append(len(prompts))
            outputs = await super().generate(prompts)
            asked_when_answered.append(len(calls))
            return outputs

    _extract(BatchExtractor([NER13], CountingEngine(ner_answer), FORMAT), _docs("a", "b", "c"))
    assert calls == [2, 2, 2]  # one call per document, all its slices at once
    assert asked_when_answered == [3, 3, 3]


def test_a_documents_next_round_does_not_wait_for_the_batchs_slowest_prompt():
    """The run-off of a quick document is asked while another document's first round is still
    decoding (a per-round barrier over the batch would idle the engine behind one straggler)."""
    slow_started = asyncio.Event()
    release = asyncio.Event()
    order: list[str] = []
    schema = NerSchema(name="two", entities=["person", "location"])

    class StragglerEngine(FakeEngine):
        async def generate(self, prompts):
            text = _document_text(prompts[0])
            if "Slow" in text and prompts[0].slice.span is None:
                slow_started.set()
                await release.wait()
            elif prompts[0].slice.span is not None:
                order.append(f"run-off {text}")
                release.set()
            return await super().generate(prompts)

    def both_types(prompt):
        if prompt.slice.span is not None:  # the run-off settles it
            return json.dumps({"type": "location"})
        return json.dumps({name: ["Paris"] for name in prompt.slice.label_names})

    docs = _docs("Paris is quick.", "Slow text about Paris.")
    extractor = BatchExtractor([schema], StragglerEngine(both_types), FORMAT)
    outcomes = asyncio.run(asyncio.wait_for(extractor.extract(docs), timeout=10))
    assert slow_started.is_set()
    assert order[0] == "run-off Paris is quick."
    assert [[e.type for e in o.result.entities] for o in outcomes] == [["location"]] * 2


def test_entities_are_grounded_with_offsets():
    text = "Tim Cook flew from Berlin to Tokyo; Berlin was cold."
    (outcome,) = _extract(BatchExtractor([NER13], FakeEngine(ner_answer), FORMAT), _docs(text))
    entities = outcome.result.entities
    assert {(e.type, e.text) for e in entities} == {
        ("person", "Tim Cook"),
        ("city", "Berlin"),
        ("city", "Tokyo"),
    }
    for entity in entities:
        assert text[entity.start : entity.end] == entity.text
    assert Entity("person", "Tim Cook", 0, 8) in entities


def test_an_engine_failure_on_one_prompt_is_an_error_of_that_document_only():
    docs = _docs("Tim Cook is in Berlin.", "Angela Merkel visited Paris.")
    failing = rotate(NER13)[1].key

    def answer(prompt):
        if "Merkel" in _document_text(prompt) and prompt.slice.key == failing:
            raise RuntimeError("CUDA out of memory")
        return ner_answer(prompt)

    first, second = _extract(BatchExtractor([NER13], FakeEngine(answer), FORMAT), docs)
    assert first.result.errors == []
    assert {e.text for e in first.result.entities} == {"Tim Cook", "Berlin"}
    assert second.result.errors == [f"slice {failing}: engine failed: CUDA out of memory"]
    # the first slice (city, person, t00..t03) of the failing document still answered
    assert {e.text for e in second.result.entities} == {"Angela Merkel", "Paris"}
    assert second.prompts == 2


def test_a_failing_generate_call_gives_every_document_an_error_and_one_outcome():
    class BrokenEngine(FakeEngine):
        async def generate(self, prompts):
            raise ConnectionError("engine died")

    docs = _docs("Tim Cook is in Berlin.", "Paris.", "Tokyo.")
    outcomes = _extract(BatchExtractor([NER13], BrokenEngine(), FORMAT), docs)
    assert len(outcomes) == 3
    for outcome in outcomes:
        assert outcome.result.entities == []
        assert len(outcome.result.errors) == 2  # one per slice
        assert all(
            "engine failed: ConnectionError: engine died" in error
            for error in outcome.result.errors
        )
        assert outcome.prompts == 2


def test_an_unparseable_answer_is_an_error_not_an_exception():
    docs = _docs("Tim Cook is in Berlin.")
    (outcome,) = _extract(
        BatchExtractor([NER], FakeEngine(lambda p: "I cannot help."), FORMAT), docs
    )
    assert outcome.result.entities == []
    assert outcome.result.errors == ["slice ner[1/1]: no JSON object in the answer"]


def test_a_long_document_is_split_into_windows_and_offsets_map_to_the_full_text():
    sentences = [
        f"On day {i} the delegates met in {CITIES[i % 3]} to talk about trade and weather."
        for i in range(12)
    ]
    text = " ".join(sentences)
    engine = FakeEngine(ner_answer, max_model_len=120, max_tokens=20)
    (outcome,) = _extract(BatchExtractor([NER], engine, FORMAT), _docs(text))
    assert outcome.windows > 1
    assert outcome.prompts == len(engine.prompts_seen) == outcome.windows
    for prompt in engine.prompts_seen:
        assert engine.count_tokens(prompt) <= 120 - 20
        assert _document_text(prompt) in text
    found = sorted((e.start, e.end) for e in outcome.result.entities)
    expected = sorted(
        (m.start(), m.end()) for city in CITIES for m in re.finditer(re.escape(city), text)
    )
    seen = sum(_document_text(p).count(city) for p in engine.prompts_seen for city in CITIES)
    assert seen > len(expected)  # some mentions sit in two overlapping windows...
    assert found == expected  # ...yet each comes out once, with its full-text offsets
    assert all(text[e.start : e.end] == e.text for e in outcome.result.entities)
    assert outcome.result.errors == []


def test_a_prompt_too_long_even_without_text_is_an_error_of_its_document():
    engine = FakeEngine(ner_answer, max_model_len=60, max_tokens=20)
    (outcome,) = _extract(BatchExtractor([NER], engine, FORMAT), _docs("Tim Cook is in Berlin."))
    assert engine.prompts_seen == []
    assert len(outcome.result.errors) == 1
    assert outcome.result.errors[0].startswith("slice ner[1/1]: its prompt without the text takes")


def _classifier(pick):
    """Answers each classification slice with pick(slice labels), the final round with 'world'."""

    def answer(prompt):
        if prompt.slice.final_round:
            return json.dumps({"label": "world"})
        return json.dumps({"label": pick(prompt.slice.label_names)})

    return answer


def test_multi_class_over_several_slices_runs_a_final_round_that_decides():
    engine = FakeEngine(_classifier(lambda labels: labels[-1]))  # "sports", "world"
    (outcome,) = _extract(BatchExtractor([TOPIC], engine, FORMAT), _docs("Apple shares rose."))
    finals = [p for p in engine.prompts_seen if p.slice.final_round]
    assert len(finals) == 1
    assert finals[0].slice.label_names == ["sports", "world"]
    assert _document_text(finals[0]) == "Apple shares rose."
    assert outcome.result.labels == [LabelScore("world")]
    assert outcome.result.errors == []
    assert outcome.prompts == 3


def test_a_final_round_answer_outside_the_finalists_leaves_the_winners_with_an_error():
    def answer(prompt):
        if prompt.slice.final_round:
            return json.dumps({"label": "world"})  # not a finalist
        return json.dumps({"label": prompt.slice.label_names[0]})  # "business", "tech"

    (outcome,) = _extract(BatchExtractor([TOPIC], FakeEngine(answer), FORMAT), _docs("x"))
    assert outcome.result.labels == [LabelScore("business"), LabelScore("tech")]
    assert outcome.result.errors == [
        'slice topic[final]: answer label "world" is not a label of this slice'
    ]


def test_when_one_slice_picks_a_label_there_is_no_final_round():
    def pick(labels):
        return "sports" if "sports" in labels else "none"

    engine = FakeEngine(_classifier(pick))
    (outcome,) = _extract(BatchExtractor([TOPIC], engine, FORMAT), _docs("The match ended 2-1."))
    assert not any(p.slice.final_round for p in engine.prompts_seen)
    assert outcome.result.labels == [LabelScore("sports")]
    assert outcome.prompts == 2


def test_final_round_only_for_the_documents_that_need_one():
    def answer(prompt):
        text = _document_text(prompt)
        if prompt.slice.final_round:
            return json.dumps({"label": prompt.slice.label_names[0]})
        if text == "split":
            return json.dumps({"label": prompt.slice.label_names[0]})
        return json.dumps({"label": "sports" if "sports" in prompt.slice.label_names else "none"})

    engine = FakeEngine(answer)
    outcomes = _extract(BatchExtractor([TOPIC], engine, FORMAT), _docs("clear", "split"))
    finals = [p for p in engine.prompts_seen if p.slice.final_round]
    assert [_document_text(p) for p in finals] == ["split"]
    assert [o.result.labels for o in outcomes] == [[LabelScore("sports")], [LabelScore("business")]]


def test_a_failed_final_round_leaves_the_slice_winners():
    def answer(prompt):
        if prompt.slice.final_round:
            raise TimeoutError("too slow")
        return json.dumps({"label": prompt.slice.label_names[0]})

    (outcome,) = _extract(BatchExtractor([TOPIC], FakeEngine(answer), FORMAT), _docs("x"))
    assert outcome.result.labels == [LabelScore("business"), LabelScore("tech")]
    assert outcome.result.errors == ["slice topic[final]: engine failed: too slow"]


def test_multi_label_classification_has_no_final_round():
    schema = ClassificationSchema(
        name="tags", labels=["a", "b", "c", "d"], split_num=2, multi_label=True
    )
    engine = FakeEngine(lambda p: json.dumps({"labels": p.slice.label_names}))
    (outcome,) = _extract(BatchExtractor([schema], engine, FORMAT), _docs("x"))
    assert not any(p.slice.final_round for p in engine.prompts_seen)
    assert [label.label for label in outcome.result.labels] == ["a", "b", "c", "d"]


def test_token_counts_are_summed_per_document():
    engine = FakeEngine(ner_answer)
    docs = _docs("Tim Cook is in Berlin.", "Angela Merkel visited Paris today.")
    outcomes = _extract(BatchExtractor([NER13], engine, FORMAT), docs)
    for doc, outcome in zip(docs, outcomes, strict=True):
        mine = [p for p in engine.prompts_seen if _document_text(p) == doc.text]
        assert len(mine) == 2
        assert outcome.prompt_tokens == sum(engine.count_tokens(p) for p in mine)
        assert outcome.completion_tokens == sum(len(ner_answer(p).split()) for p in mine)
        assert outcome.prompt_tokens > 0 and outcome.completion_tokens > 0


def test_tokens_of_generations_reported_by_the_engine_are_added_up():
    class MeteredEngine(FakeEngine):
        async def generate(self, prompts):
            return [Generation(text="{}", prompt_tokens=100, completion_tokens=7) for _ in prompts]

    outcomes = _extract(BatchExtractor([NER13], MeteredEngine(), FORMAT), _docs("a", "b"))
    assert [(o.prompt_tokens, o.completion_tokens) for o in outcomes] == [(200, 14), (200, 14)]


def test_an_answer_cut_at_max_tokens_is_reported():
    class CutEngine(FakeEngine):
        async def generate(self, prompts):
            return [Generation(text='{"city": ["Berlin"]', finish_reason="length") for _ in prompts]

    one_type = NerSchema(name="ner", entities=["city"])
    engine = CutEngine(max_tokens=32)
    (outcome,) = _extract(BatchExtractor([one_type], engine, FORMAT), _docs("Berlin!"))
    assert [e.text for e in outcome.result.entities] == ["Berlin"]
    assert outcome.result.errors == [
        "slice ner[1/1]: the answer hit the 32-token limit; kept its complete items"
    ]
    assert outcome.prompts == 1  # one label: no smaller slice to ask


def test_a_slice_that_hits_the_limit_is_asked_once_more_as_two_halves():
    class LoopsOnWideSlices(FakeEngine):
        """Runs to the limit whenever a prompt asks both types; answers each alone."""

        async def generate(self, prompts):
            answers = []
            for prompt in prompts:
                names = prompt.slice.label_names
                if len(names) > 1:
                    answers.append(
                        Generation(text='{"city": ["Berlin", "Ber', finish_reason="length")
                    )
                elif names == ["city"]:
                    answers.append(Generation(text='{"city": ["Berlin"]}', finish_reason="stop"))
                else:
                    answers.append(Generation(text='{"person": []}', finish_reason="stop"))
            return answers

    (outcome,) = _extract(BatchExtractor([NER], LoopsOnWideSlices(), FORMAT), _docs("Berlin!"))
    assert [(e.type, e.text, e.start) for e in outcome.result.entities] == [("city", "Berlin", 0)]
    assert outcome.result.errors == []  # the halves' answers replace the cut-off one
    assert outcome.prompts == 3


def test_several_schemas_merge_into_one_result():
    def answer(prompt):
        if prompt.slice.schema.name == "topic":
            return json.dumps({"label": "world" if "world" in prompt.slice.label_names else "none"})
        return ner_answer(prompt)

    (outcome,) = _extract(
        BatchExtractor([NER, TOPIC], FakeEngine(answer), FORMAT),
        _docs("Angela Merkel visited Paris."),
    )
    assert {e.text for e in outcome.result.entities} == {"Angela Merkel", "Paris"}
    assert outcome.result.labels == [LabelScore("world")]
    assert outcome.prompts == 3


def test_keep_ungrounded_false_drops_invented_spans():
    def answer(prompt):
        return json.dumps({"city": ["Berlin", "Atlantis"], "person": []})

    settings = ExtractionSettings(keep_ungrounded=False)
    (outcome,) = _extract(
        BatchExtractor([NER], FakeEngine(answer), FORMAT, settings), _docs("Berlin is big.")
    )
    assert outcome.result.entities == [Entity("city", "Berlin", 0, 6)]
    assert outcome.result.errors == []
    assert any("Atlantis" in warning for warning in outcome.result.warnings)


def test_examples_of_a_schema_are_rendered_into_its_prompts():
    example = Example("Tokyo is far.", DocumentResult(entities=[Entity("city", "Tokyo")]))
    engine = FakeEngine(ner_answer)
    settings = ExtractionSettings(examples={"ner": [example]})
    _extract(BatchExtractor([NER], engine, FORMAT, settings), _docs("Berlin."))
    (prompt,) = engine.prompts_seen
    assert 'Answer: {"city": ["Tokyo"], "person": []}' in prompt.messages[1].content


def test_given_label_order_is_used_for_slices():
    engine = FakeEngine(ner_answer)
    settings = ExtractionSettings(label_order="given")
    _extract(BatchExtractor([NER13], engine, FORMAT, settings), _docs("x"))
    assert engine.prompts_seen[0].slice.label_names == NER13.label_names[:6]


@pytest.mark.parametrize(
    "schemas, message",
    [([], "at least one schema"), ([NER, NER], "are both named")],
)
def test_invalid_extractor_setups_raise(schemas, message):
    with pytest.raises(ValueError, match=message):
        BatchExtractor(schemas, FakeEngine(), FORMAT)


def test_a_document_is_asked_only_the_schemas_routed_to_it():
    ner = NerSchema(name="ner", entities=["person"])
    topics = ClassificationSchema(name="topics", labels=["a", "b"])
    engine = FakeEngine(lambda prompt: "{}")
    extractor = BatchExtractor([ner, topics], engine, get_format())
    asyncio.run(extractor.extract([Document("d1", "Text.", frozenset({"topics"}))]))
    assert {prompt.slice.schema.name for prompt in engine.prompts_seen} == {"topics"}


NEWS = NerSchema(name="news", entities=["location", "organization", "person"])


def test_document_first_asks_one_entity_type_per_prompt_unless_the_schema_says_otherwise():
    engine = FakeEngine()
    _extract(BatchExtractor([NEWS], engine, FORMAT), _docs("x"))
    assert [p.slice.label_names for p in engine.prompts_seen] == [
        ["location"],
        ["organization"],
        ["person"],
    ]
    iepile = FakeEngine()
    _extract(BatchExtractor([NEWS], iepile, get_format("iepile")), _docs("x"))
    assert [p.slice.label_names for p in iepile.prompts_seen] == [NEWS.label_names]


def _greedy_typist(chosen: str | None):
    """Every type slice claims "Essex"; the run-off answers `chosen` (None: garbage)."""

    def answer(prompt) -> str:
        if prompt.slice.span is not None:
            return json.dumps({"type": chosen}) if chosen else "no idea"
        return json.dumps({name: ["Essex"] for name in prompt.slice.label_names})

    return answer


def test_a_mention_given_several_types_gets_one_from_a_run_off_among_them():
    engine = FakeEngine(_greedy_typist("organization"))
    (outcome,) = _extract(BatchExtractor([NEWS], engine, FORMAT), _docs("Essex beat Kent."))
    assert [(e.type, e.text, e.start) for e in outcome.result.entities] == [
        ("organization", "Essex", 0)
    ]
    run_offs = [p for p in engine.prompts_seen if p.slice.span is not None]
    assert len(run_offs) == 1 and outcome.prompts == 4
    (run_off,) = run_offs
    assert run_off.slice.label_names == ["location", "organization", "person"]
    assert 'which type is "Essex"' in run_off.messages[1].content
    assert run_off.answer_schema["properties"]["type"]["enum"] == run_off.slice.label_names
    assert outcome.result.errors == []


def test_the_run_off_offers_every_type_of_the_schema_not_only_the_claimants():
    def two_claim(prompt) -> str:
        if prompt.slice.span is not None:
            return json.dumps({"type": "location"})
        claimed = [n for n in prompt.slice.label_names if n != "location"]
        return json.dumps(
            {name: ["Bonn"] if name in claimed else [] for name in prompt.slice.label_names}
        )

    engine = FakeEngine(two_claim)
    (outcome,) = _extract(BatchExtractor([NEWS], engine, FORMAT), _docs("Bonn appeals."))
    (run_off,) = [p for p in engine.prompts_seen if p.slice.span is not None]
    assert run_off.slice.label_names == ["location", "organization", "person"]
    assert [(e.type, e.text, e.start) for e in outcome.result.entities] == [("location", "Bonn", 0)]


def test_a_failed_run_off_keeps_every_type_and_says_why():
    (outcome,) = _extract(
        BatchExtractor([NEWS], FakeEngine(_greedy_typist(None)), FORMAT), _docs("Essex won.")
    )
    assert sorted(e.type for e in outcome.result.entities) == ["location", "organization", "person"]
    assert outcome.result.errors == ["slice news[final 'Essex']: no JSON object in the answer"]


def test_the_run_off_can_be_switched_off_and_is_never_asked_about_spans_not_in_the_text():
    settings = ExtractionSettings(entity_type_run_off=False, keep_ungrounded=True)
    engine = FakeEngine(_greedy_typist("person"))
    (outcome,) = _extract(BatchExtractor([NEWS], engine, FORMAT, settings), _docs("Essex won."))
    assert len(outcome.result.entities) == 3 and outcome.prompts == 3
    absent = FakeEngine(_greedy_typist("person"))
    settings = ExtractionSettings(keep_ungrounded=True)
    (outcome,) = _extract(BatchExtractor([NEWS], absent, FORMAT, settings), _docs("Kent won."))
    assert all(p.slice.span is None for p in absent.prompts_seen)
    assert {e.start for e in outcome.result.entities} == {None}  # kept ungrounded, not typed


def test_a_run_off_in_a_long_document_sees_the_text_around_its_mention():
    filler = " ".join(f"w{i}" for i in range(150))
    text = f"{filler} Essex beat Kent . {filler}"
    engine = FakeEngine(_greedy_typist("organization"), max_model_len=200, max_tokens=20)
    (outcome,) = _extract(BatchExtractor([NEWS], engine, FORMAT), _docs(text))
    run_offs = [p for p in engine.prompts_seen if p.slice.span is not None]
    assert len(run_offs) == 1
    assert all(engine.count_tokens(p) <= 180 for p in engine.prompts_seen)
    assert "Essex beat Kent" in _document_text(run_offs[0])
    assert {e.type for e in outcome.result.entities} == {"organization"}
    assert outcome.result.errors == []


def test_prompt_tokens_served_from_the_prefix_cache_are_added_up():
    class CachingEngine(FakeEngine):
        async def generate(self, prompts):
            return [Generation(text="{}", prompt_tokens=100, cached_tokens=60) for _ in prompts]

    outcomes = _extract(BatchExtractor([NER13], CachingEngine(), FORMAT), _docs("a"))
    assert (outcomes[0].prompt_tokens, outcomes[0].cached_tokens) == (200, 120)
