"""``recommend(profile) -> Recommendation``: the advisor's one public entry point."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from advisor.counterfactuals import Counterfactual, find_counterfactuals
from advisor.measured import BUDGET_FACTOR_STRATEGY, MeasuredCosts, ScheduleShare, schedule_share
from advisor.nearest import PublishedCase, disagreement_note, nearest_cases
from advisor.profile import Profile
from advisor.published import PublishedRowError, shipped_rows
from advisor.recipes import Recipe, recipe_for
from advisor.rules import MIN_STRENGTH, RULE_BY_NAME, RULES
from advisor.scoring import Contribution, RankedStrategy, cite, score_profile

RULES_DOC = "advisor/data/rules.md"


@dataclass(frozen=True)
class Reason:
    """A rule that applies, in plain words, with its evidence and what it pushed."""

    rule: str
    title: str
    text: str
    strength: float
    source: str
    pushes: dict[str, float]  # strategy -> points this rule added


@dataclass(frozen=True)
class Recommendation:
    profile: Profile
    strategy: str
    confidence: float
    ranking: tuple[RankedStrategy, ...]
    contributions: tuple[Contribution, ...]
    reasons: tuple[Reason, ...]
    counterfactuals: tuple[Counterfactual, ...]
    recipe: Recipe
    # The three published cases closest to the profile (advisor/nearest.py), and a plain sentence
    # when the advice lost in those that tested it ("" otherwise).
    nearest_cases: tuple[PublishedCase, ...] = ()
    nearest_note: str = ""

    def factors(self) -> list[dict[str, Any]]:
        """Each factor's signed contribution to each strategy, non-zero ones only."""
        return [
            {
                "factor": c.rule,
                "title": RULE_BY_NAME[c.rule].title,
                "strategy": c.strategy,
                "points": c.points,
            }
            for c in self.contributions
            if abs(c.points) >= 1e-3
        ]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; the CLI's ``--json`` and saved reports use exactly this."""
        return {
            "strategy": self.strategy,
            "confidence": self.confidence,
            "ranking": [asdict(r) for r in self.ranking],
            "factors": self.factors(),
            "reasons": [asdict(r) for r in self.reasons],
            "counterfactuals": [
                {
                    "changes": [asdict(c) for c in cf.changes],
                    "strategy": cf.strategy,
                    "distance": cf.distance,
                    "text": cf.text,
                }
                for cf in self.counterfactuals
            ],
            "recipe": self.recipe.to_dict(),
            "nearest_cases": [case.to_dict() for case in self.nearest_cases],
            "nearest_note": self.nearest_note,
            "profile": self.profile.to_dict(),
            "rules_doc": RULES_DOC,
        }


def _measured(rule: str, profile: Profile, measured: MeasuredCosts | None) -> ScheduleShare | None:
    """The measured schedule share a budget factor used (None: the rule is not one, or nothing was measured)."""
    if measured is None or rule not in BUDGET_FACTOR_STRATEGY:
        return None
    return schedule_share(profile, measured, BUDGET_FACTOR_STRATEGY[rule])


def recommend(profile: Profile, measured: MeasuredCosts | None = None) -> Recommendation:
    """Rank the five strategies for ``profile`` and explain the ranking.

    ``measured``: training costs measured on the person's data (:mod:`advisor.measured`); the budget
    factors then use them instead of the fixed CPU-to-GPU factor, and their reasons say so.

    >>> from advisor.profile import example_profile
    >>> rec = recommend(example_profile())
    >>> rec.strategy == rec.ranking[0].strategy and 0.0 <= rec.confidence <= 1.0
    True
    """
    scores = score_profile(profile, measured)
    reasons = []
    for rule in RULES:
        strength = scores.strengths[rule.name]
        share = _measured(rule.name, profile, measured)
        if strength < MIN_STRENGTH and share is None:
            continue
        pushes = {c.strategy: c.points for c in scores.contributions if c.rule == rule.name and c.points}
        if share is None:
            text = rule.reason
        elif strength < MIN_STRENGTH:  # shown anyway: the measurement is why the factor does not apply
            text = f"Does not apply once measured. {share.words(profile)}"
        else:
            text = f"{rule.reason} {share.words(profile)}"
        reasons.append(Reason(rule.name, rule.title, text, round(strength, 3), cite(rule), pushes))
    if not profile.pretrained_available:
        reasons.insert(
            0,
            Reason(
                "no_pretrained_model",
                "No pretrained model",
                "No pretrained model exists for this modality, so linear probing and fine-tuning are ruled out.",
                1.0,
                "definition",
                {},
            ),
        )
    # Strongest first, so the top of the list explains the answer.
    top = scores.top
    reasons.sort(key=lambda r: (r.rule != "no_pretrained_model", -abs(r.pushes.get(top, 0.0))))
    try:
        cases = nearest_cases(profile, shipped_rows(), top)
        note = disagreement_note(top, cases)
    except PublishedRowError as error:  # the whole table or none of it: never a part
        cases, note = (), f"No published cases shown: the table did not load ({error})."
    return Recommendation(
        profile=profile,
        strategy=top,
        confidence=scores.confidence,
        ranking=scores.ranking,
        contributions=scores.contributions,
        reasons=tuple(reasons),
        counterfactuals=find_counterfactuals(profile),
        recipe=recipe_for(top, profile),
        nearest_cases=cases,
        nearest_note=note,
    )
