"""Answers -> typed records: find the JSON, read records per slice, ground spans, merge slices.

Pure Python and tolerant by design: model output never raises here, it becomes error records.
"""

from ie_batch.parsing.answer import parse_answer
from ie_batch.parsing.grounding import ground_records
from ie_batch.parsing.json_answer import JsonAnswer, extract_json
from ie_batch.parsing.merging import merge_slices
from ie_batch.parsing.records import PLACEHOLDERS, SliceRecords, is_placeholder, records_from_answer

__all__ = [
    "PLACEHOLDERS",
    "JsonAnswer",
    "SliceRecords",
    "extract_json",
    "ground_records",
    "is_placeholder",
    "merge_slices",
    "parse_answer",
    "records_from_answer",
]
