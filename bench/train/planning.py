"""The budget plan, before any arm trains: will each arm get enough steps in its budget on this machine?

A short throughput probe per gradient arm (a few timed steps after warm-up, the model built as
the trial builds it) estimates how many optimizer steps and epochs the budget buys. An arm
below the floor (bench.train.health: MIN_STEPS steps and MIN_EPOCHS epochs) is named with the
budget that would reach it, e.g. "scratch would get about 9 steps in 5 s here; 40 s gives it
2 epochs". The person can still go ahead: the plan informs, the health check judges.

A hybrid arm's pretraining batch is the plan's too: sized from the measured pretraining rate so that
PRETRAIN_STEPS_IN_SHARE steps fit its share of the budget (bench.train.budget.pretrain_batch_for),
and carried in the trial config (``pretrain_batch_size``). When even one step of the smallest batch
would outlast the share, the plan says so before training, with the budget that would fit.

:func:`measure_rates` measures every compared arm for a check planned from the profile's
question (bench.train.check): training images per second for the gradient arms, images encoded
per second for the linear probe, and a hybrid arm's self-supervised pretraining.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import partial

import torch

from advisor.recipes import SETFIT
from advisor.vocabulary import Trainable
from bench.data.text_catalog import is_text_dataset
from bench.data.units import unit_for_dataset
from bench.device import now, resolve_device
from bench.models.backbones import create_model
from bench.train.arms import arm_label, get_arm
from bench.train.batches import normalise
from bench.train.budget import (
    MIN_PRETRAIN_BATCH,
    PRETRAIN_SHARE,
    PRETRAIN_STEPS_IN_SHARE,
    TRAIN_SHARE,
    pretrain_batch_for,
    pretrain_seconds_for,
)
from bench.train.cache import TrialCache, extract_features
from bench.train.callbacks import Hooks, StopWhen, call_checking
from bench.train.check import ArmRate
from bench.train.config import TrialConfig
from bench.train.health import MIN_EPOCHS, MIN_STEPS, floor_steps, seconds_to_floor
from bench.train.loop import stop_inside_steps
from bench.train.pretrain import headless, pretrain
from bench.train.text_trial import measure_setfit_rate, measure_text_encode_rate
from bench.train.trial import measure_throughput, prepare, training_examples
from bench.vocabulary import ArmFamily


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
    # Hybrid arms: the pretraining batch sized from the measured rate (None: not measured here), and
    # whether one step of the smallest batch fits the pretraining share at all.
    pretrain_batch_size: int | None = None
    pretrain_fits: bool = True


def plan_arms(
    base: TrialConfig, arms: Sequence[str], cache: TrialCache | None = None, clock: Callable[[], float] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> tuple[ArmPlan, ...]:  # fmt: skip
    """One plan per gradient arm of a budgeted run (the linear probe has no steps to plan).

    ``should_stop`` (a run's cancel flag) ends the probing as it ends a trial: TrialCancelled (or
    DecodeCancelled while the data loads) is raised, and no further arm is measured.
    """
    if base.budget_seconds is None:
        return ()
    cache = cache or TrialCache()
    hooks = _hooks(should_stop)
    plans = []
    for name in arms:
        if get_arm(name).trainable == Trainable.HEAD:
            continue
        hooks.stop_if_asked()
        config = replace(base, arm=name, seed=0)
        if get_arm(name).contrastive:  # its own pair steps and reserved encoding, as the check plans it
            setfit, examples = setfit_arm_rate(
                config, cache, clock or partial(now, resolve_device(config.device)), hooks
            )
            plans.extend(plans_from_rates(base, (setfit,), examples))
            continue
        rate, per_epoch = measure_throughput(config, cache, clock, hooks=hooks)
        clock_here = clock or partial(now, resolve_device(config.device))
        pretrain_rate = _pretrain_rate(config, cache, clock_here, hooks) if config.pretrain_share else None
        plans.append(_arm_plan(config, rate, per_epoch, pretrain_rate))
    return tuple(plans)


def _arm_plan(
    config: TrialConfig, steps_per_second: float, steps_per_epoch: int, pretrain_rate: float | None,
    reserved: float = 0.0,
) -> ArmPlan:  # fmt: skip
    """One arm's plan from its rates: its steps in its budget's training share, then a hybrid's pretraining."""
    plan = plan_from_rate(config.arm, steps_per_second, steps_per_epoch, config.budget_seconds, config.train_share,
                          reserved)  # fmt: skip
    if config.pretrain_share:
        plan = plan_pretraining(plan, pretrain_rate, config.budget_seconds, config.pretrain_share)
    return plan


def plans_from_rates(base: TrialConfig, rates: Sequence[ArmRate], examples: int) -> tuple[ArmPlan, ...]:
    """One plan per gradient arm of a budgeted run from rates measured before (pure): the run form's plan, and
    the run's own when it carries the form's measurement, are this one computation on the same numbers."""
    if base.budget_seconds is None:
        return ()
    plans = []
    for rate in rates:
        if not rate.gradient:
            continue
        plans.append(_arm_plan(replace(base, arm=rate.arm, seed=0), rate.images_per_second / rate.batch_size,
                               rate.steps_per_epoch(examples), rate.pretrain_images_per_second, rate.reserved_seconds))  # fmt: skip
    return tuple(plans)


def plan_pretraining(
    plan: ArmPlan, images_per_second: float | None, budget: float, share: float = PRETRAIN_SHARE
) -> ArmPlan:
    """A hybrid arm's plan with its pretraining batch sized from the measured pretraining rate (pure).

    ``images_per_second``: pretraining images per second here (None: not measured, e.g. an own pool;
    the trial's guard then keeps the share). When one step of MIN_PRETRAIN_BATCH images cannot fit
    the share, the plan says so and names the budget that fits PRETRAIN_STEPS_IN_SHARE such steps.
    """
    if images_per_second is None:
        return plan
    seconds = share * budget
    batch = pretrain_batch_for(images_per_second, seconds)
    if batch is not None:
        steps = int(images_per_second * seconds / batch)
        text = f"{plan.text}; pretraining about {steps} steps of {batch} images in its {seconds:g} s share"
        return replace(plan, pretrain_batch_size=batch, text=text)
    needed = float(5 * math.ceil(pretrain_seconds_for(images_per_second) / share / 5))
    step = MIN_PRETRAIN_BATCH / max(images_per_second, 1e-9)
    text = (
        f"this run cannot measure {plan.arm} in {budget:g} s here: one pretraining step of {MIN_PRETRAIN_BATCH} "
        f"images takes about {step:.1f} s, more than its {seconds:g} s share of the budget; {needed:g} s gives it "
        f"{PRETRAIN_STEPS_IN_SHARE} pretraining steps"
    )
    suggested = max(needed, plan.suggested_seconds or 0.0)
    return replace(plan, enough=False, suggested_seconds=suggested, text=text,
                   pretrain_batch_size=MIN_PRETRAIN_BATCH, pretrain_fits=False)  # fmt: skip


def pretrain_batches(rates: Sequence[ArmRate], budgets: Mapping[str, float | None]) -> dict[str, int]:
    """A planned check's pretraining batch per hybrid arm, from its measured rate and its budget (pure);
    an arm whose smallest step does not fit its share gets MIN_PRETRAIN_BATCH (the plan's health floor
    judges it)."""
    batches = {}
    for rate in rates:
        budget = budgets.get(rate.arm)
        if rate.pretrain_images_per_second and budget:
            batch = pretrain_batch_for(rate.pretrain_images_per_second, PRETRAIN_SHARE * budget)
            batches[rate.arm] = batch or MIN_PRETRAIN_BATCH
    return batches


def plan_from_rate(
    arm: str, steps_per_second: float, steps_per_epoch: int, budget: float, train_share: float = TRAIN_SHARE,
    reserved: float = 0.0,
) -> ArmPlan:  # fmt: skip
    """The plan for one arm from its measured rate (pure: tests feed it numbers).

    ``train_share``: the part of the budget that trains (less for a hybrid arm whose pretraining
    comes out of the same budget). ``reserved``: seconds of the budget spent before any step (the
    setfit arm encodes the texts its head needs and fits it: measured, ``ArmRate.reserved_seconds``).
    """
    steps = int(steps_per_second * max(0.0, budget - reserved) * train_share)
    epochs = steps / max(steps_per_epoch, 1)
    enough = steps >= floor_steps(steps_per_epoch)
    if enough:
        return ArmPlan(arm, round(steps_per_second, 2), steps_per_epoch, steps, round(epochs, 2), True, None,
                       f"{arm_label(arm)}: about {steps} steps ({epochs:.1f} epochs) in {budget:g} s")  # fmt: skip
    seconds = seconds_to_floor(steps_per_second, steps_per_epoch, train_share)
    if reserved:
        seconds = float(5 * math.ceil((seconds + reserved) / 5))
    gives = steps_per_second * (seconds - reserved) * train_share / max(steps_per_epoch, 1)
    return ArmPlan(
        arm, round(steps_per_second, 2), steps_per_epoch, steps, round(epochs, 2), False, float(seconds),
        f"{arm_label(arm)} would get about {steps} steps in {budget:g} s here; {seconds:g} s gives it {gives:.0f} epochs "
        f"(a fair comparison needs at least {MIN_STEPS} steps and {MIN_EPOCHS:g} epoch)",
    )  # fmt: skip


PROBE_SAMPLE = 128  # images encoded to time the probe's feature extraction
PROBE_FIT_SECONDS = 3.0  # the probe's logistic-regression fits on a CPU (5 values of C, L-BFGS): an estimate
PRETRAIN_PROBE_STEPS = 3  # hybrid arms: pretraining steps run; the first pays for allocation and is not timed
PRETRAIN_PROBE_BATCH = 2 * MIN_PRETRAIN_BATCH  # small: the probe must not itself outlast a short budget


def measure_rates(
    base: TrialConfig, arms: Sequence[str], cache: TrialCache | None = None, clock: Callable[[], float] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> tuple[ArmRate, ...]:  # fmt: skip
    """Every compared arm's throughput here, for :func:`bench.train.check.plan_check`: training images per
    second for the gradient arms, images encoded per second for the probe, and the hybrid arms' pretraining.

    Nothing is recorded or cached beyond what the trials share anyway (the data, the pretrained weights).
    ``should_stop`` (a run's cancel flag) is asked before every arm and inside every probe, through the
    hooks the trials use: a stop raises TrialCancelled (or DecodeCancelled while the data loads) and the
    arms not yet measured are not.
    """
    cache = cache or TrialCache()
    device = resolve_device(base.device)
    clock = clock or partial(now, device)
    hooks = _hooks(should_stop)
    rates = []
    unit = unit_for_dataset(base.dataset).rate
    for name in arms:
        hooks.stop_if_asked()
        arm = get_arm(name)
        config = replace(base, arm=name, seed=0)
        if arm.trainable == Trainable.HEAD:
            rates.append(replace(_probe_rate(config, cache, clock, hooks), unit=unit))
            continue
        if arm.contrastive:  # SetFit's own pair steps and the encoding it reserves, not a fine-tune's steps
            rates.append(setfit_arm_rate(config, cache, clock, hooks)[0])
            continue
        start = clock()
        steps_per_second, _ = measure_throughput(config, cache, clock, hooks=hooks)
        images_per_second = steps_per_second * config.batch_size
        timed = 4 / max(steps_per_second, 1e-9)  # measure_throughput times 4 steps
        pretrain_rate = _pretrain_rate(config, cache, clock, hooks) if arm.family == ArmFamily.HYBRID else None
        rates.append(
            ArmRate(
                name, arm.family, round(images_per_second, 1), config.batch_size, float(config.max_epochs),
                fixed_seconds=round(max(0.0, clock() - start - timed), 2),
                pretrain_images_per_second=pretrain_rate, unit=unit,
            )
        )  # fmt: skip
    return tuple(rates)


def setfit_arm_rate(
    config: TrialConfig, cache: TrialCache, clock: Callable[[], float], hooks: Hooks
) -> tuple[ArmRate, int]:
    """The setfit arm's rate (sentences through the encoder per second in its pair steps, 32 a step: 16 pairs of
    two) and its training texts. Each text is in two pairs per iteration, so four sentences: an epoch's steps are
    SetFit's, and the encoding it reserves comes off its budget before any step."""
    arm = get_arm(config.arm)
    setfit = measure_setfit_rate(config, arm, resolve_device(config.device), cache, clock, hooks, training_examples)
    rate = ArmRate(config.arm, arm.family, round(2 * setfit.pairs_per_second, 1), 2 * SETFIT.batch_size,
                   float(SETFIT.iterations), unit=unit_for_dataset(config.dataset).rate, units_per_example=4.0,
                   reserved_seconds=round(setfit.reserved_seconds, 2))  # fmt: skip
    return rate, setfit.examples


def _hooks(should_stop: Callable[[], bool] | None) -> Hooks:
    return Hooks([StopWhen(should_stop)] if should_stop is not None else [])


def _probe_rate(config: TrialConfig, cache: TrialCache, clock: Callable[[], float], hooks: Hooks) -> ArmRate:
    """The probe's cost is encoding every image (or text) it needs once, then a few closed-form fits."""
    arm, device = get_arm(config.arm), resolve_device(config.device)
    if is_text_dataset(config.dataset):
        rate, eval_texts = measure_text_encode_rate(config, cache, clock, PROBE_SAMPLE, hooks)
        return ArmRate(config.arm, arm.family, round(rate, 1), config.batch_size, 1.0, eval_texts, PROBE_FIT_SECONDS)
    ready = prepare(config, arm, device, cache, should_stop=hooks.should_stop)
    model = call_checking(lambda: cache.feature_model(ready.spec), hooks.stop_if_asked)  # loading: one call
    sample = ready.images[: min(PROBE_SAMPLE, len(ready.images))]
    extract_features(model, sample[:8], ready.spec, device, hooks.stop_if_asked)  # warm-up, untimed
    start = clock()
    extract_features(model, sample, ready.spec, device, hooks.stop_if_asked)
    rate = len(sample) / max(clock() - start, 1e-9)
    eval_images = len(ready.splits.val) + len(ready.splits.test)
    return ArmRate(config.arm, arm.family, round(rate, 1), config.batch_size, 1.0, eval_images, PROBE_FIT_SECONDS)


def _pretrain_rate(config: TrialConfig, cache: TrialCache, clock: Callable[[], float], hooks: Hooks) -> float | None:
    """Images per second of the hybrid arm's self-supervised pretraining, from a few steps on its pool."""
    arm, device = get_arm(config.arm), resolve_device(config.device)
    if is_text_dataset(config.dataset):
        return None  # text pretraining is timed by its trial's own budget share
    ready = prepare(config, arm, device, cache, should_stop=hooks.should_stop)
    if config.unlabeled is not None:
        return None  # the pool is decoded by the trial; its rate is the held-out pool's
    pool = ready.pool
    if pool is None or pool.indices is None or len(pool) < 64:
        return None
    images = ready.images[torch.as_tensor(ready.at(pool.indices[:512]), device=ready.images.device)]
    classes = ready.data.num_classes
    if arm.pretrained:
        model = call_checking(lambda: cache.pretrained_model(ready.spec, classes), hooks.stop_if_asked)
    else:
        model = create_model(ready.spec, classes, False)
    model = model.to(device)
    with headless(model, ready.spec.classifier) as encoder, stop_inside_steps(encoder, hooks.stop_if_asked):
        result = pretrain(encoder, images, partial(normalise, spec=ready.spec), 60.0, device, 0, clock=clock,
                          objective=config.pretrain_objective, max_steps=PRETRAIN_PROBE_STEPS,
                          batch_size=PRETRAIN_PROBE_BATCH, should_stop=hooks.should_stop)  # fmt: skip
    hooks.stop_if_asked()  # a stop between steps ends pretrain() early: not a rate
    rate = result.images_per_second
    return round(rate, 1) if rate is not None else None
