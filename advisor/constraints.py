"""Declarative constraints in the style of scikit-learn's ``_param_validation``: a constraint writes its own message.

A config declares a table ``{field: constraint}``; :func:`check_fields` checks every field and
raises :class:`FieldError` naming the field, what is accepted and what was given. Front ends
word the field their own way (a flag on the command line, a widget label in the app) with
:meth:`FieldError.worded`.

>>> check_fields({"seeds": 0}, {"seeds": Interval(int, 1, 20)})
Traceback (most recent call last):
...
advisor.constraints.FieldError: seeds: expected an integer in 1..20; got 0
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

EXCERPT = 60  # characters of a bad value shown in a message; a 50 MB string is not echoed back


def excerpt(value: Any) -> str:
    """A bounded, readable rendering of a given value (JSON-like where possible)."""
    try:
        text = json.dumps(value) if not isinstance(value, float) or math.isfinite(value) else repr(value)
    except (TypeError, ValueError):
        text = repr(value)
    if len(text) > EXCERPT:
        text = f"{text[: EXCERPT - 1]}… ({len(text):,} characters)"
    return text


class FieldError(ValueError):
    """A value a field does not accept: ``field``, ``detail`` (what is accepted and what was given)."""

    def __init__(self, field: str, detail: str):
        self.field, self.detail = field, detail
        super().__init__(f"{field}: {detail}")

    def worded(self, names: Mapping[str, str]) -> str:
        """The message with the field named in the caller's words (``{"batch_size": "--batch-size"}``)."""
        return f"{names.get(self.field, self.field)}: {self.detail}"


@dataclass(frozen=True)
class Interval:
    """A number in ``[low, high]`` (``None``: unbounded); ``none`` names what ``None`` means, if it is allowed."""

    kind: type  # int or float
    low: float | None
    high: float | None
    unit: str = ""  # "seconds", "pixels": said instead of "an integer" / "a number"
    none: str | None = None  # e.g. "all" or "until converged": None is accepted and means this
    low_open: bool = False

    def accepts(self, value: Any) -> bool:
        if value is None:
            return self.none is not None
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        if self.kind is int and not isinstance(value, int):
            return False
        if isinstance(value, float) and not math.isfinite(value):
            return False
        if self.low is not None and (value <= self.low if self.low_open else value < self.low):
            return False
        return self.high is None or value <= self.high

    def describe(self) -> str:
        noun = self.unit or ("an integer" if self.kind is int else "a number")
        if self.low is not None and self.high is not None and not self.low_open:
            text = f"{noun} in {_number(self.low)}..{_number(self.high)}"
        else:
            low = _number(self.low) if self.low is not None else ""
            parts = [f"> {low}" if self.low_open else f">= {low}"] if self.low is not None else []
            parts += [f"<= {_number(self.high)}"] if self.high is not None else []
            text = f"{noun} {' and '.join(parts)}".strip()
        return f"{text}, or {self.none}" if self.none else text


def _number(value: float) -> str:
    """A bound as a person reads it: whole numbers in full (2147483647, not 2.14748e+09)."""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


@dataclass(frozen=True)
class Options:
    """One of a fixed set of strings."""

    choices: tuple[str, ...]

    def accepts(self, value: Any) -> bool:
        return isinstance(value, str) and value in self.choices

    def describe(self) -> str:
        return "one of " + ", ".join(self.choices)


Constraint = Interval | Options


def check_field(field: str, value: Any, constraint: Constraint) -> None:
    """Raise :class:`FieldError` unless ``constraint`` accepts ``value``."""
    if not constraint.accepts(value):
        raise FieldError(field, f"expected {constraint.describe()}; got {excerpt(value)}")


def check_fields(values: Mapping[str, Any] | Any, table: Mapping[str, Constraint]) -> None:
    """Check every field of ``values`` (a mapping or an object with attributes) against its row in ``table``."""
    for field, constraint in table.items():
        value = values[field] if isinstance(values, Mapping) else getattr(values, field)
        check_field(field, value, constraint)
