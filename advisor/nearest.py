"""Nearest published cases: the rows of the published table whose setting is closest to a profile.

The distance is Euclidean over four of the profile's fields, each put on a scale where one unit
is "a clearly different setting":

* labels per class, log10: one decade (10 vs 100 labels per class) is 1;
* domain similarity, as the rules read it (:data:`advisor.rules.SIMILARITY_VALUE`: high 1.0,
  medium 0.6, unknown 0.4, low 0.0): high vs low is 1;
* compute-hours, log10 of ``time_budget_hours x GPU_HOURS_PER_HOUR[compute]``, halved: two
  decades (one CPU-hour, 0.05 GPU-hours, vs 5 GPU-hours) is 1;
* modality: 0 when equal, :data:`OTHER_MODALITY` (1.5) when not.

    d = sqrt(dlabels^2 + dsimilarity^2 + (dcompute / 2)^2 + modality^2)

The cases shown are the nearest of the profile's own modality; rows of another kind of input fill in
only when the table has fewer than three of it (a text question is not answered by a tabular study,
however close its label count). Their distance then carries the modality term, and says so.

Other fields (resolution, unlabeled pool, edge) are not in the distance: most published
settings do not vary them, and the rows say them in their notes.

>>> from advisor.profile import example_profile
>>> case_distance(example_profile(), example_profile())
0.0
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from advisor.profile import Profile
from advisor.published import PublishedRow
from advisor.rules import GPU_HOURS_PER_HOUR, SIMILARITY_VALUE
from advisor.strategies import STRATEGY_BY_NAME

OTHER_MODALITY = 1.5
COMPUTE_DECADES_PER_UNIT = 2.0
NEAREST = 3


def compute_hours(profile: Profile) -> float:
    """The budget in single-GPU hours: wall-clock hours times what one hour of the tier buys."""
    return profile.time_budget_hours * GPU_HOURS_PER_HOUR[profile.compute]


def case_distance(a: Profile, b: Profile) -> float:
    """The documented distance between two settings (module docstring); symmetric, 0 for equal fields.

    >>> from advisor.profile import example_profile
    >>> p = example_profile()
    >>> round(case_distance(p, p.replace(labeled_examples=p.labeled_examples * 10)), 3)
    1.0
    """
    labels = math.log10(a.labeled_examples / a.num_classes) - math.log10(b.labeled_examples / b.num_classes)
    similarity = SIMILARITY_VALUE[a.domain_similarity] - SIMILARITY_VALUE[b.domain_similarity]
    compute = (math.log10(compute_hours(a)) - math.log10(compute_hours(b))) / COMPUTE_DECADES_PER_UNIT
    modality = 0.0 if a.modality == b.modality else OTHER_MODALITY
    return math.sqrt(labels**2 + similarity**2 + compute**2 + modality**2)


@dataclass(frozen=True)
class PublishedCase:
    """A published row beside a recommendation: how far its setting is and whether it agrees."""

    id: str
    study: str
    task: str
    source: str
    where: str
    metric: str
    higher_is_better: bool
    results: dict[str, float]
    winner: str
    margin: float
    checked: bool
    distance: float
    setting: str  # the row's setting in a few words
    agrees: bool | None  # True: the advised strategy won; False: it lost; None: the study did not compare it

    @property
    def outcome(self) -> str:
        """The result in words: "Full fine-tune won: 90 vs 84 for linear probe (top-1 accuracy (%))"."""
        ranked = sorted(self.results, key=self.results.__getitem__, reverse=self.higher_is_better)
        others = "; ".join(f"{self.results[name]:g} for {STRATEGY_BY_NAME[name].label.lower()}"
                           for name in ranked if name != self.winner)  # fmt: skip
        return f"{STRATEGY_BY_NAME[self.winner].label} won: {self.results[self.winner]:g} vs {others} ({self.metric})"

    def verdict_on(self, strategy: str) -> bool | None:
        """True if ``strategy`` won here (or tied the winner), False if it lost, None if the study did not compare it."""
        if strategy not in self.results:
            return None
        return self.results[strategy] == self.results[self.winner]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "study": self.study,
            "task": self.task,
            "source": self.source,
            "where": self.where,
            "metric": self.metric,
            "higher_is_better": self.higher_is_better,
            "results": self.results,
            "winner": self.winner,
            "margin": self.margin,
            "checked": self.checked,
            "distance": self.distance,
            "setting": self.setting,
            "agrees": self.agrees,
            "outcome": self.outcome,
        }


def setting_words(profile: Profile) -> str:
    """A row's setting in a few words: "image, 67 labels per class, medium similarity, 12 GPU-hours"."""
    per_class = profile.labeled_examples / profile.num_classes
    hours = compute_hours(profile)
    return (
        f"{profile.modality}, {_number(per_class)} labels per class, {profile.domain_similarity} similarity, "
        f"{_number(hours)} GPU-hour{'' if _number(hours) == '1' else 's'}"
    )


def _number(value: float) -> str:
    """Three significant figures without exponents: 2.5, 99.5, 6,140."""
    return f"{value:,.3g}" if value < 1000 else f"{float(f'{value:.3g}'):,.0f}"


def nearest_cases(
    profile: Profile, rows: Sequence[PublishedRow], advised: str, count: int = NEAREST
) -> tuple[PublishedCase, ...]:
    """The ``count`` rows closest to ``profile``, those of its modality first (ties broken by id), each marked
    for or against ``advised``."""
    ranked = sorted(
        rows,
        key=lambda row: (row.profile.modality != profile.modality, case_distance(profile, row.profile), row.id),
    )[:count]
    return tuple(
        PublishedCase(
            id=row.id,
            study=row.study,
            task=row.task,
            source=row.source,
            where=row.where,
            metric=row.metric,
            higher_is_better=row.higher_is_better,
            results=dict(row.results),
            winner=row.winner,
            margin=row.margin,
            checked=row.checked,
            distance=round(case_distance(profile, row.profile), 3),
            setting=setting_words(row.profile),
            agrees=(advised in row.winners) if advised in row.results else None,
        )
        for row in ranked
    )


def disagreement_note(advised: str, cases: Sequence[PublishedCase]) -> str:
    """A plain sentence when the closest published cases compared the advice and it lost there; else ""."""
    against = [case for case in cases if case.verdict_on(advised) is False]
    if not against:
        return ""
    label = STRATEGY_BY_NAME[advised].label.lower()
    winners = sorted({STRATEGY_BY_NAME[case.winner].label.lower() for case in against})
    tested = sum(case.verdict_on(advised) is not None for case in cases)
    return (
        f"The advice disagrees with {len(against)} of the {tested} closest published cases that tested "
        f"{label}: there {' or '.join(winners)} won ({', '.join(case.id for case in against)}). "
        f"The closest of them is {min(case.distance for case in against):.2f} away (1.0 is a decade of labels "
        "per class, high vs low similarity, or a hundredfold compute): the closer a case, the more it should weigh."
    )
