"""The budget plan before training, the health floor, and one run per device at a time."""

import os
import threading
import time

import numpy as np
import pytest

from bench.runs.queue import QueueCancelled, device_slot
from bench.train.cache import TrialCache
from bench.train.config import TrialConfig
from bench.train.health import MIN_STEPS, Finding, assess, chance_accuracy, pack_correct, unpack_correct
from bench.train.planning import plan_from_rate, plan_pretraining, pretrain_batches
from bench.train.trial import measure_throughput
from bench.vocabulary import FindingCode


def test_a_starved_arm_is_named_with_the_budget_that_would_train_it():
    plan = plan_from_rate("scratch", steps_per_second=2.0, steps_per_epoch=16, budget=5.0)
    assert not plan.enough and plan.planned_steps == 8
    assert plan.text.startswith("Train from scratch would get about 8 steps in 5 s here;")
    assert plan.suggested_seconds * 2.0 * 0.85 >= MIN_STEPS
    assert f"{plan.suggested_seconds:g} s gives it" in plan.text


def test_an_arm_with_enough_budget_is_planned_quietly():
    plan = plan_from_rate("full_finetune", steps_per_second=4.0, steps_per_epoch=16, budget=20.0)
    assert plan.enough and plan.suggested_seconds is None and plan.planned_steps == 68


def test_health_uses_an_exact_binomial_test_against_the_majority_class():
    labels = np.array([0] * 60 + [1] * 40)
    assert chance_accuracy(labels) == 0.6
    at_chance = assess(np.arange(100) < 60, 0.6, 200, 5.0, gradient=True, budget_seconds=20)
    assert not at_chance.learned and at_chance.undertrained and "not above the chance level" in at_chance.reasons[0]
    learned = assess(np.arange(100) < 85, 0.6, 200, 5.0, gradient=True, budget_seconds=20)
    assert learned.learned and not learned.undertrained
    starved = assess(np.arange(100) < 85, 0.6, 9, 0.5, gradient=True, budget_seconds=5)
    assert starved.undertrained and "ran 9 optimizer steps" in starved.reasons[0]
    probe = assess(np.arange(100) < 85, 0.6, 5, 1.0, gradient=False, budget_seconds=5)
    assert not probe.undertrained  # a closed-form probe has no steps to starve


def test_per_example_correctness_round_trips_compactly():
    correct = np.random.default_rng(0).random(1000) < 0.7
    packed = pack_correct(correct)
    assert len(packed) < 200 and np.array_equal(unpack_correct(packed, 1000), correct)


def test_a_second_run_waits_for_the_device_and_says_behind_whom(tmp_path):
    order, waited = [], []
    first_holds = threading.Event()

    def first():
        with device_slot(tmp_path, "cpu", "run-a"):
            first_holds.set()
            order.append("a starts")
            time.sleep(0.5)
            order.append("a ends")

    thread = threading.Thread(target=first)
    thread.start()
    first_holds.wait(10)
    with device_slot(tmp_path, "cpu", "run-b", on_wait=waited.append, sleep=lambda s: time.sleep(0.05)):
        order.append("b starts")
    thread.join()
    assert order == ["a starts", "a ends", "b starts"]
    assert waited == ["run-a"]


def test_a_holder_between_locking_and_naming_itself_is_not_reported_as_another_run(tmp_path):
    # The race the suite once lost: the holder had the lock but its id was not yet written (or already
    # cleared on release), and the waiting run reported "another run" beside the real holder's id.
    import fcntl

    path = tmp_path / "cpu.lock"
    holder = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    fcntl.flock(holder, fcntl.LOCK_EX)  # locked, no name yet
    polls, waited = [], []

    def sleep(seconds):  # the holder's side, one step per poll of the waiting run
        polls.append(seconds)
        if len(polls) == 1:
            os.pwrite(holder, b"run-a", 0)  # names itself
        elif len(polls) == 3:
            os.ftruncate(holder, 0)  # clears its name, then releases
        elif len(polls) == 4:
            fcntl.flock(holder, fcntl.LOCK_UN)

    try:
        with device_slot(tmp_path, "cpu", "run-b", on_wait=waited.append, sleep=sleep):
            assert path.read_text() == "run-b"
    finally:
        os.close(holder)
    assert waited == ["run-a"] and len(polls) == 4


def test_a_holder_that_never_names_itself_is_reported_as_another_run(tmp_path):
    import fcntl

    holder = os.open(tmp_path / "cpu.lock", os.O_RDWR | os.O_CREAT, 0o644)
    fcntl.flock(holder, fcntl.LOCK_EX)
    polls, waited = [], []

    def sleep(seconds):
        polls.append(seconds)
        if len(polls) == 5:
            fcntl.flock(holder, fcntl.LOCK_UN)

    try:
        with device_slot(tmp_path, "cpu", "run-b", on_wait=waited.append, sleep=sleep):
            pass
    finally:
        os.close(holder)
    assert waited == ["another run"]


def test_a_queued_run_can_be_cancelled(tmp_path):
    with (
        device_slot(tmp_path, "cpu", "run-a"),
        pytest.raises(QueueCancelled),
        device_slot(tmp_path, "cpu", "run-b", should_stop=lambda: True, sleep=lambda s: None),
    ):
        pass


def test_a_glance_at_the_device_names_the_run_that_holds_it(tmp_path):
    from bench.runs.queue import slot_holder

    assert slot_holder(tmp_path, "cpu") is None  # no lock file yet
    with device_slot(tmp_path, "cpu", "run-a"):
        assert slot_holder(tmp_path, "cpu") == "run-a"
        assert slot_holder(tmp_path, "cuda:0") is None  # another device
    assert slot_holder(tmp_path, "cpu") is None
    with device_slot(tmp_path, "cpu", "run-b"):  # the glance took nothing: the next run gets the device
        assert slot_holder(tmp_path, "cpu") == "run-b"


def test_a_hybrid_arm_is_planned_on_the_part_of_its_budget_left_after_pretraining():
    from bench.train.budget import PRETRAIN_SHARE, TRAIN_SHARE

    scratch = plan_from_rate("scratch", steps_per_second=2.0, steps_per_epoch=16, budget=5.0)
    hybrid = plan_from_rate("hybrid", 2.0, 16, 5.0, train_share=TRAIN_SHARE * (1 - PRETRAIN_SHARE))
    assert (scratch.planned_steps, hybrid.planned_steps) == (8, 4)
    assert (scratch.suggested_seconds, hybrid.suggested_seconds) == (40, 75)


def test_an_arm_that_overran_an_equal_time_budget_is_not_healthy_whatever_it_learned():
    correct = np.ones(100, dtype=bool)
    fair = assess(correct, 0.1, steps=200, epochs=5, gradient=True, budget_seconds=20)
    finding = Finding(FindingCode.PRETRAINING_OVERRAN, {"seconds": 40, "steps": 1, "share": 10, "budget_seconds": 20})
    overran = assess(correct, 0.1, 200, 5, True, 20, unequal_time=finding)
    assert not fair.undertrained and overran.undertrained
    assert overran.findings == (finding,)  # the code the verdict reads, with its numbers
    assert overran.reasons[0].startswith("pretraining took 40 s for 1 step, over its 10 s share of the 20 s budget")


def test_until_converged_never_stops_an_arm_below_the_health_floor():
    from torch import nn

    from bench.train.loop import EarlyStopping

    model, stopping = nn.Linear(2, 2), EarlyStopping(patience=1)
    assert stopping.update(0.5, model, step=2) is False  # an improvement
    assert stopping.update(0.4, model, step=4) is False  # stale, but only 4 steps: a flat start, not convergence
    assert stopping.update(0.4, model, step=MIN_STEPS) is True
    assert stopping.best_accuracy == 0.5
    assert EarlyStopping(patience=None).update(0.1, model, step=10_000) is False  # budget mode never stops early


def test_the_throughput_probe_measures_every_compared_arm_the_hybrids_pretraining_too():
    from bench.train.cache import TrialCache
    from bench.train.config import TrialConfig
    from bench.train.planning import measure_rates
    from bench.vocabulary import ArmFamily

    base = TrialConfig("digits", "scratch", examples=100, device="cpu", budget_seconds=10)
    probe, hybrid = measure_rates(base, ("linear_probe", "hybrid_scratch"), TrialCache())
    assert probe.family == ArmFamily.PROBE and probe.images_per_second > 0 and probe.eval_images > 100
    assert probe.converge_seconds(100) > 0 and probe.floor_seconds(100) is None  # no steps to starve
    assert hybrid.family == ArmFamily.HYBRID and hybrid.images_per_second > 0
    assert hybrid.pretrain_images_per_second and hybrid.pretrain_images_per_second > 0
    assert hybrid.epochs_to_converge == base.max_epochs and hybrid.converge_seconds(100) is None


@pytest.mark.slow
def test_the_partial_fine_tune_probe_caches_the_trunk_of_the_staged_rows():
    # 1,000 of digits' 1,169 training images: dataset indices run past the staged rows (train + val + test),
    # so the frozen trunk must be built from positions in them, as the trial builds it.
    config = TrialConfig("digits", "partial_finetune", examples=1000, resolution=32, batch_size=32, device="cpu")
    steps_per_second, steps_per_epoch = measure_throughput(config, TrialCache())
    assert steps_per_second > 0 and steps_per_epoch == 32


def test_a_hybrid_arms_pretraining_batch_is_sized_from_the_measured_rate():
    from bench.train.budget import MAX_PRETRAIN_BATCH, MIN_PRETRAIN_BATCH, PRETRAIN_STEPS_IN_SHARE

    plan = plan_from_rate("hybrid_scratch", 20.0, 8, 5.0, train_share=0.425)
    # 400 images/s over the 2.5 s share: 1,000 images, eight steps of 125.
    sized = plan_pretraining(plan, 400.0, budget=5.0, share=0.5)
    assert sized.pretrain_batch_size == 125 and sized.pretrain_fits and sized.enough == plan.enough
    assert sized.text.endswith("pretraining about 8 steps of 125 images in its 2.5 s share")
    assert 2.5 * 400.0 / sized.pretrain_batch_size >= PRETRAIN_STEPS_IN_SHARE
    assert plan_pretraining(plan, 1e6, 5.0, 0.5).pretrain_batch_size == MAX_PRETRAIN_BATCH
    assert plan_pretraining(plan, 20.0, 5.0, 0.5).pretrain_batch_size == MIN_PRETRAIN_BATCH  # fewer steps, never less
    assert plan_pretraining(plan, None, 5.0, 0.5) == plan  # not measured here (an own pool): the trial's guard


def test_a_pretraining_step_that_cannot_fit_the_share_is_said_before_training():
    plan = plan_from_rate("hybrid_scratch", 20.0, 8, 5.0, train_share=0.425)
    # 4 images/s: one step of 16 takes 4 s, more than the 2.5 s share.
    cannot = plan_pretraining(plan, 4.0, budget=5.0, share=0.5)
    assert not cannot.enough and not cannot.pretrain_fits
    assert cannot.text.startswith(
        "this run cannot measure hybrid_scratch in 5 s here: one pretraining step of 16 images takes about 4.0 s, "
        "more than its 2.5 s share of the budget; 65 s gives it 8 pretraining steps"
    )
    assert cannot.suggested_seconds == 65 and 0.5 * 65 * 4.0 >= 8 * 16  # the budget said fits eight steps


def test_a_planned_checks_hybrid_gets_its_batch_from_its_rate_and_budget():
    from bench.train.check import ArmRate
    from bench.vocabulary import ArmFamily

    rates = (ArmRate("scratch", ArmFamily.SCRATCH, 500.0),
             ArmRate("hybrid_scratch", ArmFamily.HYBRID, 500.0, pretrain_images_per_second=64.0))  # fmt: skip
    assert pretrain_batches(rates, {"scratch": 10.0, "hybrid_scratch": 10.0}) == {"hybrid_scratch": 40}
    assert pretrain_batches(rates, {"hybrid_scratch": 0.2}) == {"hybrid_scratch": 16}  # the floor judges it


def test_the_plans_pretraining_batch_reaches_every_trial_and_is_checked_like_any_field():
    from bench.errors import ConfigError
    from bench.train.config import validate_trial_config
    from bench.train.suite import SuiteConfig

    base = TrialConfig("digits", "scratch", budget_seconds=5)
    suite = SuiteConfig(base, ("scratch", "hybrid_scratch"), (0,), pretrain_batches=(("hybrid_scratch", 48),))
    assert [c.pretrain_batch_size for c in suite.trial_configs()] == [None, 48]
    with pytest.raises(ConfigError, match=r"^pretrain_batch_size: expected .*16\.\.256.*; got 8"):
        validate_trial_config(TrialConfig("digits", "hybrid_scratch", pretrain_batch_size=8))
