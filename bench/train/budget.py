"""Planning a budgeted trial: how many steps fit in the budget, and the guard that keeps it.

``budget_seconds`` gives every arm the same training wall-clock, and the budget is kept: the
clock is read after every step of a budgeted trial, and no step starts that would, at the
measured pace, end past the budget. So training never runs past its budget by more than one
step's time (a step that took longer than the ones before it). Where steps differ in cost (text batches
are padded to their own longest text), the loop tells the planner each batch's cost and the next step is
predicted from its own cost at the measured seconds per unit of cost. The first step pays for
allocation and kernel selection: it is timed on its own (``first_step_seconds``, reported in the
trial result) and never used as the pace. Whatever floor an arm needs (bench.train.health:
MIN_STEPS) is the plan's business before training (bench.train.planning, bench.train.check):
the loop never runs past the budget to reach it.

The cosine schedule needs a total: it is planned from the running pace after the first steps and
re-planned every ``REPLAN_EVERY`` steps, so one slow stretch (a busy machine) neither cuts a trial
short nor runs it long. The clock is injected: the runner passes one that synchronises the device
before reading, tests pass a fake one. Without a budget the plan is ``max_epochs`` epochs with
early stopping, and the clock is read at evaluations only.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

PROBE_WARMUP_STEPS = 2  # untimed: first steps pay for allocation and kernel selection
PROBE_STEPS = 4  # timed to plan the budget
REPLAN_EVERY = 10  # steps between re-plans of a budgeted trial's schedule
MAX_EVALS = 6  # validation passes per budgeted trial: on a CPU each costs about a second
# A hybrid arm without its own pretraining budget spends this share of budget_seconds pretraining,
# so it is compared with the other arms at equal total wall-clock.
PRETRAIN_SHARE = 0.5
TRAIN_SHARE = 0.85  # part of a budget that trains; the rest pays for evaluation passes
BUDGET_GUARD = 1.10  # a hybrid's pretraining this far over its share is reported (one step can outlast it)
# Pretraining batches (bench.train.pretrain): the fewest images a step can use (fewer negatives for SimCLR,
# batch-norm statistics over fewer images for both objectives make the loss meaningless), the most, and
# how many steps the plan fits in a hybrid's share. Eight: one warm-up step that pays for allocation,
# and enough after it that the guard (never start a step that would end past the share) loses at most
# an eighth of the share to the step it refuses.
MIN_PRETRAIN_BATCH = 16
MAX_PRETRAIN_BATCH = 256
PRETRAIN_STEPS_IN_SHARE = 8


def train_share(contrastive: bool, pretrain_share: float) -> float:
    """The part of a budget that trains on the labels: TRAIN_SHARE less the pretraining's share. The setfit
    arm (``contrastive``) reserves its head's encoding and fits from its budget first, measured, and its pair
    steps take all of what is left.

    >>> train_share(False, 0.0), train_share(False, 0.5), train_share(True, 0.0)
    (0.85, 0.425, 1.0)
    """
    return 1.0 if contrastive else TRAIN_SHARE * (1 - pretrain_share)


def pretrain_batch_for(images_per_second: float, share_seconds: float) -> int | None:
    """The pretraining batch that fits PRETRAIN_STEPS_IN_SHARE steps in ``share_seconds`` at the measured
    rate (images per second, each seen in two views), between MIN_PRETRAIN_BATCH and MAX_PRETRAIN_BATCH;
    None when even one step of MIN_PRETRAIN_BATCH images would outlast the share.

    >>> pretrain_batch_for(400.0, 2.5), pretrain_batch_for(100_000.0, 2.5), pretrain_batch_for(20.0, 2.5)
    (125, 256, 16)
    >>> pretrain_batch_for(5.0, 2.5) is None  # a step of 16 takes 3.2 s
    True
    """
    fits = images_per_second * share_seconds
    if fits < MIN_PRETRAIN_BATCH:
        return None
    return int(max(MIN_PRETRAIN_BATCH, min(MAX_PRETRAIN_BATCH, fits // PRETRAIN_STEPS_IN_SHARE)))


def step_pace(elapsed: float, first_step: float, steps: int) -> float:
    """Seconds per step so far: the steps after the warm-up one, or the warm-up step while it is the only one.

    The pretraining loops (images and text) never start a step that at this pace would end past their budget.

    >>> step_pace(5.0, 2.0, 4), step_pace(2.0, 2.0, 1)
    (1.0, 2.0)
    """
    return (elapsed - first_step) / (steps - 1) if steps > 1 else first_step


def next_step_overruns(elapsed: float, first_step: float, steps: int, budget: float) -> bool:
    """The guard of the loops that run without a planner (text pretraining, SetFit's pairs): True when no further
    step may start, because the budget is spent or one more step at :func:`step_pace` would end past it.

    >>> next_step_overruns(5.0, 2.0, 4, 6.0), next_step_overruns(5.0, 2.0, 4, 5.5), next_step_overruns(0.0, 0.0, 0, 0.0)
    (False, True, True)
    """
    return elapsed >= budget or (steps > 0 and elapsed + step_pace(elapsed, first_step, steps) > budget)


def pretrain_seconds_for(images_per_second: float) -> float:
    """The pretraining share that fits PRETRAIN_STEPS_IN_SHARE steps of MIN_PRETRAIN_BATCH at the measured rate.

    >>> pretrain_seconds_for(8.0)
    16.0
    """
    return PRETRAIN_STEPS_IN_SHARE * MIN_PRETRAIN_BATCH / max(images_per_second, 1e-9)


@dataclass
class BudgetPlanner:
    """Decides, after each step, how many steps are planned, whether to evaluate now, and when to stop."""

    budget_seconds: float | None
    steps_per_epoch: int
    max_epochs: int
    clock: Callable[[], float]
    planned: int = 0
    eval_every: int | None = None
    train_seconds: float = 0.0  # training time measured so far (evaluation excluded)
    first_step_seconds: float = 0.0  # the warm-up step, timed on its own (budget mode)
    slowest_step_seconds: float = 0.0  # the slowest step after the first (budget mode)
    stopped_by_budget: bool = False
    # Steps of unequal cost (text batches padded to their own length): the cost of the steps after the first, so
    # that the guard predicts the next step from its own cost (``after_step``'s ``next_cost``), not the mean step.
    cost_after_first: float = 0.0
    _segment_start: float | None = field(default=None, repr=False)
    _last_elapsed: float = field(default=0.0, repr=False)

    def __post_init__(self) -> None:
        if self.budget_seconds is None:
            self.planned = self.steps_per_epoch * self.max_epochs
            self.eval_every = self.steps_per_epoch
        else:  # re-planned from the pace after the first steps; nothing runs on an empty budget
            self.planned = self.steps_per_epoch * self.max_epochs if self.budget_seconds > 0 else 0

    def resume(self) -> None:
        """Training (re)starts: the clock runs."""
        self._segment_start = self.clock()

    def pause(self) -> float:
        """Training pauses (for evaluation): the clock stops; returns the training seconds so far."""
        self.train_seconds = self._elapsed()
        self._segment_start = None
        return self.train_seconds

    def _elapsed(self) -> float:
        if self._segment_start is None:
            return self.train_seconds
        return self.train_seconds + self.clock() - self._segment_start

    def pace(self, step: int) -> float | None:
        """Seconds per step after the first (the running mean), or None before a second step."""
        if step < 2:
            return None
        return max((self._last_elapsed - self.first_step_seconds) / (step - 1), 1e-9)

    def next_step_seconds(self, step: int, next_cost: float | None = None) -> float | None:
        """The predicted time of step ``step + 1``: the pace per unit of cost times ``next_cost`` when the steps
        have costs (text: padded tokens), else the pace per step; None before a second step."""
        per_step = self.pace(step)
        if per_step is None or next_cost is None or self.cost_after_first <= 0:
            return per_step
        return max(self._last_elapsed - self.first_step_seconds, 0.0) / self.cost_after_first * next_cost

    def after_step(self, step: int, cost: float | None = None, next_cost: float | None = None) -> bool:
        """Update the plan after ``step`` steps; True when a validation pass is due now.

        ``cost`` (this step's) and ``next_cost`` (the next one's), in any unit a step's time is proportional to,
        let the guard predict the next step's time from its own cost; None: every step costs the same (images).
        """
        budget = self.budget_seconds
        if budget is None:
            return step % self.steps_per_epoch == 0 or step >= self.planned
        elapsed = self._elapsed()
        took, self._last_elapsed = elapsed - self._last_elapsed, elapsed
        if step == 1:
            self.first_step_seconds = took
        else:
            self.slowest_step_seconds = max(self.slowest_step_seconds, took)
            self.cost_after_first += cost or 0.0
        per_step = self.pace(step)
        timed = step - PROBE_WARMUP_STEPS
        replan = step == 2 or timed == PROBE_STEPS or (timed > 0 and timed % REPLAN_EVERY == 0) or step >= self.planned
        if per_step is not None and replan:
            self.planned = max(step + 1, step + int((budget - elapsed) / per_step))
            evals = min(MAX_EVALS, max(1, math.ceil(self.planned / self.steps_per_epoch)))
            self.eval_every = max(1, math.ceil(self.planned / evals))
        # The guard, every step: never start a step that would end past the budget at the measured pace.
        next_step = self.next_step_seconds(step, next_cost)
        if elapsed >= budget or (next_step is not None and elapsed + next_step > budget):
            self.planned, self.stopped_by_budget = step, True
        if step >= self.planned:
            return True
        return self.eval_every is not None and step % self.eval_every == 0
