"""The Arrow types of the result columns, fixed so that every part of every shard agrees.

Inferred types would differ between a batch where nothing was found (`list<null>`) and one where
something was, and readers of the output would see a different schema per file.
"""

from __future__ import annotations

import pyarrow as pa

_OFFSET = pa.int64()

ENTITY = pa.struct(
    [("type", pa.string()), ("text", pa.string()), ("start", _OFFSET), ("end", _OFFSET)]
)
RELATION = pa.struct(
    [
        ("subject", pa.string()),
        ("relation", pa.string()),
        ("object", pa.string()),
        ("subject_start", _OFFSET),
        ("subject_end", _OFFSET),
        ("object_start", _OFFSET),
        ("object_end", _OFFSET),
    ]
)
ARGUMENT = pa.struct(
    [("role", pa.string()), ("text", pa.string()), ("start", _OFFSET), ("end", _OFFSET)]
)
EVENT = pa.struct(
    [
        ("type", pa.string()),
        ("trigger", pa.string()),
        ("trigger_start", _OFFSET),
        ("trigger_end", _OFFSET),
        ("arguments", pa.list_(ARGUMENT)),
    ]
)
LABEL = pa.struct([("label", pa.string()), ("score", pa.float64())])

RESULT_FIELDS: list[pa.Field] = [
    pa.field("id", pa.string()),
    pa.field("entities", pa.list_(ENTITY)),
    pa.field("relations", pa.list_(RELATION)),
    pa.field("events", pa.list_(EVENT)),
    pa.field("labels", pa.list_(LABEL)),
    pa.field("errors", pa.list_(pa.string())),
    pa.field("warnings", pa.list_(pa.string())),
    pa.field("prompt_tokens", pa.int64()),
    pa.field("completion_tokens", pa.int64()),
    pa.field("cached_prompt_tokens", pa.int64()),
]
RESULT_COLUMNS = [f.name for f in RESULT_FIELDS]
