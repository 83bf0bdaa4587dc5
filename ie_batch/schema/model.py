"""The schema model: what a task asks the model to find.

A schema is one task (NER, RE, EE or classification) over a set of labels. Everything else in
ie_batch (rotation, prompts, parsing, metrics) reads these objects, so they stay plain and
free of any ML dependency.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class TaskKind(StrEnum):
    NER = "ner"
    RE = "re"
    EE = "ee"
    CLASSIFICATION = "classification"


#: IEPile's batched-instruction slice sizes: a model never sees more labels at once than it
#: was trained on. Classification has no IEPile default; 10 keeps small label sets whole.
DEFAULT_SPLIT_NUM: dict[TaskKind, int] = {
    TaskKind.NER: 6,
    TaskKind.RE: 4,
    TaskKind.EE: 4,
    TaskKind.CLASSIFICATION: 10,
}


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class LabelSpec(_Frozen):
    """An entity type or a class label, with an optional description shown to the model."""

    name: str = Field(min_length=1, description="The label as it appears in answers and results.")
    description: str | None = Field(default=None, description="A gloss the prompt may show.")


class RelationSpec(_Frozen):
    """A relation; `subject_types` carries PP-UIE's `{subject_type: [relation, ...]}` hints, and
    `object_types` the type of what it points to; both are shown to the model."""

    name: str = Field(min_length=1)
    description: str | None = None
    subject_types: tuple[str, ...] = ()
    object_types: tuple[str, ...] = ()


class EventSpec(_Frozen):
    """An event type; its trigger is always extracted, `roles` are its argument roles."""

    name: str = Field(min_length=1)
    description: str | None = None
    roles: tuple[str, ...] = ()


LabelInput = list[Any] | dict[str, Any]


def label_name(name: Any, field: str) -> str:
    """A label name as written: a non-blank string. A YAML boolean (`yes`, `no`, `on`), a number
    or null in its place is an error naming it, not a label called "True"."""
    if isinstance(name, bool) or name is None:
        raise ValueError(
            f"{field}: {name!r} is a YAML {'boolean' if name is not None else 'null'}, not a "
            "label name; quote it"
        )
    if not isinstance(name, str):
        raise ValueError(f"{field}: expected a label name (a string), got {type(name).__name__}")
    if not name.strip():
        raise ValueError(f"{field}: a label name must not be blank")
    return name


def _labels_from(value: Any, field: str) -> list[LabelSpec]:
    """Accept `[name, ...]`, `[{name, description}, ...]` or `{name: description}`."""
    if isinstance(value, dict):
        items = []
        for name, description in value.items():
            name = label_name(name, f"{field}.{name}")
            if description is not None and not isinstance(description, str):
                raise ValueError(
                    f"{field}.{name}: expected a description string or nothing, "
                    f"got {type(description).__name__}"
                )
            items.append(LabelSpec(name=str(name), description=description))
        return items
    if isinstance(value, list):
        items = []
        for position, item in enumerate(value):
            if isinstance(item, str):
                items.append(LabelSpec(name=label_name(item, f"{field}[{position}]")))
            elif isinstance(item, dict):
                label_name(item.get("name"), f"{field}[{position}].name")
                items.append(LabelSpec(**item))
            else:
                raise ValueError(
                    f"{field}[{position}]: expected a label name or {{name, description}}, "
                    f"got {type(item).__name__}"
                )
        return items
    raise ValueError(f"{field}: expected a list of names or a mapping name -> description")


def _reject_duplicates(names: list[str], field: str) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise ValueError(f"{field}: label {name!r} appears twice")
        seen.add(name)


def _roles(roles: Any, field: str) -> tuple[str, ...]:
    return tuple(label_name(role, f"{field}[{i}]") for i, role in enumerate(roles))


class _SchemaBase(_Frozen):
    name: str = Field(default="", description="A short name; results and metrics are keyed by it.")
    language: Literal["zh", "en"] = Field(default="en", description="Language of the prompts.")
    split_num: int | None = Field(
        default=None, ge=1, description="Labels per prompt; None takes the task's IEPile default."
    )
    description: str | None = Field(default=None, description="What the task is for.")

    @property
    def kind(self) -> TaskKind:
        return TaskKind(self.task)  # type: ignore[attr-defined]

    @property
    def effective_split_num(self) -> int:
        return self.split_num or DEFAULT_SPLIT_NUM[self.kind]

    @property
    def label_names(self) -> list[str]:
        return [label.name for label in self.label_specs]

    @property
    def label_specs(self) -> tuple[Any, ...]:  # overridden per task
        raise NotImplementedError


class NerSchema(_SchemaBase):
    task: Literal["ner"] = "ner"
    entities: tuple[LabelSpec, ...] = Field(min_length=1, description="Entity types.")
    proper_names: bool = Field(
        default=False,
        description="Every entity type is a proper name: in text that uses capital letters, a "
        "mention in a cased script without one is dropped (with a warning).",
    )
    verify_mentions: bool = Field(
        default=False,
        description="Ask once more about every mention the slices found, not only those several "
        "claimed: which type it is, or that it is none of them (then it is dropped). The "
        "precision lever for scripts without capitals, where `proper_names` cannot help.",
    )

    @field_validator("entities", mode="before")
    @classmethod
    def _coerce(cls, value: Any) -> list[LabelSpec]:
        labels = _labels_from(value, "entities")
        _reject_duplicates([label.name for label in labels], "entities")
        return labels

    @property
    def label_specs(self) -> tuple[LabelSpec, ...]:
        return self.entities


class ReSchema(_SchemaBase):
    """IEPile style (`relations`) or PP-UIE style (`subjects: {type: [relation, ...]}`)."""

    task: Literal["re"] = "re"
    relations: tuple[RelationSpec, ...] = Field(default=(), description="Relation types.")

    @model_validator(mode="before")
    @classmethod
    def _coerce(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        subjects = data.pop("subjects", None)
        relations: dict[str, RelationSpec] = {}
        if data.get("relations") is not None:
            raw = data["relations"]
            if isinstance(raw, list) and all(isinstance(item, dict) for item in raw):
                specs = [RelationSpec(**item) for item in raw]
            else:
                specs = [
                    RelationSpec(name=label.name, description=label.description)
                    for label in _labels_from(raw, "relations")
                ]
            _reject_duplicates([spec.name for spec in specs], "relations")
            relations = {spec.name: spec for spec in specs}
        if subjects is not None:
            if not isinstance(subjects, dict):
                raise ValueError("subjects: expected a mapping subject_type -> [relation, ...]")
            for subject_type, names in subjects.items():
                if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
                    raise ValueError(f"subjects.{subject_type}: expected a list of relation names")
                for name in names:
                    known = relations.get(name) or RelationSpec(name=name)
                    relations[name] = known.model_copy(
                        update={"subject_types": (*known.subject_types, str(subject_type))}
                    )
        if not relations:
            raise ValueError("relations: expected at least one relation (or `subjects`)")
        data["relations"] = tuple(relations.values())
        return data

    @property
    def label_specs(self) -> tuple[RelationSpec, ...]:
        return self.relations


class EeSchema(_SchemaBase):
    task: Literal["ee"] = "ee"
    events: tuple[EventSpec, ...] = Field(min_length=1, description="Event types and roles.")

    @field_validator("events", mode="before")
    @classmethod
    def _coerce(cls, value: Any) -> list[EventSpec]:
        specs: list[EventSpec] = []
        if isinstance(value, dict):  # {type: [role, ...]}, PP-UIE style
            for name, roles in value.items():
                name = label_name(name, f"events.{name}")
                if not isinstance(roles, list):
                    raise ValueError(f"events.{name}: expected a list of argument roles")
                specs.append(EventSpec(name=name, roles=_roles(roles, f"events.{name}")))
        elif isinstance(value, list):
            for position, item in enumerate(value):
                if isinstance(item, str):
                    specs.append(EventSpec(name=item))
                elif isinstance(item, dict):
                    item = dict(item)
                    if "type" in item:
                        item["name"] = item.pop("type")
                    if "arguments" in item:
                        item["roles"] = item.pop("arguments")
                    if "name" not in item:
                        raise ValueError(f"events[{position}].type: expected an event type name")
                    label_name(item["name"], f"events[{position}].type")
                    if not isinstance(item.get("roles", []), list | tuple):
                        raise ValueError(f"events[{position}].arguments: expected a list of roles")
                    item["roles"] = _roles(item.get("roles", []), f"events[{position}].arguments")
                    specs.append(EventSpec(**item))
                else:
                    raise ValueError(
                        f"events[{position}]: expected {{type, arguments: [role, ...]}}, "
                        f"got {type(item).__name__}"
                    )
        else:
            raise ValueError(
                "events: expected a list of {type, arguments} or a mapping type -> roles"
            )
        _reject_duplicates([spec.name for spec in specs], "events")
        return specs

    @property
    def label_specs(self) -> tuple[EventSpec, ...]:
        return self.events


class ClassificationSchema(_SchemaBase):
    task: Literal["classification"] = "classification"
    labels: tuple[LabelSpec, ...] = Field(min_length=2, description="The classes.")
    multi_label: bool = Field(default=False, description="A text may carry several labels.")

    @field_validator("labels", mode="before")
    @classmethod
    def _coerce(cls, value: Any) -> list[LabelSpec]:
        labels = _labels_from(value, "labels")
        _reject_duplicates([label.name for label in labels], "labels")
        return labels

    @model_validator(mode="after")
    def _none_is_no_class(self) -> ClassificationSchema:
        for position, label in enumerate(self.labels):
            if label.name == self.none_label:
                raise ValueError(
                    f"labels[{position}]: {label.name!r} is the answer of a slice where no label "
                    "fits; name the class otherwise"
                )
        return self

    @property
    def label_specs(self) -> tuple[LabelSpec, ...]:
        return self.labels

    @property
    def none_label(self) -> str:
        """The answer a slice gives when none of its labels fits."""
        return "无" if self.language == "zh" else "none"


def not_an_entity(language: str) -> str:
    """The answer of a mention check when the mention is none of the candidate types."""
    return "都不是" if language == "zh" else "none of these"


TaskSchema = Annotated[
    NerSchema | ReSchema | EeSchema | ClassificationSchema, Field(discriminator="task")
]
AnySchema = NerSchema | ReSchema | EeSchema | ClassificationSchema
