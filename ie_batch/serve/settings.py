"""How the endpoint is configured: what each replica runs, and how Serve deploys it.

Plain pydantic (no Ray): `ServiceConfig` is what a replica receives, `Limits` the part of it that
bounds one request; `DeploymentSettings` is what `build_app` turns into Serve deployment options;
`settings_from_args` reads the flat string arguments of `serve run ie_batch.serve.app:app_builder
key=value ...` (or the `args:` mapping of a Serve config file) into both.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

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


class DeploymentSettings(_Settings):
    """How Serve runs the replicas."""

    num_replicas: int = Field(default=1, ge=1, description="Replicas, one engine each.")
    num_cpus: float = Field(default=1, gt=0, description="CPUs reserved per replica.")
    max_ongoing_requests: int | None = Field(
        default=None, ge=1, description="Requests one replica works on at once (Serve default)."
    )
    name: str = Field(default="ie_batch", description="The deployment's name.")


class AppArgs(_Settings):
    """The arguments `app_builder` takes. Flat keys for the common settings; any field of the
    engine, prompt or limits sections as `engine.<field>`, `prompt.<field>`, `limits.<field>`
    (or as nested mappings in a Serve config file)."""

    model: str | None = Field(default=None, description="Shorthand for engine.model.")
    num_gpus: float = Field(default=0, ge=0, description="GPUs per replica.")
    num_cpus: float = Field(default=1, gt=0, description="CPUs per replica.")
    num_replicas: int = Field(default=1, ge=1, description="Replicas.")
    max_ongoing_requests: int | None = Field(default=None, ge=1)
    schemas: list[str] = Field(
        default_factory=list,
        description="Extra schema files served by name (comma-separated on the command line).",
    )
    batch_size: int = Field(default=16, ge=1)
    engine: dict[str, Any] = Field(default_factory=dict)
    prompt: dict[str, Any] = Field(default_factory=dict)
    limits: dict[str, Any] = Field(default_factory=dict)

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
        if dot and section in {"engine", "prompt", "limits"}:
            nested.setdefault(section, {})[field] = value
        else:
            nested[key] = value
    try:
        parsed = AppArgs.model_validate(nested)
        engine = dict(parsed.engine)
        if parsed.model is not None:
            engine["model"] = parsed.model
        service = ServiceConfig(
            engine=EngineConfig.model_validate(engine),
            prompt=PromptConfig.model_validate(parsed.prompt),
            limits=Limits.model_validate(parsed.limits),
            schemas=tuple(parsed.schemas),
            num_gpus=parsed.num_gpus,
            batch_size=parsed.batch_size,
        )
        deployment = DeploymentSettings(
            num_replicas=parsed.num_replicas,
            num_cpus=parsed.num_cpus,
            max_ongoing_requests=parsed.max_ongoing_requests,
        )
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(part) for part in error["loc"])
        title = exc.title if exc.title != "AppArgs" else ""
        where = ".".join(part for part in (_section(title), field) if part)
        raise ArgsError(f"app argument {where!r}: {error['msg']}") from None
    return service, deployment


def _section(title: str) -> str:
    return {"EngineConfig": "engine", "PromptConfig": "prompt", "Limits": "limits"}.get(title, "")
