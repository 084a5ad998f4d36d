"""``run_trial(config, callbacks) -> TrialResult``: one arm, one seed, one dataset, measured honestly.

* The dataset is staged on the device once, as uint8 tensors at the trial's resolution;
  batches are index slices, normalised with the backbone's own mean and std.
* ``budget_seconds`` gives every arm the same wall-clock training budget (bench.train.budget);
  ``budget_seconds=None`` trains until early stopping on the validation split instead.
* The arm's recipe preset (advisor.recipes) sets what trains and how (bench.train.loop).
* Time is split into data preparation, training and evaluation, read after device sync.
* Every result carries its health (chance level, learned or not, starved or not) and its
  per-example test correctness, so verdicts can test on both seeds and test examples.
* Callbacks see progress and can cancel; the runner itself prints nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import partial

import numpy as np
import torch
from torch import nn

from advisor.vocabulary import Trainable
from bench.data.image_data import ImageData
from bench.data.images import DecodeCancelled
from bench.data.splits import Splits, make_splits, subsample_train
from bench.data.text_catalog import is_text_dataset
from bench.data.unlabeled import UnlabeledPool, holdout_pool, load_unlabeled
from bench.device import (
    describe,
    library_versions,
    now,
    peak_memory_mb,
    prefers_channels_last,
    release_freed_host_memory,
    reset_peak_memory,
    resolve_device,
)
from bench.errors import BenchInputError
from bench.models.backbones import BackboneSpec, create_model, get_backbone
from bench.train.arms import ArmSpec, get_arm
from bench.train.batches import normalise
from bench.train.budget import BUDGET_GUARD, MAX_PRETRAIN_BATCH, PROBE_WARMUP_STEPS
from bench.train.cache import TrialCache, stage_images
from bench.train.callbacks import Callback, Hooks, TrialCancelled, TrialState, call_checking
from bench.train.config import TrialConfig, validate_trial_config
from bench.train.health import Finding, assess, chance_accuracy, pack_correct
from bench.train.loop import GradientTrainer, stop_inside_steps
from bench.train.pretrain import headless, pretrain
from bench.train.probe import run_linear_probe
from bench.train.result import TrialResult
from bench.train.text_trial import measure_text_throughput, run_text
from bench.vocabulary import Architecture, ArmFamily, FindingCode, TrialStatus


def run_trial(
    config: TrialConfig,
    callbacks: list[Callback] | None = None,
    cache: TrialCache | None = None,
    clock: Callable[[], float] | None = None,
) -> TrialResult:
    """Run one trial and return its result; never raises for a failure inside training.

    Bad configuration raises BenchInputError before any work starts. ``clock`` (seconds) is read
    to plan and time the budget; the default synchronises the device first. Tests inject one.

    >>> result = run_trial(TrialConfig("digits", "linear_probe", examples=200, budget_seconds=None))
    >>> result.status == TrialStatus.COMPLETED, result.test_accuracy > 0.5, result.health.learned  # chance: 0.1
    (True, True, True)
    """
    validate_trial_config(config)
    hooks = Hooks(list(callbacks or []))
    cache = cache or TrialCache()
    device = resolve_device(config.device)
    clock = clock or partial(now, device)
    started = datetime.now(UTC).isoformat(timespec="seconds")
    base = TrialResult(
        config, status="running", device=describe(device), versions=library_versions(), started_at=started
    )
    hooks.on_trial_start(TrialState(config, "data"))
    reset_peak_memory(device)
    try:
        result = _run(config, get_arm(config.arm), device, hooks, cache, base, clock)
    except (TrialCancelled, DecodeCancelled):
        result = replace(base, status=TrialStatus.CANCELLED, error="cancelled by the user")
    except BenchInputError:
        raise
    except Exception as error:  # a crash in one trial must not lose the others
        result = replace(base, status=TrialStatus.FAILED, error=f"{error.__class__.__name__}: {error}")
    release_freed_host_memory()  # the trial's model and activations are freed: the next trial starts from the floor
    peak, kind = peak_memory_mb(device)
    result = replace(
        result,
        peak_memory_mb=round(peak, 1),
        memory_kind=kind,
        finished_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    hooks.on_trial_end(result)
    return result


def training_examples(config: TrialConfig, pool: int) -> int | None:
    """How many labeled examples a trial trains on: ``examples``, else all (at most ``examples_cap``)."""
    if config.examples is not None:
        return config.examples
    return None if config.examples_cap is None or pool <= config.examples_cap else config.examples_cap


@dataclass(frozen=True)
class Prepared:
    """A trial's data on the device: the dataset, its splits, the training subsample, the backbone spec.

    Only the images the trial uses are staged: ``rows`` (sorted dataset indices: the training
    subsample, validation, test and a hybrid arm's holdout pool); :meth:`at` maps dataset
    indices to positions in ``images`` and ``labels``.
    """

    data: ImageData
    splits: Splits
    train_idx: np.ndarray  # dataset indices
    spec: BackboneSpec
    images: torch.Tensor  # uint8, len(rows) x C x H x W at the arm's resolution
    labels: torch.Tensor  # of the staged rows
    rows: np.ndarray
    pool: UnlabeledPool | None = None  # a hybrid arm's holdout pool (no pool of its own)

    def at(self, indices: np.ndarray) -> np.ndarray:
        """Positions in ``images`` of these dataset indices (all staged)."""
        return np.searchsorted(self.rows, indices)


def prepare(config: TrialConfig, arm: ArmSpec, device: torch.device, cache: TrialCache, should_stop=None) -> Prepared:
    """Stage what a trial of ``arm`` needs (cached across trials: data once, the trial's images per resolution)."""
    data = cache.dataset(config.dataset, config.image_size, config.train_limit, should_stop=should_stop)
    backbone, resolution = _inputs(config, arm, data)
    splits = make_splits(data.labels, config.split_seed)
    train_idx = subsample_train(splits, data.labels, training_examples(config, len(splits.train)), config.seed)
    spec = get_backbone(backbone)
    stop = (lambda: None) if should_stop is None else partial(_stop_if, should_stop)
    pool = (
        holdout_pool(data, train_idx, splits) if arm.family == ArmFamily.HYBRID and config.unlabeled is None else None
    )
    used = [train_idx, splits.val, splits.test] + ([pool.indices] if pool is not None else [])
    rows = np.unique(np.concatenate(used))
    images = cache.staged(data, resolution, device, rows, progress=stop)
    labels = torch.as_tensor(data.labels[rows], device=device)
    return Prepared(data, splits, train_idx, spec, images, labels, rows, pool)


def _inputs(config: TrialConfig, arm: ArmSpec, data: ImageData) -> tuple[str, int]:
    """(backbone, resolution) an image trial stages its images at and builds its model from."""
    if arm.architecture == Architecture.SCRATCH:
        return config.scratch_backbone, config.scratch_resolution
    return config.backbone, config.resolution or data.default_resolution


def trial_inputs(config: TrialConfig, cache: TrialCache) -> tuple[str, int] | None:
    """(backbone, resolution) a trial of ``config`` will use, if the cache can tell without reading data.

    None for text (what text trials keep is not released) and for an image dataset not loaded yet.
    """
    if is_text_dataset(config.dataset):
        return None
    data = cache.loaded_dataset(config.dataset, config.image_size, config.train_limit)
    return None if data is None else _inputs(config, get_arm(config.arm), data)


def measure_throughput(
    config: TrialConfig, cache: TrialCache | None = None, clock: Callable[[], float] | None = None, steps: int = 4,
    hooks: Hooks | None = None,
) -> tuple[float, int]:  # fmt: skip
    """(optimizer steps per second, steps per epoch) for a gradient arm, from a few timed steps after warm-up.

    The model is built as the trial builds it and thrown away; nothing is recorded. ``hooks``' stop
    request cancels it as it cancels a trial (TrialCancelled, or DecodeCancelled while the data loads).
    """
    try:
        return _measure_throughput(config, cache or TrialCache(), clock, steps, hooks or Hooks([]))
    finally:
        release_freed_host_memory()  # the probe's model and activations, freed on return


def _measure_throughput(
    config: TrialConfig, cache: TrialCache, clock: Callable[[], float] | None, steps: int, hooks: Hooks
) -> tuple[float, int]:
    arm, device = get_arm(config.arm), resolve_device(config.device)
    clock = clock or partial(now, device)
    if is_text_dataset(config.dataset):
        return measure_text_throughput(config, arm, device, cache, clock, steps, training_examples, hooks)
    ready = prepare(config, arm, device, cache, should_stop=hooks.should_stop)
    model = build_checking(ready.spec, arm, ready.data.num_classes, cache, hooks).to(device)
    if prefers_channels_last(device):
        model = model.to(memory_format=torch.channels_last)
    trainer = GradientTrainer(config, arm.hyperparameters, ready.spec, model, ready.images, ready.labels,
                              ready.data.allow_flip, device, hooks, clock)  # fmt: skip
    train = torch.as_tensor(ready.at(ready.train_idx), device=device)
    batches = [train[i : i + config.batch_size] for i in range(0, len(train), config.batch_size)]
    trainer.prepare_trunk(ready.at(ready.train_idx))  # positions in the staged rows
    with stop_inside_steps(model, hooks.stop_if_asked):
        if trainer.trunk is not None:  # the rate of the steps after the first epoch: each image's frozen pass is done
            trainer.trunk.fill_all(torch.cat(batches[: PROBE_WARMUP_STEPS + steps]))
        return trainer.timed_rate(batches, steps, clock), len(batches)


def build_checking(spec: BackboneSpec, arm: ArmSpec, num_classes: int, cache: TrialCache, hooks: Hooks) -> nn.Module:
    """A fresh model as the trial builds it, the pretrained weights loaded beside a loop asking ``hooks`` for a stop."""
    if arm.pretrained and hooks.callbacks:
        call_checking(lambda: cache.load_pretrained(spec), hooks.stop_if_asked)
    return _build(spec, arm, num_classes, cache)


def _run(
    config: TrialConfig, arm: ArmSpec, device: torch.device, hooks: Hooks, cache: TrialCache, base: TrialResult,
    clock: Callable[[], float],
) -> TrialResult:  # fmt: skip
    if is_text_dataset(config.dataset):
        return run_text(config, arm, device, hooks, cache, base, clock, _finish, _seed_everything, training_examples,
                        after_pretraining)  # fmt: skip
    t0 = clock()
    ready = prepare(config, arm, device, cache, should_stop=hooks.should_stop)
    data, splits, train_idx, spec, images = ready.data, ready.splits, ready.train_idx, ready.spec, ready.images
    base = replace(base, train_examples=len(train_idx), dataset_fingerprint=data.fingerprint, time_data_s=clock() - t0)
    hooks.progress(TrialState(config, "data"))
    _seed_everything(config.seed)
    split_idx = (train_idx, splits.val, splits.test)
    if arm.trainable == Trainable.HEAD:
        probe = run_linear_probe(config, spec, data, images, split_idx, device, hooks, cache, clock, ready.rows)
        result = probe.into(base, len(train_idx))
        return _finish(result, probe.predictions, splits.test, data.labels, gradient=False)
    hooks.progress(TrialState(config, "model"))
    if arm.pretrained:
        # Loading pretrained weights is one call: it runs beside a loop that keeps asking for a stop. It
        # initialises a whole model first, drawing from the RNG, and happens once per cache: loaded before
        # the seed, so a trial draws the same numbers whether or not an earlier trial loaded them.
        call_checking(lambda: cache.load_pretrained(spec), hooks.stop_if_asked)
    _seed_everything(config.seed)
    model = _build(spec, arm, data.num_classes, cache).to(device)
    if prefers_channels_last(device):
        model = model.to(memory_format=torch.channels_last)
    hooks.progress(TrialState(config, "model"))
    with stop_inside_steps(model, hooks.stop_if_asked):  # a long step (a big model on a CPU) still cancels
        return _train(config, arm, device, hooks, base, clock, ready, model, split_idx)


def _train(
    config: TrialConfig, arm: ArmSpec, device: torch.device, hooks: Hooks, base: TrialResult,
    clock: Callable[[], float], ready: Prepared, model: nn.Module, split_idx: tuple[np.ndarray, ...],
) -> TrialResult:  # fmt: skip
    """A gradient arm's training, after its model is built: pretraining (hybrid), the loop, the test metrics."""
    data, splits, spec, images, labels = ready.data, ready.splits, ready.spec, ready.images, ready.labels
    training, unequal_time = config, None
    if arm.family == ArmFamily.HYBRID:
        stage = _pretrain(config, ready, model, device, hooks, clock)
        base = replace(base, time_pretrain_s=round(stage.seconds, 3), pretrain_steps=stage.steps,
                       pretrain_notes=stage.notes,
                       time_pretrain_first_step_s=round(stage.first_step_seconds, 3))  # fmt: skip
        training, unequal_time = after_pretraining(config, stage.seconds, stage.steps)
        hooks.progress(TrialState(config, "train"))  # pretraining is over: fine-tuning starts
    trainer = GradientTrainer(
        training, arm.hyperparameters, spec, model, images, labels, data.allow_flip, device, hooks, clock
    )
    outcome = trainer.run(*(ready.at(idx) for idx in split_idx))
    result = outcome.into(base, config.batch_size)
    return _finish(result, outcome.predictions, splits.test, data.labels, gradient=True, unequal_time=unequal_time)


def after_pretraining(config: TrialConfig, seconds: float, steps: int) -> tuple[TrialConfig, Finding | None]:
    """A hybrid trial's fine-tuning config (images and text alike), and the finding when pretraining overran.

    Equal total wall-clock: with a shared budget, fine-tuning gets what pretraining left of the arm's budget.
    """
    if not config.pretrain_share:
        return config, None
    training = replace(config, budget_seconds=max(0.0, config.budget_seconds - seconds))  # 0: no step left
    share = config.pretrain_share * config.budget_seconds
    if seconds <= BUDGET_GUARD * share:
        return training, None
    # One step can outlast the share (a big model on a CPU).
    return training, Finding(
        FindingCode.PRETRAINING_OVERRAN,
        {"seconds": seconds, "steps": steps, "share": share, "budget_seconds": config.budget_seconds},
    )


@dataclass(frozen=True)
class PretrainStage:
    seconds: float
    steps: int
    notes: tuple[str, ...]
    first_step_seconds: float = 0.0  # the warm-up step, inside ``seconds``


def _pretrain(
    config: TrialConfig, ready: Prepared, model: nn.Module, device: torch.device, hooks: Hooks,
    clock: Callable[[], float],
) -> PretrainStage:  # fmt: skip
    """The hybrid arm's first stage: self-supervised pretraining of the model's body on the unlabeled pool."""
    if config.unlabeled is not None:
        pool = load_unlabeled(config.unlabeled, config.image_size, like=ready.data, should_stop=hooks.should_stop)
    else:
        pool = ready.pool
    if pool.indices is not None:  # the held-back training images are already on the device
        images = ready.images[torch.as_tensor(ready.at(pool.indices), device=ready.images.device)]
    else:
        images = stage_images(pool.images, ready.images.shape[-1], device, progress=hooks.stop_if_asked)
    seconds = config.pretrain_seconds or config.pretrain_share * config.budget_seconds
    hooks.progress(TrialState(config, "pretrain"))
    with headless(model, ready.spec.classifier) as encoder:
        result = pretrain(
            encoder, images, partial(normalise, spec=ready.spec), seconds, device, config.seed,
            should_stop=hooks.should_stop, clock=clock, objective=config.pretrain_objective,
            allow_flip=ready.data.allow_flip, batch_size=config.pretrain_batch_size or MAX_PRETRAIN_BATCH,
        )  # fmt: skip
    if hooks.should_stop():
        raise TrialCancelled
    notes = (f"pretrained {result.steps} steps of {result.batch_size} images ({result.objective}) on {len(pool):,} "
             f"unlabeled images: {pool.source}",
             *pool.notes)  # fmt: skip
    return PretrainStage(result.seconds, result.steps, notes, result.first_step_seconds)


def _finish(
    result: TrialResult,
    predictions: torch.Tensor,
    test_idx: np.ndarray,
    labels: np.ndarray,
    gradient: bool,
    unequal_time: Finding | None = None,
) -> TrialResult:
    """Test metrics, per-example correctness and health: the same for every arm."""
    truth = labels[test_idx]
    predicted = predictions.cpu().numpy()
    correct = predicted == truth
    health = assess(
        correct,
        chance_accuracy(truth),
        result.steps,
        result.epochs_run,
        gradient,
        result.config.budget_seconds,
        unequal_time,
    )
    return replace(
        result,
        status=TrialStatus.COMPLETED,
        test_accuracy=round(float(correct.mean()), 5),
        test_macro_f1=round(macro_f1(truth, predicted), 5),
        test_correct=pack_correct(correct),
        test_size=len(truth),
        health=health,
    )


def macro_f1(truth: np.ndarray, predicted: np.ndarray) -> float:
    """Mean over the classes in either array of 2TP / (2TP + FP + FN): scikit-learn's ``f1_score(average="macro")``.

    Here, not from scikit-learn: importing ``sklearn.metrics`` adds ~80 MB to every run's memory.

    >>> macro_f1(np.array([0, 0, 1, 1]), np.array([0, 1, 1, 1]))
    0.7333333333333334
    """
    classes = np.union1d(truth, predicted)
    scores = []
    for label in classes:
        is_true, is_predicted = truth == label, predicted == label
        hits = np.count_nonzero(is_true & is_predicted)
        scores.append(2 * hits / (np.count_nonzero(is_true) + np.count_nonzero(is_predicted)))
    return float(np.mean(scores)) if scores else 0.0


def _stop_if(should_stop: Callable[[], bool]) -> None:
    if should_stop():
        raise TrialCancelled


def _seed_everything(seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)


def _build(spec: BackboneSpec, arm: ArmSpec, num_classes: int, cache: TrialCache) -> nn.Module:
    if not arm.pretrained:
        return create_model(spec, num_classes, pretrained=False)
    return cache.pretrained_model(spec, num_classes)
