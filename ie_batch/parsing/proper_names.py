"""The proper-name rule: where a schema says its entity types are proper names, a mention written
in a cased script (Latin, Greek, Cyrillic, ...) carries at least one capital letter.

Small models asked for names also list common nouns ("trader", "police"), and no prompt wording
stops them; the capital letter is the one signal edited text gives for free. It is a schema's
choice (`proper_names: true`), not a default, because plenty of entity types are not names
(diseases, chemicals, job titles). It stays off for a text written without capitals (a lowercased
tweet, say), and a mention with no cased letters at all (Chinese, a number) is never touched.
"""

from __future__ import annotations

import dataclasses

from ie_batch.parsing.records import SliceRecords, listed
from ie_batch.results import Entity
from ie_batch.schema.model import NerSchema


def apply_proper_name_rule(records: SliceRecords, text: str) -> SliceRecords:
    """`records` without the entity mentions that cannot be proper names; a warning lists them."""
    schema = records.schema
    if not (isinstance(schema, NerSchema) and schema.proper_names):
        return records
    kept: list[Entity] = []
    lost: list[str] = []
    for entity in records.entities:
        if _uncapitalised(entity.text):
            lost.append(entity.text)
        else:
            kept.append(entity)
    # The text is scanned only when some mention would go: most answers lose nothing.
    if not lost or not _uses_capitals(text):
        return records
    warning = (
        f"slice {records.key}: dropped {len(lost)} mention(s) without a capital letter (the "
        f"schema's entity types are proper names): {listed(lost)}"
    )
    return dataclasses.replace(records, entities=kept, warnings=[*records.warnings, warning])


def _uses_capitals(text: str) -> bool:
    """Whether the text writes both capital and small letters, so capitals carry meaning."""
    return any(char.isupper() for char in text) and any(char.islower() for char in text)


def _uncapitalised(mention: str) -> bool:
    """Written in cased letters, none of them a capital ("trader"; not "iPhone", not "北京")."""
    return any(char.islower() for char in mention) and not any(char.isupper() for char in mention)
