"""The proper-name rule: where a schema says its entity types are proper names, a mention written
in a cased script (Latin, Greek, Cyrillic, ...) carries at least one capital letter.

Small models asked for names also list common nouns ("trader", "police"), and no prompt wording
stops them; the capital letter is the one signal edited text gives for free. It is a schema's
choice (`proper_names: true`), not a default, because plenty of entity types are not names
(diseases, chemicals, job titles). It stays off for a text written without capitals (a lowercased
tweet, say).

Chinese has no capitals, so there the rule drops only what can never be a name: a pronoun
(他, 我们), a single character, or a mention holding a grammatical particle (的, 了, 着, 吗,
呢, 吧: "这个年近五十的汉子"). On 100 People's Daily dev sentences it drops 35 of 357 predicted
mentions and no correct one (precision 0.126 -> 0.140; bench/README.md).
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
    warnings = list(records.warnings)
    kept: list[Entity] = []
    lost: list[str] = []
    for entity in records.entities:
        if _uncapitalised(entity.text):
            lost.append(entity.text)
        else:
            kept.append(entity)
    # The text is scanned only when some mention would go: most answers lose nothing.
    if lost and _uses_capitals(text):
        warnings.append(
            f"slice {records.key}: dropped {len(lost)} mention(s) without a capital letter (the "
            f"schema's entity types are proper names): {listed(lost)}"
        )
    else:
        kept = list(records.entities)
    unsegmented = [entity for entity in kept if _never_a_chinese_name(entity.text)]
    if unsegmented:
        kept = [entity for entity in kept if not _never_a_chinese_name(entity.text)]
        warnings.append(
            f"slice {records.key}: dropped {len(unsegmented)} mention(s) that are a pronoun, one "
            "character or hold a grammatical particle (the schema's entity types are proper "
            f"names): {listed([entity.text for entity in unsegmented])}"
        )
    if len(kept) == len(records.entities):
        return records
    return dataclasses.replace(records, entities=kept, warnings=warnings)


#: Words that stand for a name without being one.
_CHINESE_PRONOUNS = frozenset(
    "他 她 它 我 你 您 我们 你们 他们 她们 它们 咱们 自己 大家 人们 本人 对方 双方 其 此".split()
)
#: Particles that mark grammar, not part of any name.
_CHINESE_PARTICLES = frozenset("的了着吗呢吧")


def _never_a_chinese_name(mention: str) -> bool:
    """A mention in Chinese script that cannot be a proper name (see the module docstring)."""
    if not any(_is_han(char) for char in mention):
        return False
    return (
        len(mention) < 2
        or mention in _CHINESE_PRONOUNS
        or any(char in _CHINESE_PARTICLES for char in mention)
    )


def _is_han(char: str) -> bool:
    return "\u4e00" <= char <= "\u9fff" or "\u3400" <= char <= "\u4dbf"


def _uses_capitals(text: str) -> bool:
    """Whether the text writes both capital and small letters, so capitals carry meaning."""
    return any(char.isupper() for char in text) and any(char.islower() for char in text)


def _uncapitalised(mention: str) -> bool:
    """Written in cased letters, none of them a capital ("trader"; not "iPhone", not "北京")."""
    return any(char.islower() for char in mention) and not any(char.isupper() for char in mention)
