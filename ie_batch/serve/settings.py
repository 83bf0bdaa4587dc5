"""How the endpoint is configured: what each replica runs, and how Serve deploys it.

Plain pydantic (no Ray): `ServiceConfig` is what a replica receives, `Limits` the part of it that
bounds one request; `DeploymentSettings` is what `build_app` turns into Serve deployment options;
`settings_from_args` reads the flat string arguments of `serve run ie_batch.serve.app:app_builder
key=value ...` (or the `args:` mapping of a Serve config file) into both.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ie_batch.config import EngineConfig, PromptConfig


class _Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Limits(_Settings):
    """How much one request may ask; beyond any of these the service answers 413 naming it.

    Each bounds work a single request can make one replica do before a token is generated:
    requests in flight share the replica's event loop and engine, so one oversized request
    delays every other one (and the replica's health check)."""

    max_texts: int = Field(default=64, ge=1, description="Texts per request at most.")
    max_text_chars: int = Field(
        default=20_000,
        ge=1,
        description="Characters per text at most (longer texts are split into windows that fit "
        "the model's context, so this bounds the work one text can cause).",
    )
    max_schemas: int = Field(default=8, ge=1, description="Schemas per request at most.")
    max_labels: int = Field(
        default=64,
        ge=1,
        description="Labels of one inline schema at most (entity types, relations, event types "
        "or classes); also the items of any one list or mapping in it, such as an event's "
        "roles, checked before the schema is built. Served schemas are not bounded.",
    )
    max_label_chars: int = Field(
        default=100,
        ge=1,
        description="Characters of each name in an inline schema at most: its name, labels, "
        "roles and subject types (each is repeated in the prompts).",
    )
    max_description_chars: int = Field(
        default=500,
        ge=1,
        description="Characters of each description in an inline schema at most (the schema's "
        "and its labels').",
    )
    max_prompts: int = Field(
        default=1024,
        ge=1,
        description="Prompts one request expands to at most: texts x the slices its schemas are "
        "asked in (as the prompt format rotates them). Windows of texts longer than the context "
        "and run-off rounds come on top, bounded by max_text_chars.",
    )
    max_body_bytes: int = Field(
        default=16 * 2**20,
        ge=1,
        description="Bytes of a request body at most, refused before it is decoded; the default "
        "leaves room for max_texts texts of max_text_chars characters even when every "
        "character is sent as a \\u escape pair (12 bytes).",
    )


class ServiceConfig(_Settings):
    """What every replica of the endpoint runs with."""

    engine: EngineConfig = Field(
        default_factory=EngineConfig, description="The engine each replica starts."
    )
    prompt: PromptConfig = Field(
        default_factory=PromptConfig, description="Prompt format, label order, grounding."
    )
    limits: Limits = Field(default_factory=Limits, description="What one request may ask.")
    schemas: tuple[str, ...] = Field(
        default=(),
        description="Schema files served by name besides the shipped ones (paths readable on "
        "every replica's node).",
    )
    num_gpus: float = Field(
        default=0, ge=0, description="GPUs of each replica; 0 runs the engine on CPU."
    )
    batch_size: int = Field(
        default=16, ge=1, description="Texts of one request sent to the engine per batch."
    )


#: Why `num_replicas` cannot be given with `autoscaling` (Serve refuses both too).
NUM_REPLICAS_WITH_AUTOSCALING = (
    "num_replicas and autoscaling exclude each other: autoscaling.min_replicas and "
    "autoscaling.max_replicas bound the replicas"
)


class Autoscaling(_Settings):
    """Serve's replica autoscaling for the endpoint (the deployment's `autoscaling_config`):
    between `min_replicas` and `max_replicas` replicas, more when the replicas hold more than
    `target_ongoing_requests` requests each. The defaults are Serve's own. Each new replica
    starts an engine (a minute or more for a 7B model, longer on a node that must start first),
    so a replica is added only after `upscale_delay_s` of high load and removed only after
    `downscale_delay_s` of low load. The Ray cluster must be able to grow to `max_replicas`
    replicas' GPUs and CPUs (on KubeRay: in-tree autoscaling and a GPU group large enough)."""

    min_replicas: int = Field(
        default=1,
        ge=0,
        description="Replicas kept at least; 0 lets the endpoint scale to zero, and the first "
        "request after that waits for an engine to start.",
    )
    max_replicas: int = Field(ge=1, description="Replicas at most (required).")
    initial_replicas: int | None = Field(
        default=None, ge=0, description="Replicas started with the app; None: min_replicas."
    )
    target_ongoing_requests: float = Field(
        default=2,
        gt=0,
        description="Requests in flight or queued per replica that Serve steers towards; a "
        "replica's engine interleaves the prompts of all of them.",
    )
    upscale_delay_s: float = Field(
        default=30.0, ge=0, description="Seconds of high load before a replica is added."
    )
    downscale_delay_s: float = Field(
        default=600.0, ge=0, description="Seconds of low load before a replica is removed."
    )

    @model_validator(mode="after")
    def _ordered(self) -> Autoscaling:
        if self.min_replicas > self.max_replicas:
            raise ValueError(f"min_replicas {self.min_replicas} > max_replicas {self.max_replicas}")
        initial = self.initial_replicas
        if initial is not None and not self.min_replicas <= initial <= self.max_replicas:
            raise ValueError(
                f"initial_replicas {initial} is not between min_replicas {self.min_replicas} "
                f"and max_replicas {self.max_replicas}"
            )
        return self

    def serve_config(self) -> dict[str, Any]:
        """As Serve's `autoscaling_config` takes it (unset optional fields left to Serve)."""
        return self.model_dump(exclude_none=True)


class DeploymentSettings(_Settings):
    """How Serve runs the replicas: a fixed number of them, or `autoscaling` bounds."""

    num_replicas: int = Field(
        default=1, ge=1, description="Replicas, one engine each, when not autoscaling."
    )
    autoscaling: Autoscaling | None = Field(
        default=None, description="Replica autoscaling; None keeps num_replicas replicas."
    )
    num_cpus: float = Field(default=1, gt=0, description="CPUs reserved per replica.")
    max_ongoing_requests: int | None = Field(
        default=None, ge=1, description="Requests one replica works on at once (Serve default)."
    )
    name: str = Field(default="ie_batch", description="The deployment's name.")

    @model_validator(mode="after")
    def _replicas_or_autoscaling(self) -> DeploymentSettings:
        if self.autoscaling is not None and "num_replicas" in self.model_fields_set:
            raise ValueError(NUM_REPLICAS_WITH_AUTOSCALING)
        return self


class AppArgs(_Settings):
    """The arguments `app_builder` takes. Flat keys for the common settings; any field of the
    engine, prompt, limits or autoscaling sections as `engine.<field>`, `prompt.<field>`,
    `limits.<field>`, `autoscaling.<field>` (or as nested mappings in a Serve config file)."""

    model: str | None = Field(default=None, description="Shorthand for engine.model.")
    lora_adapter: str | None = Field(
        default=None,
        description="Shorthand for engine.lora_adapter: an adapter folder of engine.model "
        "(ie-batch train), on storage every replica reads.",
    )
    num_gpus: float = Field(
        default=0,
        ge=0,
        description="GPUs per replica; at least engine.tensor_parallel_size on GPU, 0 on CPU.",
    )
    num_cpus: float = Field(default=1, gt=0, description="CPUs per replica.")
    num_replicas: int = Field(
        default=1, ge=1, description="Replicas, when autoscaling is not given."
    )
    max_ongoing_requests: int | None = Field(
        default=None, ge=1, description="Requests one replica works on at once (Serve default)."
    )
    schemas: list[str] = Field(
        default_factory=list,
        description="Extra schema files served by name (comma-separated on the command line).",
    )
    batch_size: int = Field(
        default=16, ge=1, description="Texts of one request sent to the engine per batch."
    )
    engine: dict[str, Any] = Field(
        default_factory=dict,
        description="Fields of the job file's engine section (EngineConfig), as "
        "engine.<field>=...; `model` above is short for engine.model.",
    )
    prompt: dict[str, Any] = Field(
        default_factory=dict,
        description="Fields of the job file's prompt section (PromptConfig), as prompt.<field>=....",
    )
    limits: dict[str, Any] = Field(
        default_factory=dict, description="Fields of `Limits`, as limits.<field>=...."
    )
    autoscaling: dict[str, Any] = Field(
        default_factory=dict,
        description="Fields of `Autoscaling`, as autoscaling.<field>=... (max_replicas at "
        "least); none: num_replicas replicas.",
    )

    @field_validator("schemas", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value


class ArgsError(ValueError):
    """Builder arguments that cannot be used; names the argument."""


def settings_from_args(args: Mapping[str, Any]) -> tuple[ServiceConfig, DeploymentSettings]:
    """`key=value` builder arguments (values may be strings) into the two settings objects."""
    nested: dict[str, Any] = {}
    for key, value in args.items():
        section, dot, field = str(key).partition(".")
        if dot and section in _SECTIONS.values():
            nested.setdefault(section, {})[field] = value
        else:
            nested[key] = value
    try:
        parsed = AppArgs.model_validate(nested)
        engine = dict(parsed.engine)
        if parsed.model is not None:
            engine["model"] = parsed.model
        if parsed.lora_adapter is not None:
            engine["lora_adapter"] = parsed.lora_adapter
        service = ServiceConfig(
            engine=EngineConfig.model_validate(engine),
            prompt=PromptConfig.model_validate(parsed.prompt),
            limits=Limits.model_validate(parsed.limits),
            schemas=tuple(parsed.schemas),
            num_gpus=parsed.num_gpus,
            batch_size=parsed.batch_size,
        )
        replicas: dict[str, Any] = {"num_replicas": parsed.num_replicas}
        if parsed.autoscaling:
            if "num_replicas" in parsed.model_fields_set:
                raise ArgsError(f"app argument 'num_replicas': {NUM_REPLICAS_WITH_AUTOSCALING}")
            replicas = {"autoscaling": Autoscaling.model_validate(parsed.autoscaling)}
        deployment = DeploymentSettings(
            **replicas, num_cpus=parsed.num_cpus, max_ongoing_requests=parsed.max_ongoing_requests
        )
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(part) for part in error["loc"])
        title = exc.title if exc.title != "AppArgs" else ""
        where = ".".join(part for part in (_section(title), field) if part)
        raise ArgsError(f"app argument {where!r}: {error['msg']}") from None
    return service, deployment


#: The nested sections of `AppArgs`, by the model that validates each.
_SECTIONS = {
    "EngineConfig": "engine",
    "PromptConfig": "prompt",
    "Limits": "limits",
    "Autoscaling": "autoscaling",
}


def _section(title: str) -> str:
    return _SECTIONS.get(title, "")
