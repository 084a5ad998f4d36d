"""The questionnaire profile: one frozen dataclass and one declarative validation table.

The field names are a public interface: the app, the CLI, saved reports and other tools
use them. Every value goes through :func:`validate_field`, which always says which field,
what is accepted and what was given.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

# Numbers beyond this are typos or unit mistakes, not real budgets or dataset sizes.
ABSURD = 10**10

MODALITIES = ("image", "text", "tabular", "audio", "other")
SIMILARITIES = ("high", "medium", "low", "unknown")
COMPUTES = ("cpu", "single_gpu", "multi_gpu", "cluster")
# ImageNet's training side: the input size the published pretraining results are measured at,
# and what the advisor assumes when the question is left unanswered.
DEFAULT_RESOLUTION = 224


class ProfileError(ValueError):
    """A questionnaire value that is not accepted. ``field`` names it (None for the whole profile)."""

    def __init__(self, field: str | None, message: str):
        self.field = field
        super().__init__(f"{field}: {message}" if field else message)


@dataclass(frozen=True)
class FieldSpec:
    """One row of the validation table: what a field accepts, with help for the questionnaire."""

    name: str
    kind: type  # int, float, bool or str
    help: str
    example: Any
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    minimum_inclusive: bool = True
    required: bool = True
    default: Any = None
    label: str = ""  # what a person reads (a widget label): "Labeled examples", not "labeled_examples"
    unit: str = ""  # shown beside numbers: "images", "hours", "pixels"

    def accepted(self) -> str:
        """Plain words for what this field accepts."""
        if self.choices:
            return "one of " + ", ".join(self.choices)
        if self.kind is bool:
            return "true or false"
        noun = "an integer" if self.kind is int else "a number"
        if self.minimum is None:
            return noun
        relation = ">=" if self.minimum_inclusive else ">"
        return f"{noun} {relation} {self.minimum:g} and <= {ABSURD:.0e}"


PROFILE_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("modality", str, "Kind of input the model sees.", "image", choices=MODALITIES, label="Kind of input"),
    FieldSpec(
        "labeled_examples",
        int,
        "Labeled training examples available.",
        2000,
        minimum=1,
        label="Labeled examples",
        unit="examples",
    ),
    FieldSpec("num_classes", int, "Classes to predict.", 10, minimum=2, label="Classes", unit="classes"),
    FieldSpec(
        "input_resolution",
        int,
        "Images only: the side of your images in pixels as captured, before any resizing (8 for "
        "8x8 digits, 28 for MNIST, 224 for ImageNet-size photos). A model sized to small inputs "
        "trains from scratch far more cheaply.",
        224,
        minimum=1,
        required=False,
        default=DEFAULT_RESOLUTION,
        label="Image side",
        unit="pixels",
    ),
    FieldSpec(
        "domain_similarity",
        str,
        "How close your data is to the data the pretrained model saw "
        "(natural photos vs ImageNet: high; X-rays or satellite images: low).",
        "medium",
        choices=SIMILARITIES,
        label="Similarity to the pretraining data",
    ),
    FieldSpec(
        "pretrained_available",
        bool,
        "A pretrained model exists for this modality.",
        True,
        label="A pretrained model exists",
    ),
    FieldSpec(
        "unlabeled_examples",
        int,
        "In-domain unlabeled examples available.",
        0,
        minimum=0,
        required=False,
        default=0,
        label="Unlabeled in-domain examples",
        unit="examples",
    ),
    FieldSpec(
        "time_budget_hours",
        float,
        "Wall-clock hours available for training and experiments.",
        8.0,
        minimum=0,
        minimum_inclusive=False,
        label="Time budget",
        unit="hours",
    ),
    FieldSpec("compute", str, "Hardware available for training.", "single_gpu", choices=COMPUTES, label="Compute"),
    FieldSpec(
        "custom_architecture",
        bool,
        "A specialised architecture is required.",
        False,
        required=False,
        default=False,
        label="Needs a custom architecture",
    ),
    FieldSpec(
        "edge_deployment",
        bool,
        "The model must fit a small device or latency budget.",
        False,
        required=False,
        default=False,
        label="Runs on an edge device",
    ),
    FieldSpec(
        "interpretability",
        bool,
        "Interpretability is a hard requirement.",
        False,
        required=False,
        default=False,
        label="Interpretability required",
    ),
)
FIELD_SPECS: dict[str, FieldSpec] = {spec.name: spec for spec in PROFILE_FIELDS}


def validate_field(spec: FieldSpec, value: Any) -> Any:
    """Return ``value`` converted to the field's type, or raise :class:`ProfileError`.

    >>> validate_field(FIELD_SPECS["labeled_examples"], 500)
    500
    """

    def reject(reason: str = "") -> ProfileError:
        given = json.dumps(value) if _jsonable(value) else repr(value)
        suffix = f" ({reason})" if reason else ""
        return ProfileError(spec.name, f"expected {spec.accepted()}; got {given}{suffix}")

    if spec.kind is bool:
        if isinstance(value, bool):
            return value
        raise reject()
    if spec.kind is str:
        if isinstance(value, str) and value in spec.choices:
            return value
        raise reject()
    # Numbers: bools are ints in Python but never a valid count or budget.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise reject()
    if isinstance(value, float) and not math.isfinite(value):
        raise reject("not a finite number")
    if spec.kind is int:
        if isinstance(value, float) and not value.is_integer():
            raise reject("not a whole number")
        value = int(value)
    else:
        value = float(value)
    if spec.minimum is not None:
        too_small = value < spec.minimum if spec.minimum_inclusive else value <= spec.minimum
        if too_small:
            raise reject()
    if value > ABSURD:
        raise reject("implausibly large")
    return value


@dataclass(frozen=True)
class Profile:
    """Answers to the questionnaire. Build with :func:`profile_from_mapping` to validate.

    >>> p = profile_from_mapping({"modality": "image", "labeled_examples": 500, "num_classes": 5,
    ...     "domain_similarity": "high", "pretrained_available": True,
    ...     "time_budget_hours": 2, "compute": "single_gpu"})
    >>> p.unlabeled_examples
    0
    """

    modality: str
    labeled_examples: int
    num_classes: int
    domain_similarity: str
    pretrained_available: bool
    time_budget_hours: float
    compute: str
    unlabeled_examples: int = 0
    input_resolution: int = DEFAULT_RESOLUTION
    custom_architecture: bool = False
    edge_deployment: bool = False
    interpretability: bool = False

    def __post_init__(self) -> None:
        for spec in PROFILE_FIELDS:
            object.__setattr__(self, spec.name, validate_field(spec, getattr(self, spec.name)))

    @property
    def image_side(self) -> int:
        """The input side the advice assumes: ``input_resolution`` for images, ImageNet size otherwise."""
        return self.input_resolution if self.modality == "image" else DEFAULT_RESOLUTION

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def replace(self, **changes: Any) -> Profile:
        """A validated copy with some answers changed."""
        return profile_from_mapping({**self.to_dict(), **changes})


assert {f.name for f in fields(Profile)} == set(FIELD_SPECS), "table and dataclass disagree"


def profile_from_mapping(data: Any) -> Profile:
    """Validate a mapping of answers (e.g. parsed JSON) into a :class:`Profile`.

    Unknown keys are errors: a typo must never be silently ignored.
    """
    if not isinstance(data, Mapping):
        raise ProfileError(None, f"a profile must be a JSON object of fields; got {type(data).__name__}")
    unknown = sorted(set(data) - set(FIELD_SPECS))
    if unknown:
        raise ProfileError(
            str(unknown[0]),
            f"unknown field; accepted fields are {', '.join(FIELD_SPECS)}",
        )
    values: dict[str, Any] = {}
    for spec in PROFILE_FIELDS:
        if spec.name in data:
            values[spec.name] = validate_field(spec, data[spec.name])
        elif spec.required:
            raise ProfileError(spec.name, f"missing required field; expected {spec.accepted()}")
        else:
            values[spec.name] = spec.default
    return Profile(**values)


def check_answers(data: Mapping[str, Any]) -> tuple[Profile | None, dict[str, str]]:
    """Validate every answer at once, for forms: (profile or None, {field: message}).

    Unlike :func:`profile_from_mapping`, which stops at the first problem, this reports
    each bad field so a form can show every message next to its field.
    """
    errors: dict[str, str] = {}
    for name in sorted(set(data) - set(FIELD_SPECS)):
        errors[str(name)] = f"unknown field; accepted fields are {', '.join(FIELD_SPECS)}"
    for spec in PROFILE_FIELDS:
        if spec.name not in data:
            if spec.required:
                errors[spec.name] = f"missing required field; expected {spec.accepted()}"
            continue
        try:
            validate_field(spec, data[spec.name])
        except ProfileError as error:
            errors[spec.name] = str(error).removeprefix(f"{spec.name}: ")
    if errors:
        return None, errors
    return profile_from_mapping(data), {}


def load_profile(path: str | Path) -> Profile:
    """Read and validate a profile from a JSON file."""
    return profile_from_mapping(read_profile_json(path))


def read_profile_json(path: str | Path) -> dict[str, Any]:
    """Read a profile file's JSON object without validating its fields (callers may add to it)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ProfileError(None, f"cannot read profile file {path}: {_os_reason(error)}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise ProfileError(
            None, f"profile file {path} is not valid JSON (line {error.lineno}, column {error.colno}: {error.msg})"
        ) from None
    if not isinstance(data, dict):
        raise ProfileError(None, f"profile file {path} must hold a JSON object of fields; got {type(data).__name__}")
    return data


def example_profile() -> Profile:
    """The sample answers the app and the docs start from."""
    return profile_from_mapping({spec.name: spec.example for spec in PROFILE_FIELDS})


def _jsonable(value: Any) -> bool:
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        return False
    return True


def _os_reason(error: Exception) -> str:
    return getattr(error, "strerror", None) or str(error)
