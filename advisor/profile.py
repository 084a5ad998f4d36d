"""The questionnaire profile: one frozen dataclass and one declarative validation table.

The field names are a public interface: the app, the CLI, saved reports and other tools
use them. Every value goes through :func:`validate_field`, which always says which field,
what is accepted and what was given (a bounded excerpt of it). The table's ranges are
chosen so that every profile it accepts can be scored: the rules take logarithms of
budgets and counts. Profile files are read with limits on size, nesting and number
length, and a key given twice is an error, not a silent choice.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from functools import cached_property
from pathlib import Path
from typing import Any

from advisor.constraints import Constraint, FieldError, Flag, Interval, Options, check_field
from advisor.jsonfile import JSONFileError, JSONSpec, load_json_file
from advisor.vocabulary import Modality

# Numbers beyond this are typos or unit mistakes, not real budgets or dataset sizes.
ABSURD = 10**10
# Limits on a profile file: a profile is a dozen flat fields, well under a kilobyte.
MAX_PROFILE_BYTES = 1 << 20
MAX_JSON_DEPTH = 20
PROFILE_FILE = JSONSpec(
    "profile file",
    MAX_PROFILE_BYTES,
    MAX_JSON_DEPTH,
    "a profile is under 1 KiB",
    "a profile is a flat JSON object of fields",
)

MODALITIES = ("image", "text", "tabular", "audio", "other")
SIMILARITIES = ("high", "medium", "low", "unknown")
COMPUTES = ("cpu", "single_gpu", "multi_gpu", "cluster")
# ImageNet's training side: the input size the published pretraining results are measured at,
# and what the advisor assumes when the question is left unanswered.
DEFAULT_RESOLUTION = 224


class ProfileError(ValueError):
    """A questionnaire value that is not accepted. ``field`` names it (None for the whole profile).

    An error that names a field is a :class:`~advisor.constraints.FieldError` too, so front
    ends can word the field their own way (``error.worded({"labeled_examples": "--labeled"})``).

    >>> isinstance(ProfileError("num_classes", "expected an integer >= 2; got 1"), FieldError)
    True
    """

    field: str | None
    detail: str

    def __new__(cls, field: str | None = None, message: str = "", *args: Any) -> ProfileError:
        if cls is ProfileError and field is not None:
            cls = ProfileFieldError
        return super().__new__(cls, field, message)

    def __init__(self, field: str | None, message: str):
        self.field, self.detail = field, message
        ValueError.__init__(self, field, message)  # args: (field, message), so it pickles

    def __str__(self) -> str:
        return f"{self.field}: {self.detail}" if self.field else self.detail


class ProfileFieldError(ProfileError, FieldError):
    """A :class:`ProfileError` about one field; ``ProfileError(field, message)`` builds one."""


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

    @cached_property  # built once per field: the counterfactual search validates thousands of profiles
    def constraint(self) -> Constraint:
        """The field's row in the one constraint system (advisor.constraints) every config uses."""
        if self.choices:
            return Options(self.choices)
        if self.kind is bool:
            return Flag()
        if self.kind is str:
            return Options(())
        return Interval(self.kind, self.minimum, None, low_open=not self.minimum_inclusive, ceiling=ABSURD)

    def accepted(self) -> str:
        """Plain words for what this field accepts."""
        return self.constraint.describe()

    def hint(self) -> str:
        """What a person may enter, in words for a tooltip ("a whole number, 2 or more"); choices and switches
        show their own options, so they need none."""
        if self.choices or (self.kind is not int and self.kind is not float):
            return ""
        noun = "a whole number" if self.kind is int else "a number"
        if self.minimum is None:
            return noun
        return f"{noun}, {self.minimum:g} or more" if self.minimum_inclusive else f"{noun} above {self.minimum:g}"


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
        minimum=0.001,  # 3.6 seconds: below it no training fits, and log-scale rules lose meaning
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

    try:
        return check_field(spec.name, value, spec.constraint)
    except FieldError as error:
        raise ProfileError(spec.name, error.detail) from None


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
        return self.input_resolution if self.modality == Modality.IMAGE else DEFAULT_RESOLUTION

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def replace(self, **changes: Any) -> Profile:
        """A copy with some answers changed, each validated against its row of the table.

        Unlike :func:`profile_from_mapping` it does not insist on one labeled example per
        class: the counterfactual search asks "what if" about any count on its ladder.
        """
        unknown = sorted(set(changes) - set(FIELD_SPECS))
        if unknown:
            raise ProfileError(_bounded(unknown[0]), f"unknown field; accepted fields are {', '.join(FIELD_SPECS)}")
        return dataclasses.replace(self, **changes)  # __post_init__ validates every field once


assert {f.name for f in fields(Profile)} == set(FIELD_SPECS), "table and dataclass disagree"


def profile_from_mapping(data: Any) -> Profile:
    """Validate a mapping of answers (e.g. parsed JSON) into a :class:`Profile`.

    Unknown keys are errors: a typo must never be silently ignored. Beyond each field's own
    range, ``labeled_examples`` must be at least ``num_classes`` (one example per class).
    """
    return _build(data, cross_field=True)


def _build(data: Any, cross_field: bool) -> Profile:
    if not isinstance(data, Mapping):
        raise ProfileError(None, f"a profile must be a JSON object of fields; got {type(data).__name__}")
    unknown = sorted((str(name) for name in set(data) - set(FIELD_SPECS)), key=len)
    if unknown:
        raise ProfileError(_bounded(unknown[0]), f"unknown field; accepted fields are {', '.join(FIELD_SPECS)}")
    values: dict[str, Any] = {}
    for spec in PROFILE_FIELDS:
        if spec.name in data:
            values[spec.name] = validate_field(spec, data[spec.name])
        elif spec.required:
            raise ProfileError(spec.name, f"missing required field; expected {spec.accepted()}")
        else:
            values[spec.name] = spec.default
    if cross_field:
        problem = _cross_field_problem(values)
        if problem:
            raise ProfileError(*problem)
    return Profile(**values)


def _cross_field_problem(values: Mapping[str, Any]) -> tuple[str, str] | None:
    """(field, message) for answers that are each fine but do not fit together."""
    labeled, classes = values.get("labeled_examples"), values.get("num_classes")
    if isinstance(labeled, int) and isinstance(classes, int) and labeled < classes:
        return (
            "labeled_examples",
            f"expected at least one labeled example per class: >= num_classes ({classes:,}); got {labeled:,}",
        )
    return None


def check_answers(data: Mapping[str, Any]) -> tuple[Profile | None, dict[str, str]]:
    """Validate every answer at once, for forms: (profile or None, {field: message}).

    Unlike :func:`profile_from_mapping`, which stops at the first problem, this reports
    each bad field so a form can show every message next to its field.
    """
    errors: dict[str, str] = {}
    for name in sorted(str(name) for name in set(data) - set(FIELD_SPECS)):
        errors[_bounded(name)] = f"unknown field; accepted fields are {', '.join(FIELD_SPECS)}"
    for spec in PROFILE_FIELDS:
        if spec.name not in data:
            if spec.required:
                errors[spec.name] = f"missing required field; expected {spec.accepted()}"
            continue
        try:
            validate_field(spec, data[spec.name])
        except ProfileError as error:
            errors[spec.name] = error.detail
    if not errors:
        problem = _cross_field_problem({spec.name: data.get(spec.name) for spec in PROFILE_FIELDS})
        if problem:
            errors[problem[0]] = problem[1]
    if errors:
        return None, errors
    return profile_from_mapping(data), {}


def load_profile(path: str | Path) -> Profile:
    """Read and validate a profile from a JSON file."""
    return profile_from_mapping(read_profile_json(path))


def read_profile_json(path: str | Path) -> dict[str, Any]:
    """Read a profile file's JSON object without validating its fields (callers may add to it).

    Only regular files up to :data:`MAX_PROFILE_BYTES` are read (a FIFO or ``/dev/zero`` is
    refused without blocking); duplicate keys, nesting deeper than :data:`MAX_JSON_DEPTH`
    and numbers longer than :data:`advisor.jsonfile.MAX_NUMBER_DIGITS` digits are errors
    (:mod:`advisor.jsonfile`, which every JSON file the program reads goes through).
    """
    try:
        data = load_json_file(path, PROFILE_FILE)
    except JSONFileError as error:
        raise ProfileError(None, str(error)) from None
    if not isinstance(data, dict):
        raise ProfileError(None, f"profile file {path} must hold a JSON object of fields; got {type(data).__name__}")
    return data


def _bounded(name: str) -> str:
    """A field name fit for a message: long (hostile) keys are cut."""
    return name if len(name) <= 60 else f"{name[:59]}… ({len(name):,} characters)"


def example_profile() -> Profile:
    """The sample answers the app and the docs start from."""
    return profile_from_mapping({spec.name: spec.example for spec in PROFILE_FIELDS})
