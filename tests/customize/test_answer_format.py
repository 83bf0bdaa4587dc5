"""The training answers' JSON is written the way the model and the job's grammar write it.

Compact JSON (`{"person":["Ann"]}`) made a LoRA run on CoNLL-2003 answer most slices with an
empty list: the embedded tokenizer writes `":["` as one token, which the base model never emits
after a key, while the empty answer starts `":` + `[]}`; spaced JSON keeps the key's `":` token
in both, and the choice between empty and not on the next token, as the base model makes it.
"""

from __future__ import annotations

import json

import pytest

from ie_batch.config import PromptConfig
from ie_batch.customize.training_examples import ANSWER_SEPARATORS, answer_text, document_examples
from ie_batch.extraction.extractor import ExtractionSettings
from ie_batch.prompts import get_format
from ie_batch.results import DocumentResult, Entity, Event, EventArgument, Relation
from tests.customize.test_training_examples import EE, NER, RE


def test_answers_use_json_dumps_default_separators():
    assert ANSWER_SEPARATORS == (", ", ": ")
    value = {"person": ["Ann Lee", "Bo"], "location": []}
    assert answer_text(value) == json.dumps(value, ensure_ascii=False)
    assert answer_text(value) == '{"person": ["Ann Lee", "Bo"], "location": []}'
    assert answer_text({"地点": ["北京"]}) == '{"地点": ["北京"]}'  # not \\u-escaped


def _examples(text, gold, schema):
    fmt = get_format("document_first")
    settings = ExtractionSettings.from_prompt(PromptConfig())
    examples, problems = document_examples("doc-1", text, gold, schema, fmt, settings)
    assert problems == []
    return examples


def _cases():
    text = "Ann Lee of Acme bought Beta in Paris."
    ner = DocumentResult(entities=[Entity("person", "Ann Lee"), Entity("organization", "Acme")])
    re_ = DocumentResult(relations=[Relation("Ann Lee", "works_for", "Acme")])
    ee = DocumentResult(
        events=[
            Event(
                "acquisition",
                "bought",
                text.index("bought"),
                text.index("bought") + len("bought"),
                (EventArgument("acquirer", "Acme"), EventArgument("target", "Beta")),
            )
        ]
    )
    return [(text, ner, NER), (text, re_, RE), (text, ee, EE)]


@pytest.mark.parametrize(("text", "gold", "schema"), _cases(), ids=["ner", "re", "ee"])
def test_every_example_answer_is_spaced_json_in_the_answer_schemas_key_order(text, gold, schema):
    examples = _examples(text, gold, schema)
    assert examples
    for example in examples:
        value = json.loads(example.answer)
        assert example.answer == json.dumps(value, ensure_ascii=False)
        # a JSON grammar writes the required properties in the schema's order
        assert list(value) == list(example.prompt.answer_schema["properties"])


def test_ner_answer_is_written_as_the_prompts_few_shot_answers_show_it():
    from ie_batch.prompts.base import Example

    text = "Ann Lee of Acme bought Beta in Paris."
    gold = DocumentResult(entities=[Entity("person", "Ann Lee")])
    fmt = get_format("document_first")
    for example in _examples(text, gold, NER):
        shown = fmt.render("Bo met Cy.", example.slice, [Example(text, gold)])
        if example.slice.label_names == ["person"]:
            assert f"Answer: {example.answer}" in shown.messages[-1].content


def test_empty_and_non_empty_answers_share_the_keys_tokens():
    """With the embedded tokenizer, the empty and the non-empty answer of a one-type slice agree
    token for token through the key's `":`, and part on the next token (` []` or ` ["`)."""
    pytest.importorskip("transformers")
    from transformers import AutoTokenizer

    from tests.customize.tiny import embedded_tokenizer_dir

    tokenizer = AutoTokenizer.from_pretrained(embedded_tokenizer_dir())

    def tokens(value):
        ids = tokenizer(answer_text(value), add_special_tokens=False)["input_ids"]
        return [tokenizer.decode([i]) for i in ids]

    empty, found = tokens({"person": []}), tokens({"person": ["Peter Blackburn"]})
    assert empty[:3] == found[:3] == ['{"', "person", '":']
    assert (empty[3], found[3]) == (" []", ' ["')
    compact = tokenizer('{"person":["Peter Blackburn"]}', add_special_tokens=False)["input_ids"]
    assert tokenizer.decode(compact[2:3]) == '":["'  # what compact JSON taught instead
