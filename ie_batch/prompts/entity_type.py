"""The entity-type run-off: one mention that several slices claimed, the schema's types, pick one.

Every format asks it the same way: no instruction-tuning corpus has a prompt for this question,
and a plain one works for any chat model. The text comes first, as in `document_first`, so the
question shares the document's cached prefix with the slices asked before it.
"""

from __future__ import annotations

from ie_batch.prompts.answer_schema import answer_schema
from ie_batch.prompts.base import Message, Prompt
from ie_batch.prompts.document_first import TEXT_HEADER, DocumentFirstFormat, text_prefix_chars
from ie_batch.schema import SchemaSlice
from ie_batch.schema.model import not_an_entity

_SYSTEM = {
    "en": "You classify mentions of named entities. Answer with one JSON object and nothing else.",
    "zh": "你负责判断实体提及的类型。只用一个JSON对象回答。",
}
_QUESTION = {
    "en": 'In this text, which type is "{span}"?',
    "zh": "在这段文本中，“{span}”属于哪种类型？",
}
_ANSWER = {
    "en": 'Answer with {"type": ...} naming the one type that fits.',
    "zh": '用{"type": ...}回答，给出最合适的一个类型。',
}
_CHECK_ANSWER = {
    "en": 'Answer with {"type": ...} naming the one type that fits, or "{none}" if it is not a '
    "name of any of these types.",
    "zh": '用{"type": ...}回答，给出最合适的一个类型；如果它不是这些类型的名称，回答“{none}”。',
}


def render_entity_type(text: str, slice_: SchemaSlice) -> Prompt:
    """The run-off prompt for `slice_.span` in `text`, with the candidates' descriptions."""
    if slice_.span is None:
        raise ValueError(f"slice {slice_.key} is not an entity-type run-off (it has no span)")
    language = slice_.schema.language
    lines = [TEXT_HEADER[language], text, "", _QUESTION[language].format(span=slice_.span)]
    lines += [DocumentFirstFormat.label_line(label, slice_) for label in slice_.labels]
    if slice_.offers_none:
        none = not_an_entity(language)
        lines.append(_CHECK_ANSWER[language].replace("{none}", none))
    else:
        lines.append(_ANSWER[language])
    messages = (Message("system", _SYSTEM[language]), Message("user", "\n".join(lines)))
    return Prompt(
        messages=messages,
        answer_schema=answer_schema(slice_, text_chars=len(text)),
        slice=slice_,
        shared_prefix_chars=text_prefix_chars(language, text),
    )
