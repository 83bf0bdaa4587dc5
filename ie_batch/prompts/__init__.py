"""Prompt formats: each renders a prompt for one (document, slice) and parses its answer."""

from ie_batch.prompts.answer_schema import answer_schema
from ie_batch.prompts.base import Example, Message, Prompt, PromptFormat
from ie_batch.prompts.document_first import DocumentFirstFormat
from ie_batch.prompts.entity_type import render_entity_type
from ie_batch.prompts.iepile import IEPileFormat

FORMATS: dict[str, type[PromptFormat]] = {
    DocumentFirstFormat.name: DocumentFirstFormat,
    IEPileFormat.name: IEPileFormat,
}
DEFAULT_FORMAT = DocumentFirstFormat.name


def get_format(name: str = DEFAULT_FORMAT) -> PromptFormat:
    """A prompt format by name, with an error that lists the known ones."""
    try:
        return FORMATS[name]()
    except KeyError:
        raise ValueError(
            f"unknown prompt format {name!r}; expected one of {', '.join(sorted(FORMATS))}"
        ) from None


__all__ = [
    "DEFAULT_FORMAT",
    "FORMATS",
    "DocumentFirstFormat",
    "Example",
    "IEPileFormat",
    "Message",
    "Prompt",
    "PromptFormat",
    "answer_schema",
    "get_format",
    "render_entity_type",
]
