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
from ie_batch.engines.factory import EngineFactory, build_engine
from ie_batch.io.layout import OutputLayout
from ie_batch.io.manifest import Manifest
from ie_batch.io.writing import read_parquet
from ie_batch.job.columns import STAGE_COLUMNS
from ie_batch.job.plan import add_extraction
from ie_batch.job.run import JobReport, run_job
from ie_batch.job.scoring import Scorer
from ie_batch.job.write_stage import score_rows

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
    engine_factory: EngineFactory = build_engine,
) -> Any:
    """`dataset` (a ray.data.Dataset with a text column) with the result columns added.

    Rows keep their columns; gold columns (entities, relations, events, label/labels) are renamed
    `gold_<name>`, checked as the job checks them (a bad one adds an error to its row), and
    scored into nothing here: use `ie_batch.metrics.evaluate_rows` on the result.
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
    return extracted.map_batches(
        _checked_gold, fn_kwargs={"config": config}, batch_format="pyarrow", batch_size=None
    )


def _checked_gold(batch: Any, config: JobConfig) -> Any:
    checked, _ = score_rows(batch, Scorer.for_config(config))
    return checked.drop_columns([name for name in STAGE_COLUMNS if name in checked.column_names])


def read_results(output: str, storage: StorageConfig | None = None) -> Any:
    """The result rows of the committed shards only, as one Arrow table: what a downstream
    reader should use instead of globbing `data/`, where a shard being published (or left by
    a crash mid-publish on an object store) can be incomplete. A pass-through column whose type
    differs between shards (a number in one file, text in another) comes back as JSON text."""
    layout = OutputLayout.open(output, storage)
    tables = [
        read_parquet(layout.fs, path)
        for entry in Manifest(layout).entries()
        for path in layout.data_parts(entry["name"])
    ]
    return _concatenated(tables)


def _concatenated(tables: list[Any]) -> Any:
    import json

    import pyarrow as pa

    if not tables:
        return pa.table({})
    try:
        return pa.concat_tables(tables, promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        pass
    types: dict[str, set[Any]] = {}
    for table in tables:
        for field in table.schema:
            types.setdefault(field.name, set()).add(field.type)
    clashing = {name for name, kinds in types.items() if len(kinds - {pa.null()}) > 1}

    def as_json(table: Any) -> Any:
        for name in clashing & set(table.column_names):
            values = [
                None if value is None else json.dumps(value, ensure_ascii=False, default=str)
                for value in table.column(name).to_pylist()
            ]
            table = table.set_column(
                table.column_names.index(name), name, pa.array(values, pa.string())
            )
        return table

    return pa.concat_tables([as_json(t) for t in tables], promote_options="permissive")
