"""Budgets kept: a budgeted arm never trains past its budget by more than one step's time.

The planner is driven by an injected clock (each step "takes" a known time), so a loaded machine
cannot change what these tests see; one real tiny training checks the same bound against the
trial's own measured step times.
"""

import pytest

from bench.train.budget import BudgetPlanner
from bench.train.cache import TrialCache
from bench.train.callbacks import Callback
from bench.train.config import TrialConfig
from bench.train.trial import run_trial
from bench.vocabulary import FindingCode


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def simulate(budget: float, durations, steps_per_epoch: int = 20) -> tuple[BudgetPlanner, int]:
    """Run the planner as the loop does, step ``i`` taking ``durations(i)`` seconds; (planner, steps run)."""
    clock = FakeClock()
    planner = BudgetPlanner(budget, steps_per_epoch, 30, clock)
    planner.resume()
    step = 0
    while step < planner.planned:
        clock.now += durations(step + 1)
        step += 1
        planner.after_step(step)
    planner.pause()
    return planner, step


@pytest.mark.parametrize(
    "budget, durations",
    [
        (6.0, lambda i: 0.1),  # steady
        (6.0, lambda i: 5.0),  # every step nearly the whole budget (a loaded machine): stops after 2
        (6.0, lambda i: 3.0 if i == 1 else 0.2),  # a slow warm-up step
        (6.0, lambda i: 0.1 if i < 20 else 1.5),  # the machine slows down 15x mid-trial
        (5.0, lambda i: 0.4 if i % 7 else 2.0),  # an occasional slow step
        (1.0, lambda i: 0.3),  # a budget of 3 steps: no minimum of 6 steps
    ],
)
def test_training_never_exceeds_the_budget_by_more_than_one_step(budget, durations):
    planner, steps = simulate(budget, durations)
    slowest = max(durations(i) for i in range(2, steps + 1)) if steps > 1 else 0.0
    assert planner.train_seconds <= budget + slowest + 1e-9, (planner.train_seconds, steps)
    assert planner.first_step_seconds == pytest.approx(durations(1))
    assert planner.slowest_step_seconds == pytest.approx(slowest)
    # ...and it uses the budget: the next step would not have fitted at the pace measured
    assert planner.train_seconds + durations(steps + 1) > budget - 2 * slowest


def test_a_budget_of_a_few_steps_runs_those_steps_not_a_fixed_six():
    _, steps = simulate(1.0, lambda i: 0.3)
    assert steps == 3  # 0.9 s; a fourth would end at 1.2 s
    _, steps = simulate(6.0, lambda i: 5.0)
    assert steps == 2  # the first step never sets the pace; the second reaches the budget


def test_a_first_step_longer_than_the_budget_is_the_only_step():
    planner, steps = simulate(2.0, lambda i: 3.0 if i == 1 else 0.1)
    assert steps == 1 and planner.first_step_seconds == pytest.approx(3.0) and planner.stopped_by_budget


def test_an_empty_budget_plans_no_step():
    _, steps = simulate(0.0, lambda i: 0.1)
    assert steps == 0


CACHE = TrialCache()


class StepClock(Callback):
    """The trial's clock: each optimizer step takes ``per_step`` seconds, step ``slow_step`` takes ``slow``,
    a pretraining step takes ``pretrain_step``."""

    def __init__(self, per_step: float, slow_step: int = 0, slow: float = 0.0, pretrain_step: float = 0.0):
        self.per_step, self.slow_step, self.slow, self.pretrain_step = per_step, slow_step, slow, pretrain_step
        self.now, self.steps, self.phase, self.pretrain_reads = 0.0, 0, "data", 0

    def on_progress(self, state):
        self.phase = state.phase
        if state.phase == "train" and state.step > self.steps:
            self.steps = state.step
            self.now += self.slow if state.step == self.slow_step else self.per_step

    def __call__(self) -> float:
        if self.phase == "pretrain":  # pretraining reads the clock at its start and after every step
            self.now += self.pretrain_step if self.pretrain_reads else 0.0
            self.pretrain_reads += 1
        return self.now


@pytest.mark.slow
@pytest.mark.parametrize(
    "arm, dataset",
    [("full_finetune", "digits"), ("scratch", "digits"), ("hybrid_scratch", "digits"), ("scratch", "fortunes")],
)
def test_each_arm_family_keeps_its_budget(arm, dataset):
    budget, per_step, slow = 3.0, 0.25, 0.9
    # A hybrid's pretraining (half the budget) is one step here: pretraining steps are the costly ones.
    clock = StepClock(per_step, slow_step=5, slow=slow, pretrain_step=budget / 2)
    config = TrialConfig(dataset, arm, examples=120, budget_seconds=budget, batch_size=8, max_tokens=16)
    result = run_trial(config, [clock], cache=CACHE, clock=clock)
    assert result.status == "completed", result.error
    train_budget = budget - result.time_pretrain_s  # a hybrid fine-tunes in what pretraining left
    assert result.time_train_s <= train_budget + result.time_slowest_step_s + 1e-6, result
    assert result.time_train_s > train_budget - 2 * per_step  # and used the budget
    assert result.time_first_step_s == pytest.approx(per_step)
    if arm.startswith("hybrid"):
        assert result.pretrain_steps == 1 and result.time_pretrain_s == pytest.approx(budget / 2)


@pytest.mark.slow
def test_a_hybrids_pretraining_keeps_its_share_at_the_plans_batch_and_reports_its_warm_up_apart():
    # Pretraining steps take 0.25 s: the 2 s share of a 4 s budget fits eight, never a ninth past it.
    clock = StepClock(0.25, pretrain_step=0.25)
    config = TrialConfig("digits", "hybrid_scratch", examples=60, budget_seconds=4, batch_size=16,
                         scratch_resolution=8, pretrain_batch_size=16)  # fmt: skip
    result = run_trial(config, [clock], cache=CACHE, clock=clock)
    assert result.status == "completed", result.error
    assert result.pretrain_steps == 8 and result.time_pretrain_s == pytest.approx(2.0)
    assert result.time_pretrain_first_step_s == pytest.approx(0.25)  # the warm-up step, reported apart
    assert result.pretrain_notes[0].startswith("pretrained 8 steps of 16 images (simclr)")
    assert FindingCode.PRETRAINING_OVERRAN not in {f.code for f in result.health.findings}


@pytest.mark.slow
def test_real_training_stays_within_budget_plus_its_own_slowest_step():
    budget = 1.5
    config = TrialConfig("digits", "scratch", examples=200, budget_seconds=budget, batch_size=16)
    result = run_trial(config, cache=CACHE)
    assert result.status == "completed", result.error
    assert result.steps >= 2 and result.time_slowest_step_s > 0
    one_step = max(result.time_slowest_step_s, result.time_first_step_s)
    # Generous: the bound is one step; the margin covers the clock read that ends the last segment.
    assert result.time_train_s <= budget + 1.5 * one_step + 0.05, result
