"""`_job.json`: the configuration and fingerprint of the job that wrote an output folder.

`status` and `retry-errors` read it to know what the folder's shards were made with. Storage
options are left out: they may hold secrets.
"""

from __future__ import annotations

from datetime import UTC, datetime

from ie_batch.config import JobConfig
from ie_batch.io.layout import OutputLayout


def write_job_record(layout: OutputLayout, config: JobConfig, fingerprint: str) -> None:
    record = {
        "fingerprint": fingerprint,
        "config": config.model_dump(mode="json", by_alias=True, exclude={"storage": {"options"}}),
        "started_at": datetime.now(UTC).isoformat(),
    }
    layout.write_json(layout.job_record_path, record)


def read_job_config(layout: OutputLayout) -> JobConfig:
    record = layout.read_json(layout.job_record_path)
    if record is None:
        raise FileNotFoundError(f"{layout.job_record_path}: no ie_batch job wrote here")
    return JobConfig.model_validate(record["config"])
