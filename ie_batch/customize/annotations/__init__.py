"""Annotation tools' exports (doccano, Label Studio) as gold rows in ie_batch's result shapes,
checked against a schema: the first step of the customization loop."""

from ie_batch.customize.annotations.importing import (
    TOOLS,
    ImportReport,
    Tool,
    import_annotations,
    write_gold,
)
from ie_batch.customize.annotations.model import AnnotationError

__all__ = ["TOOLS", "AnnotationError", "ImportReport", "Tool", "import_annotations", "write_gold"]
