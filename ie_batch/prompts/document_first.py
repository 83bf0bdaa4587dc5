"""The default format for general instruction-tuned models: the document first, then the slice.

Every slice of a document shares the same prompt prefix (system message + document), which is what
vLLM's prefix cache reuses; only the short task part after it differs. Label descriptions, when a
schema gives them, are shown next to each label: small models lean on them heavily.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from ie_batch.prompts.base import Example, Message, Prompt, PromptFormat
from ie_batch.schema import SchemaSlice, TaskKind

_SYSTEM = {
    "en": (
        "You extract structured information from text. Answer with one JSON object and nothing "
        "else. Copy every span exactly as it is written in the text; never invent one."
    ),
    "zh": "你负责从文本中抽取结构化信息。只用一个JSON对象回答。每个片段都必须从原文中原样复制，不要编造。",
}

_TASK = {
    ("en", TaskKind.NER): "Find the mentions of these entity types in the text:",
    ("en", TaskKind.RE): "Find the relations of these types stated in the text:",
    ("en", TaskKind.EE): "Find the events of these types in the text, with their trigger words "
    "and arguments:",
    ("en", TaskKind.CLASSIFICATION): "Classify the text. The possible labels are:",
    ("zh", TaskKind.NER): "找出文本中属于以下实体类型的片段：",
    ("zh", TaskKind.RE): "找出文本中表述的以下类型的关系：",
    ("zh", TaskKind.EE): "找出文本中以下类型的事件，以及它们的触发词和论元：",
    ("zh", TaskKind.CLASSIFICATION): "对文本进行分类。可选的标签有：",
}

_ANSWER = {
    (
        "en",
        TaskKind.NER,
    ): "Answer with a JSON object whose keys are exactly these types; each value "
    "lists the spans copied from the text (an empty list if there are none).",
    (
        "en",
        TaskKind.RE,
    ): "Answer with a JSON object whose keys are exactly these relations; each value "
    'lists {"subject": ..., "object": ...} pairs copied from the text (an empty list if none).',
    ("en", TaskKind.EE): "Answer with a JSON object whose keys are exactly these event types; each "
    'value lists {"trigger": ..., "arguments": {role: [spans]}} (an empty list if none).',
    (
        "zh",
        TaskKind.NER,
    ): "用JSON对象回答，键恰好是这些类型；每个值是从文本中复制的片段列表（没有则为空列表）。",
    (
        "zh",
        TaskKind.RE,
    ): '用JSON对象回答，键恰好是这些关系；每个值是从文本中复制的{"subject": ..., "object": ...}列表（没有则为空列表）。',
    (
        "zh",
        TaskKind.EE,
    ): '用JSON对象回答，键恰好是这些事件类型；每个值是{"trigger": ..., "arguments": {论元角色: [片段]}}的列表（没有则为空列表）。',
}

#: The question for a slice of one entity type (the default split): asked for "mentions", a small
#: model lists noun phrases, numbers and titles with the name; asked which *names* of the type
#: occur, with titles and surrounding words excluded, it lists fewer non-entities and finds more of
#: the gold names (bench/: on 50 CoNLL-2003 valid rows, before the run-off, tp 44 -> 54 with
#: 97 -> 76 predictions that are no entity at all).
_ONE_TYPE_QUESTION = {
    "en": 'Which names of the type "{name}"{description} occur in the text?\n'
    "A name is a proper noun, copied exactly as written, without titles, roles or other "
    "words around it.",
    "zh": "文本中出现了哪些“{name}”{description}类型的名称？\n"
    "照原文原样复制，不要带上头衔、职务或前后的其他词。",
}
_ONE_TYPE_ANSWER = {
    "en": 'Answer with {{"{name}": [names]}}; an empty list if there is none.',
    "zh": '用{{"{name}": [名称]}}回答；没有则为空列表。',
}

#: The staged questions (`prompts.staging`): short lists copied from the text, "none" easy.
_STAGE_QUESTION = {
    ("en", "triggers"): "Does the text report an event of one of these types? List each event it "
    "reports with its type and its trigger: the one word of the text that expresses the event "
    "(usually a verb or noun, not the phrase around it), copied exactly. An empty list when it "
    "reports none of these; most texts report at most one.",
    (
        "zh",
        "triggers",
    ): "文本报道了以下类型的事件吗？列出它报道的每个事件的类型和触发词：触发词是文本中"
    "表达该事件的那一个词（通常是两三个字的动词或名词，不是整个短语），照原文复制。没有报道这些类型的事件时"
    "给空列表；大多数文本至多报道一个事件。",
    ("en", "arguments"): 'The text reports a "{label}" event{description}, expressed by '
    '"{anchor}". Which spans of the text fill its roles?\nRoles: {roles}',
    ("zh", "arguments"): "文本报道了一个“{label}”事件{description}，触发词是“{anchor}”。"
    "文本中哪些片段是它的论元？\n论元角色：{roles}",
    ("en", "subjects"): "Which entities are the subject of these relations in the text? For each "
    "relation, list the subjects the text states it for, copied exactly; an empty list if none.",
    (
        "zh",
        "subjects",
    ): "文本中哪些实体是以下关系的主体？对每个关系，列出文本所述的主体，照原文复制；没有则为空列表。",
    ("en", "objects"): 'In the text, "{anchor}" is the subject of these relations. For each '
    "relation, list its objects, copied exactly; an empty list if the text does not state one.",
    (
        "zh",
        "objects",
    ): "在文本中，“{anchor}”是以下关系的主体。对每个关系，列出它的客体，照原文复制；"
    "文本没有说明则为空列表。",
}
_STAGE_ANSWER = {
    ("en", "triggers"): 'Answer with {"events": [{"type": ..., "trigger": ...}]}; an empty list '
    "if there is none.",
    (
        "zh",
        "triggers",
    ): '用{"events": [{"type": 事件类型, "trigger": 触发词}]}回答；没有则为空列表。',
    ("en", "arguments"): "Answer with a JSON object whose keys are exactly these roles; each "
    "value lists spans copied from the text (an empty list when the text does not say).",
    ("zh", "arguments"): "用JSON对象回答，键恰好是这些论元角色；每个值是从文本中复制的片段列表"
    "（文本没有提到则为空列表）。",
    ("en", "subjects"): "Answer with a JSON object whose keys are exactly these relations; each "
    "value lists subjects copied from the text.",
    ("zh", "subjects"): "用JSON对象回答，键恰好是这些关系；每个值是从文本中复制的主体列表。",
    ("en", "objects"): "Answer with a JSON object whose keys are exactly these relations; each "
    "value lists objects copied from the text.",
    ("zh", "objects"): "用JSON对象回答，键恰好是这些关系；每个值是从文本中复制的客体列表。",
}

TEXT_HEADER = {"en": "Text:", "zh": "文本："}


def text_prefix_chars(language: str, text: str) -> int:
    """The length of the user message's opening that every prompt of a document shares: the
    header, the text and the blank line after it ("Text:\n{text}\n\n")."""
    return len(TEXT_HEADER[language]) + len(text) + 3


_EXAMPLES_HEADER = {"en": "Solved examples:", "zh": "示例："}
_ANSWER_HEADER = {"en": "Answer:", "zh": "答案："}


class DocumentFirstFormat(PromptFormat):
    name = "document_first"
    #: One entity type per NER prompt: asked for four types at once, the embedded 0.5B model finds
    #: about a third of the CoNLL-2003 entities it finds when asked for each type alone (bench/).
    #: Prompts of one document share its prefix, so the extra slices cost mostly their answers.
    #: Classes per classification prompt, the winners meeting in a run-off: given all ten
    #: THUCNews topics at once the embedded model names the first few of the list for most titles
    #: (accuracy 0.26 on 100 dev titles); in slices of 3 with a run-off, 0.46 (5: 0.36, 2: 0.46).
    default_split_num = {TaskKind.NER: 1, TaskKind.CLASSIFICATION: 3}
    stages = frozenset({TaskKind.EE, TaskKind.RE})
    #: Event types per trigger prompt. Each slice is inclined to name one of its own types, so
    #: fewer, wider slices invent fewer events; but all of DuEE's 65 types at once lose the right
    #: ones (bench/, 24 DuEE dev rows: trigger F1 0.10 with 16 per slice, 0.04 with 65).
    staged_split_num = {TaskKind.EE: 16}

    def render(self, text: str, slice_: SchemaSlice, examples: Sequence[Example] = ()) -> Prompt:
        language = slice_.schema.language
        examples = self.usable_examples(examples, slice_)
        parts = [TEXT_HEADER[language], text, ""]
        if examples:
            parts.append(_EXAMPLES_HEADER[language])
            for example in examples:
                answer = json.dumps(self.example_answer(example.result, slice_), ensure_ascii=False)
                parts += [
                    f"{TEXT_HEADER[language]} {example.text}",
                    f"{_ANSWER_HEADER[language]} {answer}",
                ]
            parts.append("")
        if slice_.stage != "whole":
            parts += self._stage_question(slice_)
        elif slice_.schema.kind is TaskKind.NER and len(slice_.labels) == 1:
            parts += self._one_type_question(slice_)
        else:
            parts.append(_TASK[language, slice_.schema.kind])
            parts += [self.label_line(label, slice_) for label in slice_.labels]
            parts.append(self._answer_instruction(slice_))
        messages = (Message("system", _SYSTEM[language]), Message("user", "\n".join(parts)))
        return Prompt(
            messages=messages,
            answer_schema=self.answer_schema(slice_, len(text)),
            slice=slice_,
            shared_prefix_chars=text_prefix_chars(language, text),
        )

    @staticmethod
    def _one_type_question(slice_: SchemaSlice) -> list[str]:
        language = slice_.schema.language
        (label,) = slice_.labels
        description = ""
        if label.description:
            description = (
                f" ({label.description})" if language == "en" else f"（{label.description}）"
            )
        return [
            _ONE_TYPE_QUESTION[language].format(name=label.name, description=description),
            _ONE_TYPE_ANSWER[language].format(name=label.name),
        ]

    @classmethod
    def _stage_question(cls, slice_: SchemaSlice) -> list[str]:
        language = slice_.schema.language
        question = _STAGE_QUESTION[language, slice_.stage]
        lines = []
        if slice_.stage == "arguments":
            (event,) = slice_.labels
            description = ""
            if event.description:
                description = (
                    f" ({event.description})" if language == "en" else f"（{event.description}）"
                )
            roles = (", " if language == "en" else "、").join(event.roles)
            anchor = slice_.anchor.text if slice_.anchor else ""
            lines.append(
                question.format(
                    label=event.name, description=description, anchor=anchor, roles=roles
                )
            )
        else:
            lines.append(question.format(anchor=slice_.anchor.text if slice_.anchor else ""))
            lines += [cls.label_line(label, slice_, roles=False) for label in slice_.labels]
        lines.append(_STAGE_ANSWER[language, slice_.stage])
        return lines

    @staticmethod
    def label_line(label: object, slice_: SchemaSlice, roles: bool = True) -> str:
        """`- name: description`, with an event's roles (unless `roles` is False: a trigger
        question that lists roles invites the model to fill them) or a relation's subject and
        object types."""
        name = label.name
        description = getattr(label, "description", None)
        line = f"- {name}: {description}" if description else f"- {name}"
        roles = getattr(label, "roles", ()) if roles else ()
        if roles:
            line += (" (roles: " if slice_.schema.language == "en" else "（论元：") + ", ".join(
                roles
            )
            line += ")" if slice_.schema.language == "en" else "）"
        subject_types = getattr(label, "subject_types", ())
        if subject_types:
            joined = ", ".join(subject_types)
            line += (
                f" (subject is a {joined})"
                if slice_.schema.language == "en"
                else f"（主体为{joined}）"
            )
        object_types = getattr(label, "object_types", ())
        if object_types:
            joined = ", ".join(object_types)
            line += (
                f" (object is a {joined})"
                if slice_.schema.language == "en"
                else f"（客体为{joined}）"
            )
        return line

    @staticmethod
    def _answer_instruction(slice_: SchemaSlice) -> str:
        schema = slice_.schema
        language = schema.language
        if schema.kind is not TaskKind.CLASSIFICATION:
            return _ANSWER[language, schema.kind]
        none = schema.none_label if slice_.offers_none else ""  # type: ignore[union-attr]
        if schema.multi_label:  # type: ignore[union-attr]
            if language == "zh":
                return '用{"labels": [...]}回答，列出所有适用的标签' + (
                    f'；都不适用时回答["{none}"]。' if none else "。"
                )
            return 'Answer with {"labels": [...]} listing every label that applies' + (
                f'; answer ["{none}"] if none applies.' if none else "."
            )
        if language == "zh":
            return '用{"label": ...}回答，给出最合适的一个标签' + (
                f'；都不合适时回答"{none}"。' if none else "。"
            )
        return 'Answer with {"label": ...} naming the one best label' + (
            f'; answer "{none}" if none fits.' if none else "."
        )
