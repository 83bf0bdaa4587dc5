"""The Python entry points for notebooks and other programs.

`run` is the batch job over files (what `ie-batch run` and `jobs/extract.py` call); `extract`
takes a Ray Dataset a notebook already has and returns the lazily extracted Dataset, without
writing anything.
"""

from __future__ import annotations

from typing import Any

from ie_batch.config import (
    EngineConfig,
    InputConfig,
    JobConfig,
    PoolConfig,
    PromptConfig,
    StorageConfig,
)
from ie_batch.pipeline import JobReport, add_extraction, run_job
from ie_batch.stage import EVALUATION_COLUMN, SECONDS_COLUMN, EngineFactory
from ie_batch.stage import build_vllm_engine as _build_vllm_engine

__all__ = ["extract", "read_results", "run"]


def run(config: JobConfig, **kwargs: Any) -> JobReport:
    """Run the batch job described by `config` (see `ie_batch.config.JobConfig`)."""
    return run_job(config, **kwargs)


def extract(
    dataset: Any,
    schemas: list[str],
    *,
    text_column: str = "text",
    id_column: str = "id",
    engine: EngineConfig | None = None,
    pool: PoolConfig | None = None,
    prompt: PromptConfig | None = None,
    engine_factory: EngineFactory = _build_vllm_engine,
) -> Any:
    """`dataset` (a ray.data.Dataset with a text column) with the result columns added.

    Rows keep their columns; gold columns (entities, relations, events, label/labels) are renamed
    `gold_<name>` and scored into nothing here: use `ie_batch.metrics.evaluate_rows` on the result.
    """
    config = JobConfig(
        # This job reads no files and writes none: the dataset is the input, the caller the output.
        input=InputConfig(paths=["<dataset>"], text_column=text_column, id_column=id_column),
        schemas=schemas,
        output="<dataset>",
        engine=engine or EngineConfig(),
        pool=pool or PoolConfig(),
        prompt=prompt or PromptConfig(),
    )
    extracted = add_extraction(dataset, config, engine_factory)
    return extracted.drop_columns([EVALUATION_COLUMN, SECONDS_COLUMN])


def read_results(output: str, storage: StorageConfig | None = None) -> Any:
    """The result rows of the committed shards only, as one Arrow table: what a downstream
    reader should use instead of globbing `data/`, where a shard being published (or left by
    a crash mid-publish on an object store) can be incomplete."""
    import posixpath

    import pyarrow as pa
    import pyarrow.parquet as pq

    from ie_batch.io.manifest import Manifest
    from ie_batch.io.storage import open_filesystem
    from ie_batch.io.writing import data_dir

    fs, root = open_filesystem(output, storage)
    tables = []
    for entry in Manifest(fs, root).entries():
        for path in sorted(fs.glob(posixpath.join(data_dir(root, entry["name"]), "*.parquet"))):
            with fs.open(path, "rb") as handle:
                tables.append(pq.read_table(handle))
    return pa.concat_tables(tables, promote_options="default") if tables else pa.table({})
