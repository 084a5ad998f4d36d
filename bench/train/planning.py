"""The budget plan, before any arm trains: will each arm get enough steps in its budget on this machine?

A short throughput probe per gradient arm (a few timed steps after warm-up, the model built as
the trial builds it) estimates how many optimizer steps and epochs the budget buys. An arm
below the floor (bench.train.health: MIN_STEPS steps and MIN_EPOCHS epochs) is named with the
budget that would reach it, e.g. "scratch would get about 9 steps in 5 s here; 40 s gives it
2 epochs". The person can still go ahead: the plan informs, the health check judges.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from advisor.vocabulary import Trainable
from bench.train.arms import get_arm
from bench.train.budget import TRAIN_SHARE
from bench.train.cache import TrialCache
from bench.train.config import TrialConfig
from bench.train.health import MIN_EPOCHS, MIN_STEPS, floor_steps, seconds_to_floor
from bench.train.trial import measure_throughput


@dataclass(frozen=True)
class ArmPlan:
    arm: str
    steps_per_second: float
    steps_per_epoch: int
    planned_steps: int
    planned_epochs: float
    enough: bool
    suggested_seconds: float | None  # the budget that reaches the floor, when this one does not
    text: str


def plan_arms(
    base: TrialConfig, arms: Sequence[str], cache: TrialCache | None = None, clock: Callable[[], float] | None = None
) -> tuple[ArmPlan, ...]:
    """One plan per gradient arm of a budgeted run (the linear probe has no steps to plan)."""
    if base.budget_seconds is None:
        return ()
    cache = cache or TrialCache()
    plans = []
    for name in arms:
        if get_arm(name).trainable == Trainable.HEAD:
            continue
        config = replace(base, arm=name, seed=0)
        rate, per_epoch = measure_throughput(config, cache, clock)
        plans.append(plan_from_rate(name, rate, per_epoch, base.budget_seconds, config.train_share))
    return tuple(plans)


def plan_from_rate(
    arm: str, steps_per_second: float, steps_per_epoch: int, budget: float, train_share: float = TRAIN_SHARE
) -> ArmPlan:
    """The plan for one arm from its measured rate (pure: tests feed it numbers).

    ``train_share``: the part of the budget that trains (less for a hybrid arm whose pretraining
    comes out of the same budget).
    """
    steps = int(steps_per_second * budget * train_share)
    epochs = steps / max(steps_per_epoch, 1)
    enough = steps >= floor_steps(steps_per_epoch)
    if enough:
        return ArmPlan(arm, round(steps_per_second, 2), steps_per_epoch, steps, round(epochs, 2), True, None,
                       f"{arm}: about {steps} steps ({epochs:.1f} epochs) in {budget:g} s")  # fmt: skip
    seconds = seconds_to_floor(steps_per_second, steps_per_epoch, train_share)
    gives = steps_per_second * seconds * train_share / max(steps_per_epoch, 1)
    return ArmPlan(
        arm, round(steps_per_second, 2), steps_per_epoch, steps, round(epochs, 2), False, float(seconds),
        f"{arm} would get about {steps} steps in {budget:g} s here; {seconds:g} s gives it {gives:.0f} epochs "
        f"(a fair comparison needs at least {MIN_STEPS} steps and {MIN_EPOCHS:g} epoch)",
    )  # fmt: skip
