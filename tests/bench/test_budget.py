"""Budgets kept: a budgeted arm never trains past its budget by more than one step's time.

The planner is driven by an injected clock (each step "takes" a known time), so a loaded machine
cannot change what these tests see; one real tiny training checks the same bound against the
trial's own measured step times.
"""

from dataclasses import replace

import pytest

from bench.train.budget import BudgetPlanner
from bench.train.cache import TrialCache
from bench.train.callbacks import Callback, Hooks
from bench.train.config import TrialConfig
from bench.train.trial import run_trial
from bench.vocabulary import FindingCode
from tests.bench.texts import two_class_csv


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


def simulate_costs(budget: float, costs, per_cost: float, with_costs: bool = True) -> tuple[BudgetPlanner, int]:
    """As :func:`simulate`, step ``i`` taking ``per_cost * costs(i)`` seconds (a text batch's padded tokens), the
    loop telling the planner each step's cost and the next one's (``with_costs``) as the gradient loop does."""
    clock = FakeClock()
    planner = BudgetPlanner(budget, 20, 30, clock)
    planner.resume()
    step = 0
    while step < planner.planned:
        clock.now += per_cost * costs(step + 1)
        step += 1
        planner.after_step(step, costs(step) if with_costs else None, costs(step + 1) if with_costs else None)
    planner.pause()
    return planner, step


@pytest.mark.parametrize("budget", [1.0, 1.8, 2.8, 3.6])
def test_steps_of_unequal_cost_are_predicted_from_their_own_cost_and_never_end_past_the_budget(budget):
    # Every fifth batch holds long texts: 6x the padded tokens, 6x the time (seen: a 6.8 s step after 2 s ones).
    costs = lambda i: 6.0 if i % 5 == 0 else 1.0  # noqa: E731
    planner, steps = simulate_costs(budget, costs, per_cost=0.1)
    assert planner.train_seconds <= budget + 1e-9, (planner.train_seconds, steps)
    assert planner.train_seconds + 0.1 * costs(steps + 1) > budget - 1e-9  # the next batch would not have fitted
    assert planner.cost_after_first == pytest.approx(sum(costs(i) for i in range(2, steps + 1)))


def test_the_mean_step_pace_alone_starts_a_long_batch_that_ends_past_the_budget():
    """Why the cost: at the mean pace a 0.6 s step looks like 0.2 s; on a 2.8 s budget it ended at 3.0 s."""
    costs = lambda i: 6.0 if i % 5 == 0 else 1.0  # noqa: E731
    blind, _ = simulate_costs(2.8, costs, per_cost=0.1, with_costs=False)
    told, _ = simulate_costs(2.8, costs, per_cost=0.1)
    assert blind.train_seconds == pytest.approx(3.0) and told.train_seconds == pytest.approx(2.4)


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


@pytest.mark.slow
def test_a_text_loop_whose_batches_differ_in_length_never_ends_a_step_past_its_budget():
    """The text gradient arms' loop (scratch here; fine-tunes share it and its token cost): each step "takes" a
    millisecond per padded token of its batch, and no step ends past the budget."""
    import torch

    from bench.train.arms import get_arm
    from bench.train.callbacks import Hooks
    from bench.train.text_trial import _model_and_trainer
    from bench.train.trial import training_examples

    budget, per_token = 2.0, 1e-3
    config = TrialConfig("fortunes", "scratch", examples=120, budget_seconds=budget, batch_size=8, max_tokens=64)
    clock, costs = FakeClock(), []
    _, splits, train_idx, trainer = _model_and_trainer(
        config, get_arm("scratch"), torch.device("cpu"), CACHE, clock, Hooks([]), training_examples
    )
    real_step = trainer._step

    def step(batch, index, total):
        costs.append(trainer._step_cost(batch))
        clock.now += per_token * costs[-1]
        return real_step(batch, index, total)

    trainer._step = step
    outcome = trainer.run(train_idx, splits.val, splits.test)
    assert max(costs) > 2 * min(costs), costs  # the batches did differ in length
    assert outcome.train_seconds <= budget + 1e-9, (outcome.train_seconds, costs)
    assert outcome.train_seconds > budget - per_token * max(costs)  # and used the budget
    assert outcome.first_step_seconds == pytest.approx(per_token * costs[0])


class SetFitClock(Callback):
    """A SetFit trial's clock: each pair step takes ``pair_step`` seconds, each batch of texts encoded ``encode``
    (the sample before the pairs and the head's encoding after them); the head's fits take no time."""

    def __init__(self, pair_step: float, encode: float):
        self.pair_step, self.encode = pair_step, encode
        self.now, self.in_pairs = 0.0, False

    def on_progress(self, state):
        if state.phase == "features":  # after every batch encoded
            self.now, self.in_pairs = self.now + self.encode, False
        elif state.phase == "train" and state.step == 0:  # the pairs start
            self.in_pairs = True
        elif state.phase == "train" and self.in_pairs:  # after every pair step
            self.now += self.pair_step

    def __call__(self) -> float:
        return self.now


@pytest.mark.slow
def test_setfit_keeps_its_budget_for_pairs_encoding_and_head_and_reports_the_encoding_apart(tmp_path):
    budget, pair_step, encode = 3.0, 0.3, 0.2
    clock = SetFitClock(pair_step, encode)
    config = TrialConfig(two_class_csv(tmp_path), "setfit", examples=4, max_tokens=16, budget_seconds=budget)
    result = run_trial(config, [clock], cache=CACHE, clock=clock)
    assert result.status == "completed", result.error
    # The untuned copy encodes a warm-up batch and a timed sample (0.4 s; the sample says 0.2 s, as every text the
    # head needs is one batch), 0.5 s is kept for the head's fits: the pairs get 1.9 s, six steps of 0.3 s.
    assert result.steps == 6 and result.time_first_step_s == pytest.approx(pair_step)
    spent = result.time_train_s + result.time_features_s
    assert spent <= budget + pair_step + 1e-6, result
    assert result.time_train_s == pytest.approx(6 * pair_step)  # training: the pairs and the head's fits
    assert result.time_features_s == pytest.approx(3 * encode)  # encoding, apart: sample, warm-up, the head's


@pytest.mark.slow
def test_setfit_whose_encoding_alone_outlasts_the_budget_trains_no_pair_and_its_health_says_so(tmp_path):
    clock = SetFitClock(pair_step=0.3, encode=2.0)  # the sample says encoding takes 2 s of a 3 s budget
    config = TrialConfig(two_class_csv(tmp_path), "setfit", examples=4, max_tokens=16, budget_seconds=3.0)
    result = run_trial(config, [clock], cache=CACHE, clock=clock)
    assert result.status == "completed", result.error
    assert result.steps == 0 and result.time_train_s == pytest.approx(0.0)
    assert FindingCode.UNDER_FLOOR in {f.code for f in result.health.findings}


@pytest.mark.slow
@pytest.mark.parametrize("arm", ["full_finetune", "hybrid"])
def test_each_text_fine_tune_keeps_its_budget(arm, tmp_path):
    """The encoder's fine-tunes (partial and scratch_same_arch share this loop) and the hybrid's SimCSE stage."""
    budget, per_step, slow = 3.0, 0.25, 0.9
    clock = StepClock(per_step, slow_step=5, slow=slow, pretrain_step=budget / 2)
    config = TrialConfig(two_class_csv(tmp_path), arm, examples=16, budget_seconds=budget, batch_size=8, max_tokens=16)
    result = run_trial(config, [clock], cache=CACHE, clock=clock)
    assert result.status == "completed", result.error
    train_budget = budget - result.time_pretrain_s
    assert result.time_train_s <= train_budget + result.time_slowest_step_s + 1e-6, result
    assert result.time_train_s > train_budget - 2 * per_step  # and used the budget
    if arm == "hybrid":  # one pretraining step fills the share: no second one starts past it
        assert result.pretrain_steps == 1 and result.time_pretrain_s == pytest.approx(budget / 2)
        assert result.time_pretrain_s + result.time_train_s <= budget + result.time_slowest_step_s + 1e-6


@pytest.mark.slow
def test_the_setfit_plan_times_setfits_own_pair_steps_and_reserve_and_predicts_the_trial(tmp_path):
    # The walkthrough: the plan timed the setfit arm as a full fine-tune and said 0 pair steps where SetFit ran some.
    from bench.train.health import floor_steps
    from bench.train.planning import plans_from_rates, setfit_arm_rate

    config = TrialConfig(two_class_csv(tmp_path), "setfit", examples=40, max_tokens=16, budget_seconds=3.0)
    rate, examples = setfit_arm_rate(config, CACHE, probe := SetFitClock(pair_step=0.3, encode=0.2), Hooks([probe]))
    assert examples == 40 and rate.images_per_second / rate.batch_size == pytest.approx(
        1 / 0.3, rel=1e-3
    )  # pair steps/s
    assert rate.reserved_seconds > 0.5  # the head's encoding and fits come off the budget before any pair
    (short,) = plans_from_rates(config, (rate,), examples)
    clock = SetFitClock(pair_step=0.3, encode=0.2)
    result = run_trial(config, [clock], cache=CACHE, clock=clock)
    assert short.planned_steps == result.steps  # what the plan said this budget buys is what the trial trained
    assert not short.enough and short.suggested_seconds is not None
    # The budget it suggests buys the floor's steps by the same arithmetic that just matched the trial.
    (accepted,) = plans_from_rates(replace(config, budget_seconds=short.suggested_seconds), (rate,), examples)
    assert accepted.enough and accepted.planned_steps >= floor_steps(rate.steps_per_epoch(examples))
