"""IEPile / OneKE's instruction format, for models trained on it (zjunlp/OneKE, IEPile LoRAs).

The user message is exactly IEPile's instruction JSON string `{"instruction", "schema", "input"}`;
the answer is a JSON object keyed by the schema items in the same order, with one string per event
argument role ("NAN" when absent). Classification is not an IEPile task; it is asked in the same
style so one model can serve every task of a job.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from ie_batch.prompts.base import Example, Message, Prompt, PromptFormat
from ie_batch.schema import SchemaSlice, TaskKind

INSTRUCTIONS = {
    ("en", TaskKind.NER): "You are an expert in named entity recognition. Please extract entities "
    "that match the schema definition from the input. Return an empty list if the entity type does "
    "not exist. Please respond in the format of a JSON string.",
    (
        "en",
        TaskKind.RE,
    ): "You are an expert in relationship extraction. Please extract relationship "
    "triples that match the schema definition from the input. Return an empty list for "
    "relationships that do not exist. Please respond in the format of a JSON string.",
    (
        "en",
        TaskKind.EE,
    ): "You are an expert in event extraction. Please extract events from the input "
    "that conform to the schema definition. Return an empty list for events that do not exist, and "
    "return NAN for arguments that do not exist. If an argument has multiple values, please return "
    "a list. Respond in the format of a JSON string.",
    ("en", TaskKind.CLASSIFICATION): "You are an expert in text classification. Please choose the "
    "label from the schema that fits the input. Respond in the format of a JSON string.",
    (
        "zh",
        TaskKind.NER,
    ): "你是专门进行实体抽取的专家。请从input中抽取出符合schema定义的实体，不存在的实体类型返回空列表。"
    "请按照JSON字符串的格式回答。",
    (
        "zh",
        TaskKind.RE,
    ): "你是专门进行关系抽取的专家。请从input中抽取出符合schema定义的关系三元组，不存在的关系返回空列表。"
    "请按照JSON字符串的格式回答。",
    (
        "zh",
        TaskKind.EE,
    ): "你是专门进行事件提取的专家。请从input中抽取出符合schema定义的事件，不存在的事件返回空列表，"
    "不存在的论元返回NAN，如果论元存在多值请返回列表。请按照JSON字符串的格式回答。",
    (
        "zh",
        TaskKind.CLASSIFICATION,
    ): "你是专门进行文本分类的专家。请从schema中选出符合input的标签。请按照JSON字符串的格式回答。",
}

#: OneKE's system prompt.
SYSTEM = "You are a helpful assistant. 你是一个乐于助人的助手。"


class IEPileFormat(PromptFormat):
    name = "iepile"
    argument_shape = "string"

    def render(self, text: str, slice_: SchemaSlice, examples: Sequence[Example] = ()) -> Prompt:
        examples = self.usable_examples(examples, slice_)
        instruction: dict[str, Any] = {
            "instruction": INSTRUCTIONS[slice_.schema.language, slice_.schema.kind],
            "schema": self.schema_items(slice_),
        }
        if examples:
            instruction["example"] = [
                {"input": ex.text, "output": self.example_answer(ex.result, slice_)}
                for ex in examples
            ]
        instruction["input"] = text
        user = json.dumps(instruction, ensure_ascii=False)
        messages = (Message("system", SYSTEM), Message("user", user))
        return Prompt(
            messages=messages, answer_schema=self.answer_schema(slice_, len(text)), slice=slice_
        )

    @staticmethod
    def schema_items(slice_: SchemaSlice) -> list[Any]:
        """IEPile's `schema` value: names for NER/RE, `{event_type, trigger, arguments}` for EE."""
        if slice_.schema.kind is TaskKind.EE:
            return [
                {"event_type": event.name, "trigger": True, "arguments": list(event.roles)}
                for event in slice_.labels
            ]
        names = list(slice_.label_names)
        if slice_.schema.kind is TaskKind.CLASSIFICATION and slice_.offers_none:
            names.append(slice_.schema.none_label)  # type: ignore[union-attr]
        return names
