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
import re
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


_REFERENCE = re.compile(r"\{([a-z_]+)\}")  # "{examples}" in a detail: another field, named by the front end


def word_fields(text: str, names: Mapping[str, str]) -> str:
    """Name the fields a message refers to as ``{field}`` in the caller's words (the bare name by default).

    >>> word_fields("use fewer {examples}", {"examples": "--examples"})
    'use fewer --examples'
    """
    return _REFERENCE.sub(lambda m: names.get(m.group(1), m.group(1)), text)


class FieldError(ValueError):
    """A value a field does not accept: ``field``, ``detail`` (what is accepted and what was given).

    The detail may name other fields as ``{field}``; each front end words them, and the field
    itself, its own way: a flag on the command line, a widget label in the app.
    """

    given: str | None = None

    def __init__(self, field: str, detail: str, given: str | None = None):
        self.field, self.detail, self.given = field, detail, given
        super().__init__(self.worded({}))

    def worded(self, names: Mapping[str, str]) -> str:
        """The message with the field named in the caller's words (``{"batch_size": "--batch-size"}``);
        ``given``, when set, follows the name (``--unlabeled pool.zip: no images found``)."""
        name = names.get(self.field, self.field)
        return f"{name}{' ' + self.given if self.given else ''}: {self.detail_in(names)}"

    def detail_in(self, names: Mapping[str, str]) -> str:
        """The detail alone, other fields named in the caller's words (a message shown at the field's widget)."""
        return word_fields(self.detail, names)


@dataclass(frozen=True)
class Interval:
    """A number in ``[low, high]`` (``None``: unbounded); ``none`` names what ``None`` means, if it is allowed.

    An integer field takes a whole float too (``3.0`` is 3, as JSON written by other tools has it)
    and :meth:`convert` makes it an ``int``; ``3.5`` is refused as not a whole number.
    ``ceiling`` is a sanity cap rather than a range: values above it are typos or unit mistakes.

    >>> Interval(int, 1, 20).convert(3.0), Interval(int, 1, 20).problem(3.5)
    (3, 'not a whole number')
    """

    kind: type  # int or float
    low: float | None
    high: float | None
    unit: str = ""  # "seconds", "pixels": said instead of "an integer" / "a number"
    none: str | None = None  # e.g. "all" or "until converged": None is accepted and means this
    low_open: bool = False
    ceiling: float | None = None

    def problem(self, value: Any) -> str | None:
        """None when ``value`` is accepted; else why not ('' when the description says it all)."""
        if value is None:
            return None if self.none is not None else ""
        if isinstance(value, bool) or not isinstance(value, int | float):
            return ""
        if isinstance(value, float) and not math.isfinite(value):
            return "not a finite number"
        if self.kind is int and isinstance(value, float) and not value.is_integer():
            return "not a whole number"
        if self.low is not None and (value <= self.low if self.low_open else value < self.low):
            return ""
        if self.high is not None and value > self.high:
            return ""
        if self.ceiling is not None and value > self.ceiling:
            return "implausibly large"
        return None

    def accepts(self, value: Any) -> bool:
        return self.problem(value) is None

    def convert(self, value: Any) -> Any:
        """An accepted value as the field's type (``3.0`` -> 3 for an integer field)."""
        return value if value is None else self.kind(value)

    def describe(self) -> str:
        noun = self.unit or ("an integer" if self.kind is int else "a number")
        if self.low is not None and self.high is not None and not self.low_open:
            text = f"{noun} in {_number(self.low)}..{_number(self.high)}"
        else:
            top = self.high if self.high is not None else self.ceiling
            low = _number(self.low) if self.low is not None else ""
            parts = [f"> {low}" if self.low_open else f">= {low}"] if self.low is not None else []
            parts += [f"<= {_number(top)}"] if top is not None else []
            text = f"{noun} {' and '.join(parts)}".strip()
        return f"{text}, or {self.none}" if self.none else text


def _number(value: float) -> str:
    """A bound as a person reads it: whole numbers of up to ten digits in full (2147483647, not 2.14748e+09);
    sanity caps such as 1e+10 stay short (front ends spell them out, see ``finetune_or_scratch.reports.words.plain``)."""
    return str(int(value)) if float(value).is_integer() and abs(value) < 1e10 else f"{value:g}"


@dataclass(frozen=True)
class Options:
    """One of a fixed set of strings."""

    choices: tuple[str, ...]

    def problem(self, value: Any) -> str | None:
        return None if isinstance(value, str) and value in self.choices else ""

    def accepts(self, value: Any) -> bool:
        return self.problem(value) is None

    def convert(self, value: Any) -> Any:
        return value

    def describe(self) -> str:
        return "one of " + ", ".join(self.choices)


@dataclass(frozen=True)
class Flag:
    """``true`` or ``false`` (a JSON boolean; 1 and "yes" are not)."""

    def problem(self, value: Any) -> str | None:
        return None if isinstance(value, bool) else ""

    def accepts(self, value: Any) -> bool:
        return self.problem(value) is None

    def convert(self, value: Any) -> Any:
        return value

    def describe(self) -> str:
        return "true or false"


Constraint = Interval | Options | Flag


def check_field(field: str, value: Any, constraint: Constraint) -> Any:
    """Return ``value`` as the field's type, or raise :class:`FieldError` unless ``constraint`` accepts it."""
    reason = constraint.problem(value)
    if reason is not None:
        suffix = f" ({reason})" if reason else ""
        raise FieldError(field, f"expected {constraint.describe()}; got {excerpt(value)}{suffix}")
    return constraint.convert(value)


def check_fields(values: Mapping[str, Any] | Any, table: Mapping[str, Constraint]) -> dict[str, Any]:
    """Check every field of ``values`` (a mapping or an object with attributes) against its row in ``table``;
    returns the checked values, each as its field's type."""
    checked = {}
    for field, constraint in table.items():
        value = values[field] if isinstance(values, Mapping) else getattr(values, field)
        checked[field] = check_field(field, value, constraint)
    return checked
