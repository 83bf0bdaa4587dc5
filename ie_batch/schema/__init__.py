"""Schemas: the task model, schema files, and rotation of label sets into prompt-sized slices."""

from ie_batch.schema.loading import SchemaError, load_schema, schema_from_data
from ie_batch.schema.model import (
    DEFAULT_SPLIT_NUM,
    AnySchema,
    ClassificationSchema,
    EeSchema,
    EventSpec,
    LabelSpec,
    NerSchema,
    RelationSpec,
    ReSchema,
    TaskKind,
)
from ie_batch.schema.rotation import (
    Anchor,
    SchemaSlice,
    Stage,
    entity_type_slice,
    final_round_slice,
    rotate,
    split_labels,
)

__all__ = [
    "DEFAULT_SPLIT_NUM",
    "Anchor",
    "AnySchema",
    "ClassificationSchema",
    "EeSchema",
    "EventSpec",
    "LabelSpec",
    "NerSchema",
    "ReSchema",
    "RelationSpec",
    "SchemaError",
    "SchemaSlice",
    "Stage",
    "TaskKind",
    "entity_type_slice",
    "final_round_slice",
    "load_schema",
    "rotate",
    "schema_from_data",
    "split_labels",
]
