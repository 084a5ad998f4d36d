"""Measured training costs: what the advisor's budget factors use in place of its fixed compute factor.

Without a measurement the budget rules convert the profile's hours to GPU-hours by a fixed factor
per compute tier (:data:`advisor.rules.GPU_HOURS_PER_HOUR`: a CPU-hour is 0.05 GPU-hours). With one,
they ask instead what share of the strategy's own recipe schedule the budget buys: the recipe's
epochs times the measured seconds per epoch on the person's labeled set. The benchmark builds these
from a check's throughput probe (``bench.train.check.measured_costs``); this module imports nothing
from ``bench``.
"""

from __future__ import annotations

from dataclasses import dataclass

from advisor.profile import Profile
from advisor.recipes import recipe_for
from advisor.rules import GPU_HOURS_PER_HOUR
from advisor.strategies import STRATEGY_BY_NAME
from advisor.vocabulary import StrategyName


@dataclass(frozen=True)
class StrategyCost:
    """One strategy's measured cost: seconds per pass over the profile's labeled examples, and where."""

    strategy: str
    seconds_per_epoch: float
    compute: str  # where it was measured, in the profile's compute words (cpu, single_gpu, ...)


@dataclass(frozen=True)
class MeasuredCosts:
    costs: tuple[StrategyCost, ...]

    def get(self, strategy: str) -> StrategyCost | None:
        return next((c for c in self.costs if c.strategy == strategy), None)


@dataclass(frozen=True)
class ScheduleShare:
    """What the person's budget buys of one strategy's recipe schedule, from a measured cost."""

    cost: StrategyCost
    epochs: int  # the recipe's schedule for this profile
    share: float  # budget seconds / (epochs x seconds per epoch); 1: the whole schedule fits
    converted: bool  # measured on other compute than the profile's: the budget converted by the fixed factor

    def words(self, profile: Profile) -> str:
        hours = profile.time_budget_hours
        on = "the same kind of compute as your budget" if not self.converted else (
            f"{self.cost.compute}, your {profile.compute} budget converted by the fixed factor"
        )  # fmt: skip
        return (
            f"Measured: {STRATEGY_BY_NAME[self.cost.strategy].label} takes {self.cost.seconds_per_epoch:,.0f} s per epoch of your "
            f"{profile.labeled_examples:,} labels on {on}; your {hours:g}-hour budget buys {self.share:.2g}x its "
            f"{self.epochs}-epoch schedule."
        )


def schedule_share(profile: Profile, measured: MeasuredCosts, strategy: str) -> ScheduleShare | None:
    """The share of ``strategy``'s recipe schedule the profile's budget buys, or None when it was not measured.

    >>> from advisor.profile import example_profile
    >>> p = example_profile()
    >>> m = MeasuredCosts((StrategyCost("full_finetune", 60.0, p.compute),))
    >>> s = schedule_share(p, m, "full_finetune")
    >>> round(s.share, 3) == round(p.time_budget_hours * 3600 / (s.epochs * 60.0), 3), s.converted
    (True, False)
    """
    cost = measured.get(strategy)
    if cost is None or cost.seconds_per_epoch <= 0:
        return None
    budget = profile.time_budget_hours * 3600
    converted = cost.compute != profile.compute
    if converted:  # seconds on the measured compute that the profile's hours are worth
        budget *= GPU_HOURS_PER_HOUR[profile.compute] / GPU_HOURS_PER_HOUR[cost.compute]
    epochs = recipe_for(strategy, profile).epochs
    return ScheduleShare(cost, epochs, budget / (epochs * cost.seconds_per_epoch), converted)


# Which measured strategy each budget factor reads: the costliest pretrained strategy for the general
# budget (only cheap adaptation fits when full fine-tuning does not), scratch for the scratch budget.
BUDGET_FACTOR_STRATEGY = {"tight_budget": StrategyName.FULL_FINETUNE, "tight_scratch_budget": StrategyName.SCRATCH}
