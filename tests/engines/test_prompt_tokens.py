"""Prompt token ids from cached halves must be exactly the ids of the whole chat text.

The tokenizers are built here, in milliseconds: a byte-level BPE (the pre-tokenizer of Qwen,
Llama 3 and GPT-2 alike) and a SentencePiece-style one that marks the start of every piece, whose
halves do not add up; chat templates in the common ChatML shape, one that trims contents.
"""

from __future__ import annotations

import pytest
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast

from ie_batch.engines import prompt_tokens
from ie_batch.engines.prompt_tokens import PromptTokenizer
from ie_batch.prompts import get_format, render_entity_type
from ie_batch.prompts.base import Message, Prompt
from ie_batch.schema import NerSchema, entity_type_slice, rotate

CHATML = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
TRIMMING = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] | trim }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
CORPUS = [
    "Text:\nAngela Merkel met officials of Siemens in Berlin.\n\nWhich names occur in the text?",
    "文本：\n北京大学的王小明说，你好。\n\n文本中出现了哪些名称？照原文原样复制。",
    'Answer with {"person": [names]}; an empty list if there is none.',
] * 20


def byte_level(template: str = CHATML) -> PreTrainedTokenizerFast:
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        special_tokens=["<|im_start|>", "<|im_end|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tokenizer.train_from_iterator(CORPUS, trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tokenizer, chat_template=template)


def metaspace() -> PreTrainedTokenizerFast:
    tokenizer = Tokenizer(models.BPE(unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(prepend_scheme="always")
    trainer = trainers.BpeTrainer(vocab_size=300, special_tokens=["<unk>"])
    tokenizer.train_from_iterator(CORPUS, trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tokenizer, chat_template=CHATML)


def whole_ids(tokenizer: PreTrainedTokenizerFast, prompt: Prompt) -> list[int]:
    text = tokenizer.apply_chat_template(prompt.chat(), add_generation_prompt=True, tokenize=False)
    return tokenizer(text, add_special_tokens=False)["input_ids"]


def document_prompts(text: str, language: str = "en") -> list[Prompt]:
    names = {"en": ["person", "location", "organization"], "zh": ["人名", "地名", "机构名"]}
    schema = NerSchema(name="news", language=language, entities=names[language])
    fmt = get_format("document_first")
    prompts = [fmt.render(text, slice_) for slice_ in rotate(schema, "d1", "sorted", 1)]
    run_off = entity_type_slice(schema, (text.split() or ["x"])[0], names[language])
    if run_off is not None:
        prompts.append(render_entity_type(text, run_off))
    return prompts


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Angela Merkel met officials of Siemens in Berlin.", "en"),
        ("北京大学的王小明说，你好。", "zh"),
        ("ends with a blank line\n\n", "en"),  # the cut would fall inside a run of newlines
        ("trailing spaces   ", "en"),
        ("", "en"),
    ],
)
def test_ids_from_halves_are_the_whole_texts_ids(text: str, language: str) -> None:
    tokenizer = byte_level()
    tokens = PromptTokenizer(tokenizer)
    for prompt in document_prompts(text, language):
        assert tokens.ids(prompt) == whole_ids(tokenizer, prompt)
        rendered = tokenizer.apply_chat_template(
            prompt.chat(), add_generation_prompt=True, tokenize=False
        )
        assert tokens.text(prompt) == rendered
    assert tokens.splitting


def test_a_documents_prefix_is_tokenized_once() -> None:
    tokens = PromptTokenizer(byte_level())
    prompts = document_prompts("Angela Merkel met officials of Siemens in Berlin.")
    for prompt in prompts:
        tokens.ids(prompt)
    info = tokens._prefix_ids.cache_info()
    assert info.misses == 2  # the slices' prefix, and the run-off's (its system message differs)
    assert info.hits == len(prompts) - 2


def test_a_template_that_changes_contents_is_rendered_in_full() -> None:
    tokenizer = byte_level(TRIMMING)
    tokens = PromptTokenizer(tokenizer)
    prompt = document_prompts("  padded text  ")[0]
    assert tokens.text(prompt) == tokenizer.apply_chat_template(
        prompt.chat(), add_generation_prompt=True, tokenize=False
    )
    assert tokens.ids(prompt) == whole_ids(tokenizer, prompt)
    assert tokens._frame(("system", "user")) is None


def test_a_tokenizer_whose_halves_do_not_add_up_is_not_split() -> None:
    tokenizer = metaspace()
    tokens = PromptTokenizer(tokenizer)
    for prompt in document_prompts("Angela Merkel met officials of Siemens in Berlin."):
        assert tokens.ids(prompt) == whole_ids(tokenizer, prompt)
    assert not tokens.splitting


def test_the_periodic_check_turns_splitting_off_when_halves_disagree(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(prompt_tokens, "CHECK_EVERY", 1)
    tokenizer = byte_level()
    tokens = PromptTokenizer(tokenizer)
    assert tokens.splitting
    tokens._prefix_ids = lambda text: [0]  # type: ignore[method-assign]
    prompt = document_prompts("Angela Merkel met officials of Siemens in Berlin.")[0]
    assert tokens.ids(prompt) == whole_ids(tokenizer, prompt)
    assert not tokens.splitting


def test_a_prompt_without_a_shared_prefix_is_tokenized_whole() -> None:
    tokenizer = byte_level()
    tokens = PromptTokenizer(tokenizer)
    prompt = Prompt(
        messages=(Message("system", "s"), Message("user", "Text:\nabc\n\nWhich?")),
        answer_schema={},
        slice=document_prompts("abc")[0].slice,
    )
    assert tokens.ids(prompt) == whole_ids(tokenizer, prompt)
    assert tokens._prefix_ids.cache_info().currsize == 0


@pytest.mark.engine
def test_the_embedded_models_tokenizer_is_split_exactly() -> None:
    from ie_batch.engines.embedded_model import resolve_model

    tokenizer = PreTrainedTokenizerFast.from_pretrained(resolve_model("embedded"))
    tokens = PromptTokenizer(tokenizer)
    texts = [
        ("EU rejects German call to boycott British lamb.", "en"),
        ("Peter Blackburn\n\nBRUSSELS 1996-08-22", "en"),
        ("海钓比赛地点在厦门与金门之间的海域。", "zh"),
    ]
    for text, language in texts:
        for prompt in document_prompts(text, language):
            assert tokens.ids(prompt) == whole_ids(tokenizer, prompt)
    assert tokens.splitting
