"""The budget plan, before any arm trains: will each arm get enough steps in its budget on this machine?

A short throughput probe per gradient arm (a few timed steps after warm-up, the model built as
the trial builds it) estimates how many optimizer steps and epochs the budget buys. An arm
below the floor (bench.train.health: MIN_STEPS steps and MIN_EPOCHS epochs) is named with the
budget that would reach it, e.g. "scratch would get about 9 steps in 5 s here; 40 s gives it
2 epochs". The person can still go ahead: the plan informs, the health check judges.

:func:`measure_rates` measures every compared arm for a check planned from the profile's
question (bench.train.check): training images per second for the gradient arms, images encoded
per second for the linear probe, and a hybrid arm's self-supervised pretraining.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import partial

import torch

from advisor.vocabulary import Trainable
from bench.data.text_catalog import is_text_dataset
from bench.data.units import unit_for_dataset
from bench.device import now, resolve_device
from bench.models.backbones import create_model
from bench.train.arms import get_arm
from bench.train.batches import normalise
from bench.train.budget import TRAIN_SHARE
from bench.train.cache import TrialCache, extract_features
from bench.train.check import ArmRate
from bench.train.config import TrialConfig
from bench.train.health import MIN_EPOCHS, MIN_STEPS, floor_steps, seconds_to_floor
from bench.train.pretrain import headless, pretrain
from bench.train.text_trial import measure_text_encode_rate
from bench.train.trial import measure_throughput, prepare
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


PROBE_SAMPLE = 128  # images encoded to time the probe's feature extraction
PROBE_FIT_SECONDS = 3.0  # the probe's logistic-regression fits on a CPU (5 values of C, L-BFGS): an estimate
PRETRAIN_PROBE_STEPS = 3  # hybrid arms: pretraining steps timed (the first pays for allocation)


def measure_rates(
    base: TrialConfig, arms: Sequence[str], cache: TrialCache | None = None, clock: Callable[[], float] | None = None
) -> tuple[ArmRate, ...]:
    """Every compared arm's throughput here, for :func:`bench.train.check.plan_check`: training images per
    second for the gradient arms, images encoded per second for the probe, and the hybrid arms' pretraining.

    Nothing is recorded or cached beyond what the trials share anyway (the data, the pretrained weights).
    """
    cache = cache or TrialCache()
    device = resolve_device(base.device)
    clock = clock or partial(now, device)
    rates = []
    unit = unit_for_dataset(base.dataset).rate
    for name in arms:
        arm = get_arm(name)
        config = replace(base, arm=name, seed=0)
        if arm.trainable == Trainable.HEAD:
            rates.append(replace(_probe_rate(config, cache, clock), unit=unit))
            continue
        start = clock()
        steps_per_second, _ = measure_throughput(config, cache, clock)
        images_per_second = steps_per_second * config.batch_size
        timed = 4 / max(steps_per_second, 1e-9)  # measure_throughput times 4 steps
        pretrain_rate = _pretrain_rate(config, cache, clock) if arm.family == ArmFamily.HYBRID else None
        rates.append(
            ArmRate(
                name, arm.family, round(images_per_second, 1), config.batch_size, float(config.max_epochs),
                fixed_seconds=round(max(0.0, clock() - start - timed), 2),
                pretrain_images_per_second=pretrain_rate, unit=unit,
            )
        )  # fmt: skip
    return tuple(rates)


def _probe_rate(config: TrialConfig, cache: TrialCache, clock: Callable[[], float]) -> ArmRate:
    """The probe's cost is encoding every image (or text) it needs once, then a few closed-form fits."""
    arm, device = get_arm(config.arm), resolve_device(config.device)
    if is_text_dataset(config.dataset):
        rate, eval_texts = measure_text_encode_rate(config, cache, clock, PROBE_SAMPLE)
        return ArmRate(config.arm, arm.family, round(rate, 1), config.batch_size, 1.0, eval_texts, PROBE_FIT_SECONDS)
    ready = prepare(config, arm, device, cache)
    model = cache.feature_model(ready.spec)
    sample = ready.images[: min(PROBE_SAMPLE, len(ready.images))]
    extract_features(model, sample[:8], ready.spec, device, lambda: None)  # warm-up, untimed
    start = clock()
    extract_features(model, sample, ready.spec, device, lambda: None)
    rate = len(sample) / max(clock() - start, 1e-9)
    eval_images = len(ready.splits.val) + len(ready.splits.test)
    return ArmRate(config.arm, arm.family, round(rate, 1), config.batch_size, 1.0, eval_images, PROBE_FIT_SECONDS)


def _pretrain_rate(config: TrialConfig, cache: TrialCache, clock: Callable[[], float]) -> float | None:
    """Images per second of the hybrid arm's self-supervised pretraining, from a few steps on its pool."""
    arm, device = get_arm(config.arm), resolve_device(config.device)
    if is_text_dataset(config.dataset):
        return None  # text pretraining is timed by its trial's own budget share
    ready = prepare(config, arm, device, cache)
    if config.unlabeled is not None:
        return None  # the pool is decoded by the trial; its rate is the held-out pool's
    pool = ready.pool
    if pool is None or pool.indices is None or len(pool) < 64:
        return None
    images = ready.images[torch.as_tensor(ready.at(pool.indices[:512]), device=ready.images.device)]
    classes = ready.data.num_classes
    model = cache.pretrained_model(ready.spec, classes) if arm.pretrained else create_model(ready.spec, classes, False)
    model = model.to(device)
    with headless(model, ready.spec.classifier) as encoder:
        result = pretrain(encoder, images, partial(normalise, spec=ready.spec), 60.0, device, 0, clock=clock,
                          objective=config.pretrain_objective, max_steps=PRETRAIN_PROBE_STEPS)  # fmt: skip
    return round(result.steps * result.batch_size / max(result.seconds, 1e-9), 1)
