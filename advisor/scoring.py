"""Scores every strategy for a profile by summing the rule table's contributions."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from advisor.measured import BUDGET_FACTOR_STRATEGY, MeasuredCosts, schedule_share
from advisor.profile import Profile
from advisor.rules import RULES, SOURCES, Rule, signals_from_profile
from advisor.strategies import STRATEGIES, STRATEGY_NAMES

# Confidence is the chance that the top strategy measures best, read off the margin (points)
# between the top two: 1 / (1 + exp(-CONFIDENCE_SLOPE * (1 - exp(-margin / CONFIDENCE_SCALE)))),
# so a tie is a coin toss (0.5) and a wide margin levels off at 1 / (1 + exp(-SLOPE)) = 0.82.
# Both are fitted (scripts/fit_confidence.py) to the tuning rows of the published table: the
# advice was the published winner in 72 of the 87 with a margin, and wide margins were no surer
# than narrow ones. The formula before it, 1 / (1 + exp(-1.27 * margin)) (fitted to 17 grid
# cells), stated 0.9-1.0 on tuning rows right 55% of the time (Brier 0.357 on the tuning rows under the
# old rules; 0.173 under the rules re-derived from those rows, against the fit's 0.141).
CONFIDENCE_SLOPE = 1.49
CONFIDENCE_SCALE = 0.1


@dataclass(frozen=True)
class Contribution:
    """What one rule added to one strategy's score."""

    rule: str
    strategy: str
    points: float


@dataclass(frozen=True)
class RankedStrategy:
    strategy: str
    label: str
    score: float
    feasible: bool
    note: str = ""


@dataclass(frozen=True)
class Scores:
    """The outcome of the rule table for one profile (no reasons, recipe or counterfactuals)."""

    ranking: tuple[RankedStrategy, ...]
    contributions: tuple[Contribution, ...]
    strengths: dict[str, float]

    @property
    def top(self) -> str:
        return self.ranking[0].strategy

    @property
    def confidence(self) -> float:
        """The chance that the top strategy measures best: 0.5 for a tie with the second, near 1 when far apart."""
        first, second = self.ranking[0], self.ranking[1]
        if not second.feasible:
            return 1.0
        return confidence_from_margin(first.score - second.score)


def confidence_from_margin(margin: float) -> float:
    """The stated chance that the first of two strategies, ``margin`` points ahead, measures best.

    >>> confidence_from_margin(0.0)
    0.5
    """
    return round(1 / (1 + math.exp(-CONFIDENCE_SLOPE * (1 - math.exp(-margin / CONFIDENCE_SCALE)))), 3)


def score_profile(profile: Profile, measured: MeasuredCosts | None = None) -> Scores:
    """Apply every rule to the profile and rank the strategies, feasible ones first.

    ``measured``: costs measured on the person's data; the budget factors then use them
    (:mod:`advisor.measured`) instead of the fixed compute factor.

    >>> from advisor.profile import example_profile
    >>> score_profile(example_profile()).top in STRATEGY_NAMES
    True
    """
    strengths = _strengths(profile, measured)
    contributions = tuple(
        Contribution(rule.name, strategy, round(strengths[rule.name] * weight, 4))
        for rule in RULES
        for strategy, weight in rule.weights.items()
    )
    return Scores(_ranked(profile, strengths), contributions, strengths)


def top_strategy(profile: Profile, measured: MeasuredCosts | None = None) -> str:
    """``score_profile(profile, measured).top`` without the per-rule contributions: the counterfactual
    search asks it of some 1,500 profiles per recommendation.

    >>> from advisor.profile import example_profile
    >>> top_strategy(example_profile()) == score_profile(example_profile()).top
    True
    """
    return _ranked(profile, _strengths(profile, measured))[0].strategy


def _strengths(profile: Profile, measured: MeasuredCosts | None = None) -> dict[str, float]:
    signals = signals_from_profile(profile)
    if measured is not None:
        shares = {
            rule: schedule_share(profile, measured, strategy) for rule, strategy in BUDGET_FACTOR_STRATEGY.items()
        }
        signals = replace(
            signals,
            finetune_share=shares["tight_budget"].share if shares["tight_budget"] else None,
            scratch_share=shares["tight_scratch_budget"].share if shares["tight_scratch_budget"] else None,
        )
    return {rule.name: rule.strength(signals) for rule in RULES}


def _ranked(profile: Profile, strengths: dict[str, float]) -> tuple[RankedStrategy, ...]:
    totals = dict.fromkeys(STRATEGY_NAMES, 0.0)
    for rule in RULES:
        for strategy, weight in rule.weights.items():
            totals[strategy] += strengths[rule.name] * weight
    order = {name: index for index, name in enumerate(STRATEGY_NAMES)}
    ranked = [
        RankedStrategy(
            strategy=s.name,
            label=s.label,
            score=round(totals[s.name], 3),
            feasible=profile.pretrained_available or not s.needs_pretrained,
            note="" if profile.pretrained_available or not s.needs_pretrained else "needs a pretrained model",
        )
        for s in STRATEGIES
    ]
    # Feasible first, then by score; ties go to the cheaper strategy (table order).
    ranked.sort(key=lambda r: (not r.feasible, -r.score, order[r.strategy]))
    return tuple(ranked)


def cite(rule: Rule) -> str:
    return "; ".join(SOURCES[key] for key in rule.sources)
