"""(c) Ray Data LLM's own processor on the job's prompts: one row per prompt, regrouped per
document afterwards.

`ray.data.llm.build_processor` with a `vLLMEngineProcessorConfig` built from the job's engine
settings: the same vLLM engine arguments and CPU environment (`raw_vllm`), the prompts already
chat-templated (chat template stage off), the same sampling and JSON schema per row. By default
the processor tokenizes and detokenizes in its own CPU stages, as Ray Data LLM does unless told
otherwise; `stages=False` leaves both to the engine.

What CPU needs said explicitly (each of these, left at its default, stops the run here):
- Ray Data LLM asks one GPU per tensor-parallel rank for the engine actor unless a placement
  group config names other resources: here one bundle of `CPU: 1`, so no GPU is asked for;
- every CPU stage (pre/postprocess, tokenize, detokenize) reserves one CPU per task or actor by
  default; with the engine's CPU that is more than two cores hold, and the pipeline waits
  forever for a detokenize actor that cannot be placed: each gets `STAGE_CPUS`;
- the engine actor does not inherit the driver's environment, so the vLLM CPU variables go in
  its runtime environment.

Timing: the processor's rows carry how long each prompt spent in the engine stage
(`time_taken_llm`, from reaching the stage's semaphore to its answer); the postprocess stamps the
wall-clock time it sees each answer. From the first prompt's start to the last answer is the
mode's `seconds`; from the start of execution to the first prompt is its engine start (the
engine actor's start included). The rows carry no cached-token count, so the prefix-cache hit
rate is not available for this mode. The rows are regrouped per document in the driver once
all are back (outside the timed window, as the job's write is).
"""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from bench.throughput.figures import ModeFigures
from bench.throughput.raw_vllm import cpu_environment, engine_options
from ie_batch.config import EngineConfig

#: Rows per batch sent to the engine stage, and batches in flight on it: all of a small run's
#: prompts are in the engine at once, as in `LLM.generate`.
DEFAULT_BATCH_SIZE = 64
MAX_CONCURRENT_BATCHES = 8
#: CPUs each CPU stage's task or actor reserves (Ray's default, 1, does not fit two cores).
STAGE_CPUS = 0.25
#: A processor whose engine actor is never placed waits forever: give up after this.
DEFAULT_TIMEOUT_S = 1800.0


def processor_config(
    config: EngineConfig, batch_size: int = DEFAULT_BATCH_SIZE, stages: bool = True
) -> Any:
    """The `vLLMEngineProcessorConfig` equivalent to the job's engine on CPU; `stages`: Ray
    Data LLM's own tokenize and detokenize stages (its default) or none."""
    from ray.data.llm import vLLMEngineProcessorConfig

    options = engine_options(config)
    model = options.pop("model")
    stage = {"enabled": True, "num_cpus": STAGE_CPUS} if stages else False
    return vLLMEngineProcessorConfig(
        model_source=model,
        engine_kwargs=options,
        batch_size=batch_size,
        max_concurrent_batches=MAX_CONCURRENT_BATCHES,
        concurrency=1,
        chat_template_stage=False,
        tokenize_stage=stage,
        detokenize_stage=stage,
        log_engine_metrics=False,
        placement_group_config={"bundles": [{"CPU": 1}]},
        runtime_env={"env_vars": cpu_environment(config)},
    )


def _preprocess(temperature: float, max_tokens: int, structured: bool, stages: bool) -> Any:
    def preprocess(row: dict[str, Any]) -> dict[str, Any]:
        params: dict[str, Any] = {"temperature": temperature, "max_tokens": max_tokens}
        if stages:  # the detokenize stage makes the text
            params["detokenize"] = False
        if structured:  # a JSON string: rows of one column share one Arrow type
            params["structured_outputs"] = {"json": row["answer_schema_json"]}
        return {"prompt": row["text"], "sampling_params": params}

    return preprocess


def _postprocess(row: dict[str, Any]) -> dict[str, Any]:
    done = time.time()
    return {
        "document": row["document"],
        "prompt_tokens": int(row["num_input_tokens"]),
        "completion_tokens": int(row["num_generated_tokens"]),
        "started": done - float(row["time_taken_llm"]),
        "done": done,
        "answer": row.get("generated_text", ""),
    }


def run_processor(
    prompts: Sequence[dict[str, Any]],
    config: EngineConfig,
    documents: int,
    batch_size: int = DEFAULT_BATCH_SIZE,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    stages: bool = True,
) -> ModeFigures:
    """Run the processor over the prompts, regroup its rows per document. A failure, or a run
    that has not ended after `timeout_s`, is a mode marked unavailable with the reason."""
    started = time.perf_counter()
    try:
        rows, execution_started = _run(prompts, config, batch_size, timeout_s, stages)
    except Exception as exc:  # noqa: BLE001 - a mode that cannot run is a row of the table
        return ModeFigures(
            mode="c",
            documents=documents,
            unavailable=f"{type(exc).__name__}: {exc}".strip()[:2000],
            wall_s=time.perf_counter() - started,
        )
    per_document: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        per_document[row["document"]].append(row)
    first = min(row["started"] for row in rows)
    return ModeFigures(
        mode="c",
        documents=documents,  # documents with the same text share one group
        prompts=len(rows),
        prompt_tokens=sum(row["prompt_tokens"] for row in rows),
        completion_tokens=sum(row["completion_tokens"] for row in rows),
        cached_tokens=None,
        seconds=max(row["done"] for row in rows) - first,
        engine_start_s=first - execution_started,
        wall_s=time.perf_counter() - started,
        note=f"{len(per_document)} document groups; prefix-cache hits are not in "
        "ray.data.llm's output rows; "
        + ("tokenize/detokenize stages on" if stages else "the engine tokenizes/detokenizes"),
    )


def _run(
    prompts: Sequence[dict[str, Any]],
    config: EngineConfig,
    batch_size: int,
    timeout_s: float,
    stages: bool,
) -> tuple[list[dict[str, Any]], float]:
    """The processor's output rows, and the wall-clock time its execution started."""
    import ray.data
    from ray.data.llm import build_processor

    processor = build_processor(
        processor_config(config, batch_size, stages),
        preprocess=_preprocess(
            config.temperature, config.max_tokens, config.structured_outputs, stages
        ),
        postprocess=_postprocess,
        preprocess_map_kwargs={"num_cpus": STAGE_CPUS},
        postprocess_map_kwargs={"num_cpus": STAGE_CPUS},
    )
    items = [
        {
            "text": p["text"],
            "answer_schema_json": json.dumps(p["answer_schema"], ensure_ascii=False),
            "document": p["document"] or "?",
        }
        for p in prompts
    ]
    dataset = processor(ray.data.from_items(items))
    result: dict[str, Any] = {}

    def execute() -> None:
        try:
            result["rows"] = dataset.take_all()
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
            result["error"] = exc

    execution_started = time.time()
    worker = threading.Thread(target=execute, name="bench-ray-data-llm", daemon=True)
    worker.start()
    worker.join(timeout_s)
    if worker.is_alive():
        raise TimeoutError(
            f"the processor had not finished after {timeout_s:.0f} s (is one of its actors "
            "waiting for resources the cluster does not have?)"
        )
    if "error" in result:
        raise result["error"]
    return result["rows"], execution_started
