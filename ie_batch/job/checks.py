"""What the driver checks before Ray starts and before anything is cleared or written.

A job that cannot run must fail in seconds, naming what to fix, not after it has started an
engine or emptied a shard's results: its schemas resolve and have distinct names, its model is
where a local path says, its storage URLs carry no credentials.
"""

from __future__ import annotations

from pathlib import Path

from ie_batch.config import JobConfig
from ie_batch.engines.embedded_model import is_local_model_path
from ie_batch.io.storage import has_credentials, redact
from ie_batch.job.routing import load_job_schemas


class JobCheckError(ValueError):
    """A job that cannot run as configured; the message names the field and the fix."""


def check_job(config: JobConfig) -> None:
    for field, url in [
        *((f"input.paths[{i}]", path) for i, path in enumerate(config.input.paths)),
        ("output", config.output),
        ("storage.endpoint_url", config.storage.endpoint_url or ""),
    ]:
        if has_credentials(url):
            raise JobCheckError(
                f"{field}: a URL with credentials in it ({redact(url)}); give them in the "
                "environment instead (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, AWS_PROFILE, "
                "or an instance role), so they reach no log, output or manifest"
            )
    load_job_schemas(config)  # raises SchemaError or DuplicateSchemaName, naming the schema
    model = config.engine.model
    served = config.engine.kind == "openai"  # a name the server knows, not a path here
    if not served and is_local_model_path(model) and not Path(model).expanduser().exists():
        raise JobCheckError(f"engine.model: {model}: no such file or folder")
    for field, path in [
        ("engine.lora_adapter", config.engine.lora_adapter),
        ("prompt.examples", config.prompt.examples if config.prompt.few_shot_k else None),
    ]:
        if path and not Path(path).expanduser().exists():
            raise JobCheckError(f"{field}: {path}: no such file or folder")
