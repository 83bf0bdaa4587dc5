"""What the driver checks before Ray starts and before anything is cleared or written.

A job that cannot run must fail in seconds, naming what to fix, not after it has started an
engine or emptied a shard's results: its schemas resolve and have distinct names, its model is
where a local path says, its storage URLs carry no credentials, its classifiers predict
classification schemas it has, with their labels.
"""

from __future__ import annotations

from pathlib import Path

from ie_batch.classifiers import ClassifierDirError, read_card
from ie_batch.config import JobConfig
from ie_batch.engines.embedded_model import is_local_model_path
from ie_batch.io.storage import has_credentials, redact
from ie_batch.job.routing import load_job_schemas
from ie_batch.schema import AnySchema, ClassificationSchema


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
    schemas = load_job_schemas(config)  # raises SchemaError or DuplicateSchemaName, naming it
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
    check_classifiers(config, schemas)


def check_classifiers(config: JobConfig, schemas: list[AnySchema]) -> None:
    """Each `classifiers:` entry names a classification schema of the job and a folder whose
    encoder gives exactly that schema's labels, in its mode (one label, or several)."""
    by_name = {schema.name: schema for schema in schemas}
    for position, classifier in enumerate(config.classifiers):
        field = f"classifiers[{position}]"
        schema = by_name.get(classifier.schema_)
        if schema is None:
            raise JobCheckError(
                f"{field}.schema: {classifier.schema_!r} is not a schema of this job (it has "
                f"{', '.join(repr(name) for name in by_name)})"
            )
        if not isinstance(schema, ClassificationSchema):
            raise JobCheckError(
                f"{field}.schema: {schema.name!r} is a {schema.kind.value} schema; an encoder "
                "predicts classification schemas only"
            )
        try:
            card = read_card(classifier.path)
        except ClassifierDirError as exc:
            raise JobCheckError(f"{field}.path: {exc}") from None
        problem = card.mismatch(schema)
        if problem:
            raise JobCheckError(f"{field}: the encoder in {classifier.path} {problem}")
