"""What would change the answer: the smallest changes to the profile that change the top strategy.

Distance is measured in plain units: one order of magnitude for a count or a budget, half a
step for an ordered choice (similarity, compute tier), one for flipping a yes/no answer.
Single-field changes come first; a strategy that no single change reaches is looked for
among pairs of the fields a user can actually change (data, budget, hardware).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import combinations
from typing import Any

from advisor.profile import ABSURD, COMPUTES, Profile
from advisor.scoring import top_strategy
from advisor.strategies import STRATEGY_BY_NAME

# Ten values per decade, rounded to two significant figures: "about 79,000 labels".
_DECADES = range(0, 11)
_COUNT_LADDER = sorted({float(f"{10 ** (d + k / 10):.2g}") for d in _DECADES for k in range(10)})
_COARSE_COUNT_LADDER = sorted({float(f"{10 ** (d + k / 2):.2g}") for d in _DECADES for k in range(2)})
_HOURS_LADDER = (0.25, 0.5, 1, 2, 4, 8, 12, 24, 48, 72, 168, 336, 720, 2160)
# Similarity as an ordered scale for distances (unknown sits between medium and low).
_SIMILARITY_ORDER = ("low", "unknown", "medium", "high")
_COMPUTE_WORDS = {"cpu": "CPU", "single_gpu": "single-GPU", "multi_gpu": "multi-GPU", "cluster": "cluster"}
# The yes/no answers a counterfactual may flip, each in words for (yes, no).
_FLIPPABLE: dict[str, tuple[str, str]] = {
    "pretrained_available": ("a pretrained model for your data", "no pretrained model"),
    "edge_deployment": ("deployment on an edge device", "no edge deployment"),
    "custom_architecture": ("a custom architecture required", "no custom architecture"),
    "interpretability": ("interpretability required", "no interpretability requirement"),
}
_PAIR_FIELDS = ("labeled_examples", "time_budget_hours", "compute", "domain_similarity", "unlabeled_examples")


@dataclass(frozen=True)
class Change:
    field: str
    old: Any
    new: Any


@dataclass(frozen=True)
class Counterfactual:
    changes: tuple[Change, ...]
    strategy: str  # the strategy that would then rank first
    distance: float
    text: str


def _candidates(profile: Profile, field: str, coarse: bool = False) -> Iterator[tuple[Any, float]]:
    """Every alternative value for ``field`` with its distance from the current one.

    ``coarse`` keeps two counts per decade, for the pair search (which is quadratic).
    """
    current = getattr(profile, field)
    if field in ("labeled_examples", "unlabeled_examples"):
        floor = profile.num_classes if field == "labeled_examples" else 0  # at least one label per class
        ladder = _COARSE_COUNT_LADDER if coarse else _COUNT_LADDER
        values = [int(v) for v in ladder if floor <= v <= ABSURD]
        if field == "unlabeled_examples":
            values = [0, *values]
        for value in values:
            if value != current:
                yield value, abs(math.log10((value + 1) / (current + 1)))
    elif field == "time_budget_hours":
        for value in _HOURS_LADDER:
            if value != current:
                yield float(value), abs(math.log10(value / current))
    elif field in ("compute", "domain_similarity"):
        order = COMPUTES if field == "compute" else _SIMILARITY_ORDER
        for value in order:
            if value != current:
                yield value, 0.5 * abs(order.index(value) - order.index(current))
    elif field in _FLIPPABLE:
        yield (not current), 1.0


def _describe(changes: tuple[Change, ...], strategy: str, current_top: str) -> str:
    parts = []
    for change in changes:
        new = change.new
        if change.field in ("labeled_examples", "unlabeled_examples"):
            noun = "labeled" if change.field == "labeled_examples" else "unlabeled"
            parts.append(f"about {new:,} {noun} examples")
        elif change.field == "time_budget_hours":
            parts.append(f"a {new:g}-hour time budget")
        elif change.field == "compute":
            parts.append(f"{_COMPUTE_WORDS[new]} compute")
        elif change.field == "domain_similarity":
            parts.append(f"{new} domain similarity")
        else:
            yes, no = _FLIPPABLE[change.field]
            parts.append(yes if new else no)
    label = STRATEGY_BY_NAME[strategy].label.lower()
    now = STRATEGY_BY_NAME[current_top].label.lower()
    return f"With {' and '.join(parts)}, {label} would rank first (instead of {now})."


def find_counterfactuals(profile: Profile, limit: int = 6) -> tuple[Counterfactual, ...]:
    """The smallest changes that change the top strategy, nearest first.

    For each field and direction only the nearest flipping value is kept.
    """
    top = top_strategy(profile)
    found: dict[tuple[str, str], Counterfactual] = {}
    for field in (
        "labeled_examples",
        "unlabeled_examples",
        "time_budget_hours",
        "compute",
        "domain_similarity",
        *_FLIPPABLE,
    ):
        for value, distance in sorted(_candidates(profile, field), key=lambda c: c[1]):
            new_top = top_strategy(profile.replace(**{field: value}))
            if new_top == top:
                continue
            direction = "up" if _is_increase(getattr(profile, field), value, field) else "down"
            key = (field, direction)
            if key not in found or distance < found[key].distance:
                changes = (Change(field, getattr(profile, field), value),)
                found[key] = Counterfactual(changes, new_top, round(distance, 3), _describe(changes, new_top, top))
    reached = {c.strategy for c in found.values()}
    singles = sorted(found.values(), key=lambda c: c.distance)
    pairs = _pair_counterfactuals(profile, top, reached)
    return tuple(singles[: max(0, limit - len(pairs))] + pairs)


def _pair_counterfactuals(profile: Profile, top: str, reached: set[str]) -> list[Counterfactual]:
    """For the runner-up strategies no single change reaches, the nearest two-field change."""
    best: dict[str, Counterfactual] = {}
    for field_a, field_b in combinations(_PAIR_FIELDS, 2):
        for value_a, dist_a in _candidates(profile, field_a, coarse=True):
            for value_b, dist_b in _candidates(profile, field_b, coarse=True):
                distance = dist_a + dist_b
                new_top = top_strategy(profile.replace(**{field_a: value_a, field_b: value_b}))
                if new_top in (top, *reached):
                    continue
                if new_top not in best or distance < best[new_top].distance:
                    changes = (
                        Change(field_a, getattr(profile, field_a), value_a),
                        Change(field_b, getattr(profile, field_b), value_b),
                    )
                    best[new_top] = Counterfactual(
                        changes, new_top, round(distance, 3), _describe(changes, new_top, top)
                    )
    return sorted(best.values(), key=lambda c: c.distance)[:2]


def _is_increase(old: Any, new: Any, field: str) -> bool:
    if field == "compute":
        return COMPUTES.index(new) > COMPUTES.index(old)
    if field == "domain_similarity":
        return _SIMILARITY_ORDER.index(new) > _SIMILARITY_ORDER.index(old)
    return bool(new > old)
