"""Dev F1: greedy answers of the trained model to dev prompts, scored against the gold answers."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.engine  # the tiny model takes the embedded model's tokenizer


def test_every_dev_example_gets_an_answer_and_all_its_gold_tuples_count(trained, example_dir):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from ie_batch.customize.dev_eval import generate_answers, score_dev
    from ie_batch.customize.examples_dataset import encode_examples, read_examples
    from ie_batch.metrics.answer_tuples import answer_tuples

    options, _ = trained
    tokenizer = AutoTokenizer.from_pretrained(str(options.output))
    examples = read_examples(example_dir / "dev.jsonl", "dev")
    encoded = encode_examples(tokenizer, examples, 2048, example_dir)
    model = PeftModel.from_pretrained(
        AutoModelForCausalLM.from_pretrained(str(options.model)), str(options.output)
    )
    model.train()
    answers = generate_answers(model, tokenizer, encoded, max_new_tokens=8, batch_size=3)
    assert len(answers) == len(examples) and all(isinstance(a, str) for a in answers)
    assert model.training  # left as it was found, mid-training
    scores = score_dev(model, tokenizer, examples, encoded, max_new_tokens=8)
    gold = sum(len(answer_tuples(e.answer, e.task, e.stage, e.labels)) for e in examples)
    assert scores.examples == 4 and scores.counts.gold == gold == 3
    assert 0.0 <= scores.counts.f1 <= 1.0
