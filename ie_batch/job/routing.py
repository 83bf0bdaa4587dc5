"""Which schemas a shard's rows are asked (and scored) on: `schemas[].shards` patterns."""

from __future__ import annotations

from collections.abc import Sequence

from ie_batch.config import JobConfig
from ie_batch.schema import AnySchema
from ie_batch.schema.catalog import resolve_schemas


def load_job_schemas(config: JobConfig) -> list[AnySchema]:
    """The job's schemas, resolved by the catalog (names, files), in the job file's order."""
    return resolve_schemas([ref.schema_ for ref in config.schemas])


class Routing:
    def __init__(self, config: JobConfig, schemas: Sequence[AnySchema]) -> None:
        self._refs = {schema.name: ref for schema, ref in zip(schemas, config.schemas, strict=True)}

    def schemas_for(self, shard: str | None) -> frozenset[str]:
        """The names of the schemas a row of `shard` is asked; all of them for no shard."""
        return frozenset(name for name, ref in self._refs.items() if ref.applies_to(shard))
