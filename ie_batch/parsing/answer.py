"""One answer, start to finish: JSON, records, offsets. The step the pipeline runs per prompt.

Kept apart from the pieces so that each of them stays testable alone, and so that the one place
where a JSON failure turns into an error record of its slice is easy to find.
"""

from __future__ import annotations

import dataclasses

from ie_batch.parsing.grounding import ground_records
from ie_batch.parsing.json_answer import extract_json
from ie_batch.parsing.proper_names import apply_proper_name_rule
from ie_batch.parsing.records import SliceRecords, records_from_answer
from ie_batch.schema.rotation import Anchor, SchemaSlice


def parse_answer(
    answer: str,
    slice: SchemaSlice,
    text: str,
    *,
    keep_ungrounded: bool = True,
    offset: int = 0,
) -> SliceRecords:
    """The grounded records of `slice` in the model's `answer` about `text`; never raises.

    An answer with no usable JSON gives no records and one error naming the slice. A truncated
    answer keeps its complete part and says so in an error, since it usually means the
    generation limit is too low for the slice.
    """
    found = extract_json(answer)
    if found.value is None:
        return SliceRecords(slice=slice, errors=[f"slice {slice.key}: {found.error}"])
    records = records_from_answer(found.value, slice)
    if found.truncated:
        records.errors.append(f"slice {slice.key}: the answer was cut off; kept its complete items")
    grounded = ground_records(records, text, keep_ungrounded=keep_ungrounded, offset=offset)
    if slice.stage == "subjects":  # found and grounded like entities, kept for the next stage
        anchors = [Anchor(e.type, e.text, e.start, e.end) for e in grounded.entities]
        return dataclasses.replace(grounded, entities=[], anchors=anchors)
    return apply_proper_name_rule(grounded, text)
