"""The fingerprint: what a shard's results were made from, so a rerun redoes exactly the shards
whose results would differ.

It covers, by content, what changes a result:

- the schemas (each file's text);
- the model: an embedded model by its pinned GGUF sha256, a local checkpoint by the bytes of its
  files, a Hugging Face id by the id (and `engine_kwargs.revision` when given; the hub is not
  asked, so pin a revision where the model behind an id may change);
- the LoRA adapter by the bytes of its files, and the few-shot examples file by its bytes (only
  when `few_shot_k` > 0: unused examples change nothing);
- each of `classifiers` by the schema it predicts and the bytes of its encoder folder (not its
  `batch_size`, which only changes speed);
- every other setting of `engine` (context length, answer cap, sampling, structured outputs,
  dtype, quantization, `engine_kwargs`), of `prompt`, and the input's text and id columns;
- with `engine.kind: openai`, the served model by its name (the server is not asked: serve a
  versioned name where the model behind a name may change) and the tokenizer that counts
  prompt tokens (it sizes the windows a long text is cut into).

It leaves out what only changes where or how fast a job runs: input paths and `limit`, the
output, `ray_address`, `pool`, `storage`, `write`, and the engine's memory and scheduling settings
(`gpu_memory_utilization`, `cpu_kv_cache_gib`, `tensor_parallel_size`, `enforce_eager`,
`enable_prefix_caching`) and, for a server, where it is and how hard it is pushed (`base_url`,
`api_key_env`, concurrency, timeouts, retries, rate). Changing those never reprocesses a lake.

Outputs written before fingerprints were taken by content carry the legacy fingerprint (the
whole configuration minus paths, pool and storage, with schemas by text). A legacy marker is
still accepted when the configuration names no file that the legacy fingerprint took by path (no
local model, adapter or used examples file), since then both mean the same results; otherwise the
shard is processed once more and its results replaced.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from ie_batch.config import JobConfig
from ie_batch.engines.embedded_model import cache_root, embedded_identity, is_local_model_path
from ie_batch.io.digest import content_digest
from ie_batch.schema.catalog import schema_text

#: Engine settings that change memory use or speed, never an answer.
ENGINE_RUNTIME_FIELDS = frozenset(
    {
        "gpu_memory_utilization",
        "cpu_kv_cache_gib",
        "tensor_parallel_size",
        "enforce_eager",
        "enable_prefix_caching",
    }
)
#: Where an OpenAI-compatible server is and how hard it is pushed, never an answer: the same
#: served model behind another URL, key or rate limit answers the same.
ENGINE_SERVER_FIELDS = frozenset(
    {
        "base_url",
        "api_key_env",
        "max_concurrent_requests",
        "request_timeout_s",
        "max_retries",
        "retry_backoff_s",
        "retry_backoff_max_s",
        "max_requests_per_second",
    }
)
#: Where and how fast a job runs: never part of a fingerprint.
_PLACEMENT: dict[str, Any] = {
    "input": {"paths", "limit"},
    "output": True,
    "ray_address": True,
    "pool": True,
    "storage": True,
    "write": True,
}
#: Fields taken by content below rather than by the path they hold (`classifiers` only when
#: there are some, so the fingerprints of jobs without any stay what they were).
_BY_CONTENT = {
    "engine": {"model", "lora_adapter", "tokenizer"},
    "prompt": {"examples"},
    "classifiers": True,
}


@dataclass(frozen=True)
class Fingerprint:
    """The fingerprint new commits are written with, and a legacy one a marker may carry."""

    value: str
    legacy: str | None = None

    def accepts(self, recorded: object) -> bool:
        return recorded == self.value or (self.legacy is not None and recorded == self.legacy)


def fingerprint_of(config: JobConfig) -> Fingerprint:
    return Fingerprint(_content_fingerprint(config), _legacy_fingerprint(config))


def _content_fingerprint(config: JobConfig) -> str:
    engine_excluded = ENGINE_RUNTIME_FIELDS | ENGINE_SERVER_FIELDS | _BY_CONTENT["engine"]
    relevant = config.model_dump(
        mode="json",
        exclude={
            **_PLACEMENT,
            "engine": engine_excluded,
            "prompt": _BY_CONTENT["prompt"],
            "classifiers": True,
        },
    )
    examples = config.prompt.examples if config.prompt.few_shot_k else None
    served = config.engine.kind == "openai"
    relevant["contents"] = {
        "schemas": [schema_text(ref.schema_) for ref in config.schemas],
        # a served model is known by the name its server gives it (no file here to hash)
        "model": config.engine.model if served else model_identity(config.engine.model),
        "lora_adapter": _digest(config.engine.lora_adapter),
        "examples": _digest(examples),
    }
    if config.classifiers:  # which schema each encoder predicts, the encoder by its files
        relevant["contents"]["classifiers"] = [
            {"schema": classifier.schema_, "encoder": _digest(classifier.path)}
            for classifier in config.classifiers
        ]
    if served:  # the tokenizer sizes the windows a long text is cut into
        tokenizer = config.engine.tokenizer
        relevant["contents"]["tokenizer"] = model_identity(tokenizer) if tokenizer else None
    return _hash(relevant)


def model_identity(model: str) -> str:
    """The model a name stands for, by content where the content is at hand."""
    embedded = embedded_identity(model)
    if embedded is not None:
        return embedded
    if is_local_model_path(model):
        return f"sha256:{_digest(model)}"
    return model


def _digest(path: str | None) -> str | None:
    return content_digest(path, cache_root()) if path else None


def _legacy_fingerprint(config: JobConfig) -> str | None:
    """The fingerprint versions before content hashing wrote, when it means the same results."""
    takes_paths = (
        config.engine.kind != "vllm"  # no other kind existed then
        or is_local_model_path(config.engine.model)
        or config.engine.lora_adapter
        or (config.prompt.examples and config.prompt.few_shot_k)
        or config.classifiers
    )
    if takes_paths:
        return None
    # `write` did not exist then, nor `prompt.staged_extraction` (the old one-step answers), nor
    # the engine's fields for servers
    exclude = {
        **_PLACEMENT,
        "prompt": {"staged_extraction"},
        "engine": ENGINE_SERVER_FIELDS | {"tokenizer"},
        "classifiers": True,
    }
    relevant = config.model_dump(mode="json", exclude=exclude)
    relevant["schema_contents"] = [schema_text(ref.schema_) for ref in config.schemas]
    return _hash(relevant)


def _hash(relevant: dict[str, Any]) -> str:
    blob = json.dumps(relevant, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]
