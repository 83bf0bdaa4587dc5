"""The online endpoint: the batch job's schemas, prompts, parsing and grounding over HTTP, on Ray Serve.

    serve run ie_batch.serve.app:app                  # embedded model, CPU, one replica
    serve run ie_batch.serve.app:app_builder model=Qwen/Qwen2.5-7B-Instruct num_gpus=1 \\
        num_replicas=2 engine.max_model_len=4096 limits.max_texts=32
    serve run ie_batch.serve.app:app_builder model=Qwen/Qwen2.5-7B-Instruct num_gpus=1 \\
        autoscaling.min_replicas=1 autoscaling.max_replicas=4   # replicas follow the load

    POST /v1/extract   {"texts": [...], "schema": "news_ner_en" | {inline schema},
                        "schemas": [...]}   (either or both)
        -> {"results": [{id, entities, relations, events, labels, errors}, ...],
            "model": ..., "usage": {"prompt_tokens": ..., "completion_tokens": ...}}
    GET  /v1/schemas   the schemas served by name
    GET  /healthz      200 while the replica's engine is alive, else 503

Each replica starts one async vLLM engine and runs every request through `BatchExtractor`, like
an actor of the batch job: requests in flight on a replica share its engine, whose scheduler
interleaves them. Requests are checked (`ie_batch.serve.requests`) before any engine time is
spent; a refused one gets a 4xx status and `{"detail": "<what to fix>"}` (a 413 also
`"limit": {"name", "value"}`). Serve calls each replica's `check_health`, which asks the engine:
a replica whose engine died fails it and is replaced.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from ray import serve

from ie_batch import __version__
from ie_batch.config import EngineConfig, PromptConfig
from ie_batch.engines.base import EngineDead
from ie_batch.engines.factory import EngineFactory, build_engine
from ie_batch.extraction.extractor import BatchExtractor, ExtractionSettings
from ie_batch.extraction.texts import extract_texts
from ie_batch.prompts import get_format
from ie_batch.prompts.few_shot import load_few_shot
from ie_batch.serve.requests import (
    ExtractRequest,
    RequestError,
    SchemaCatalog,
    decode_body,
    parse_extract_request,
    read_body,
)
from ie_batch.serve.settings import (
    Autoscaling,
    DeploymentSettings,
    Limits,
    ServiceConfig,
    settings_from_args,
)

__all__ = ["ExtractionReplica", "ExtractionService", "api", "app", "app_builder", "build_app"]

api = FastAPI(
    title="ie_batch",
    version=__version__,
    description="Schema-driven entity, relation, event and class-label extraction.",
)


@api.exception_handler(RequestError)
async def _refused(request: Request, exc: RequestError) -> JSONResponse:
    return JSONResponse(status_code=exc.status, content=exc.content())


@api.exception_handler(EngineDead)
async def _engine_dead(request: Request, exc: EngineDead) -> JSONResponse:
    # Not the request's fault: the next health check fails and Serve replaces the replica.
    return JSONResponse(
        status_code=503,
        content={"detail": "this replica's engine died and the replica is being replaced; retry"},
    )


_EXTRACT_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": ExtractRequest.model_json_schema()}},
    }
}


class ExtractionReplica:
    """One replica: one engine, the served schemas, and the request checks. Plain Python, so
    tests construct it with a fake engine; `ExtractionService` is it as a Serve deployment."""

    async def __init__(
        self, config: ServiceConfig, engine_factory: EngineFactory | None = None
    ) -> None:
        self.config = config
        self.catalog = SchemaCatalog.load(config.schemas)
        self.format = get_format(config.prompt.format)
        self.examples = load_few_shot(config.prompt.examples, config.prompt.few_shot_k)
        factory = engine_factory or build_engine
        # Built inside the replica's event loop, which vLLM's async engine binds to.
        self.engine = factory(config.engine, config.num_gpus)

    @api.post("/v1/extract", openapi_extra=_EXTRACT_BODY)
    async def extract(self, request: Request) -> dict[str, Any]:
        limits = self.config.limits
        raw = await read_body(request.stream(), request.headers.get("content-length"), limits)
        call = parse_extract_request(
            decode_body(raw), limits, self.catalog, self.format, self.config.prompt.label_order
        )
        settings = ExtractionSettings.from_prompt(self.config.prompt, call.schemas, self.examples)
        extractor = BatchExtractor(call.schemas, self.engine, self.format, settings)
        results = await extract_texts(extractor, call.texts, batch_size=self.config.batch_size)
        return {
            "results": results.rows,
            "model": self.config.engine.model,
            "usage": {
                "prompt_tokens": results.prompt_tokens,
                "completion_tokens": results.completion_tokens,
            },
        }

    @api.get("/v1/schemas")
    async def schemas(self) -> dict[str, Any]:
        return {"schemas": self.catalog.describe()}

    @api.get("/healthz")
    async def healthz(self) -> JSONResponse:
        """200 while the engine answers its health check, else 503 (what a load balancer or a
        probe in front of Serve needs; Serve itself calls `check_health`)."""
        model = self.config.engine.model
        try:
            await self.engine.check_health()
        except Exception as exc:  # noqa: BLE001 - any failure of the check: not healthy
            detail = f"the engine is dead: {exc}"
            return JSONResponse(
                status_code=503, content={"status": "unhealthy", "model": model, "detail": detail}
            )
        return JSONResponse({"status": "ok", "model": model})

    async def check_health(self) -> None:
        """Serve calls this every `health_check_period_s`: raising (`EngineDead` once vLLM's
        engine core is gone) marks the replica unhealthy, and Serve replaces it."""
        await self.engine.check_health()

    def __del__(self) -> None:
        engine = self.__dict__.pop("engine", None)
        if engine is not None:
            engine.shutdown()


#: The replica as a Serve deployment with the FastAPI routes; `build_app` binds it.
ExtractionService = serve.deployment(serve.ingress(api)(ExtractionReplica))


def build_app(
    engine: EngineConfig | Mapping[str, Any] | None = None,
    *,
    prompt: PromptConfig | Mapping[str, Any] | None = None,
    limits: Limits | Mapping[str, Any] | None = None,
    schemas: Sequence[str] = (),
    batch_size: int = 16,
    num_replicas: int | None = None,
    autoscaling: Autoscaling | Mapping[str, Any] | None = None,
    ray_actor_options: Mapping[str, Any] | None = None,
    max_ongoing_requests: int | None = None,
    engine_factory: EngineFactory | None = None,
) -> serve.Application:
    """The endpoint as a Serve application, for `serve.run(build_app(...))`.

    `engine`, `prompt` and `limits` take their config objects or mappings of their fields;
    `schemas` adds schema files served by name. `num_replicas` fixes the replicas (default 1);
    `autoscaling` (an `Autoscaling` or a mapping of its fields, at least `max_replicas`) lets
    Serve choose between its bounds instead. `ray_actor_options` are each replica's resources
    (default one CPU; `{"num_gpus": 1}` runs its engine on a GPU). `engine_factory` builds the
    engine in each replica (default: vLLM); it must pickle.
    """
    options = {"num_cpus": 1, **(ray_actor_options or {})}
    config = ServiceConfig(
        engine=EngineConfig.model_validate({} if engine is None else engine),
        prompt=PromptConfig.model_validate({} if prompt is None else prompt),
        limits=Limits.model_validate({} if limits is None else limits),
        schemas=tuple(map(str, schemas)),
        num_gpus=options.get("num_gpus") or 0,
        batch_size=batch_size,
    )
    replicas: dict[str, Any] = {}
    if num_replicas is not None:
        replicas["num_replicas"] = num_replicas
    if autoscaling is not None:
        replicas["autoscaling"] = Autoscaling.model_validate(autoscaling)
    deployment = DeploymentSettings(
        **replicas, num_cpus=options["num_cpus"], max_ongoing_requests=max_ongoing_requests
    )
    return _bind(config, deployment, options, engine_factory)


def app_builder(args: dict[str, Any]) -> serve.Application:
    """For `serve run ie_batch.serve.app:app_builder key=value ...` (see `AppArgs`)."""
    config, deployment = settings_from_args(args)
    options = {"num_cpus": deployment.num_cpus}
    if config.num_gpus:
        options["num_gpus"] = config.num_gpus
    return _bind(config, deployment, options, None)


def _bind(
    config: ServiceConfig,
    deployment: DeploymentSettings,
    ray_actor_options: dict[str, Any],
    engine_factory: EngineFactory | None,
) -> serve.Application:
    extra: dict[str, Any] = {}
    if deployment.max_ongoing_requests is not None:
        extra["max_ongoing_requests"] = deployment.max_ongoing_requests
    if deployment.autoscaling is not None:
        extra["autoscaling_config"] = deployment.autoscaling.serve_config()
    else:
        extra["num_replicas"] = deployment.num_replicas
    return ExtractionService.options(
        name=deployment.name, ray_actor_options=ray_actor_options, **extra
    ).bind(config, engine_factory)


#: `serve run ie_batch.serve.app:app`: the defaults (embedded model, CPU, one replica).
app = build_app()
