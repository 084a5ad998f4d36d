"""Planning a budgeted trial: how many steps fit in the budget, re-planned from the measured step time.

``budget_seconds`` gives every arm the same training wall-clock. After a few untimed warm-up
steps, a short probe measures seconds per step and the schedule is planned to end inside the
budget; it is re-planned every ``REPLAN_EVERY`` steps from the running average, so one slow
probe (a busy machine, a first-use kernel) never cuts a trial short. The clock is injected:
the runner passes one that synchronises the device before reading, tests pass a fake one.
The device is synchronised only when the clock is read (probe end, re-plans, evaluations),
never every step. Without a budget the plan is ``max_epochs`` epochs with early stopping.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

PROBE_WARMUP_STEPS = 2  # untimed: first steps pay for allocation and kernel selection
PROBE_STEPS = 4  # timed to plan the budget
REPLAN_EVERY = 10  # steps between re-plans of a budgeted trial
MAX_EVALS = 6  # validation passes per budgeted trial: on a CPU each costs about a second
# A hybrid arm without its own pretraining budget spends this share of budget_seconds pretraining,
# so it is compared with the other arms at equal total wall-clock.
PRETRAIN_SHARE = 0.5
TRAIN_SHARE = 0.85  # part of a budget that trains; the rest pays for evaluation passes
BUDGET_GUARD = 1.10  # stop training if it runs 10% over the budget (e.g. the machine slowed down)


@dataclass
class BudgetPlanner:
    """Decides, after each step, how many steps are planned and whether to evaluate now."""

    budget_seconds: float | None
    steps_per_epoch: int
    max_epochs: int
    clock: Callable[[], float]
    planned: int = 0
    eval_every: int | None = None
    train_seconds: float = 0.0  # training time measured so far (evaluation excluded)
    _segment_start: float | None = field(default=None, repr=False)
    _probe_start: float | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.planned = self.steps_per_epoch * self.max_epochs  # replaced by the probe in budget mode
        self.eval_every = self.steps_per_epoch if self.budget_seconds is None else None

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

    def after_step(self, step: int) -> bool:
        """Update the plan after ``step`` steps; True when a validation pass is due now."""
        budget = self.budget_seconds
        timed = step - PROBE_WARMUP_STEPS
        if budget is not None and timed == 0:
            self._probe_start = self._elapsed()
        due = False
        replan = timed == PROBE_STEPS or (timed > PROBE_STEPS and timed % REPLAN_EVERY == 0) or step >= self.planned
        if budget is not None and timed >= PROBE_STEPS and replan:
            elapsed = self._elapsed()
            per_step = max((elapsed - self._probe_start) / timed, 1e-9)
            self.planned = max(step, step + int((budget - elapsed) / per_step))
            evals = min(MAX_EVALS, max(1, math.ceil(self.planned / self.steps_per_epoch)))
            self.eval_every = max(1, math.ceil(self.planned / evals))
            if elapsed > budget * BUDGET_GUARD:
                self.planned, due = step, True
        if self.eval_every is not None and (step % self.eval_every == 0 or step >= self.planned):
            due = True
        return due
