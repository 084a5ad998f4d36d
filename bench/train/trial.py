"""``run_trial(config, callbacks) -> TrialResult``: one arm, one seed, one dataset, measured honestly.

* The dataset is staged on the device once, as uint8 tensors at the trial's resolution;
  batches are index slices, normalised with the backbone's own mean and std.
* ``budget_seconds`` gives every arm the same wall-clock training budget: a short probe
  measures seconds per step and the schedule is planned to end inside the budget.
  ``budget_seconds=None`` trains until early stopping on the validation split instead.
* Time is split into data preparation, training and evaluation, read after device sync.
* Callbacks see progress and can cancel; the runner itself prints nothing.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.metrics import accuracy_score, f1_score
from torch import nn

from advisor.constraints import Constraint, FieldError, Interval, check_fields
from bench.data.image_data import ImageData
from bench.data.splits import make_splits, subsample_train
from bench.device import (
    autocast,
    describe,
    library_versions,
    now,
    peak_memory_mb,
    prefers_channels_last,
    reset_peak_memory,
    resolve_device,
)
from bench.errors import BenchInputError, ConfigError
from bench.models.backbones import BackboneSpec, create_model, get_backbone, head_of
from bench.train.arms import ArmSpec, get_arm
from bench.train.batches import augment, eval_batch_size, forward_batch, normalise
from bench.train.cache import TrialCache
from bench.train.probe import fit_probe

# ---- configuration ----------------------------------------------------------------------------


@dataclass(frozen=True)
class TrialConfig:
    """Everything that defines one trial. Two equal configs on the same device give the same trial."""

    dataset: str  # a registered name, a folder, or a .zip
    arm: str
    backbone: str = "efficientnet_lite0"  # pretrained model for fine-tune arms and scratch_same_arch
    scratch_backbone: str = "compact_cnn"  # model for the scratch arm
    examples: int | None = None  # training examples (stratified subsample); None: the whole training split
    seed: int = 0  # initialisation, batch order and the training subsample
    split_seed: int = 0  # train/validation/test split: shared by every arm and seed
    budget_seconds: float | None = 20.0  # training wall-clock per trial; None: until converged
    max_epochs: int = 30  # cap in until-converged mode
    patience: int = 3  # evaluations without improvement before stopping (until-converged mode)
    batch_size: int = 64
    resolution: int | None = None  # input side for the pretrained architecture; None: the dataset's default
    scratch_resolution: int = 32  # input side for the compact scratch model (airbench trains CIFAR at 32)
    device: str = "auto"
    image_size: int = 128  # side user images are decoded to
    label_smoothing: float = 0.1

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# One declarative table: what each field accepts. The constraint writes the message.
TRIAL_CONSTRAINTS: dict[str, Constraint] = {
    "examples": Interval(int, 2, None, none="all"),
    "seed": Interval(int, 0, 2**31 - 1),
    "split_seed": Interval(int, 0, 2**31 - 1),
    "budget_seconds": Interval(float, 1, 86_400, unit="seconds", none="until converged"),
    "max_epochs": Interval(int, 1, 1000),
    "patience": Interval(int, 1, 100),
    "batch_size": Interval(int, 2, 4096),
    "resolution": Interval(int, 8, 512, unit="pixels", none="the dataset's default"),
    "scratch_resolution": Interval(int, 8, 512, unit="pixels"),
    "image_size": Interval(int, 8, 512, unit="pixels"),
    "label_smoothing": Interval(float, 0, 0.99),
}


def validate_trial_config(config: TrialConfig) -> None:
    """Raise ConfigError (a BenchInputError) naming the field, what is accepted and what was given."""
    try:
        check_fields(config, TRIAL_CONSTRAINTS)
    except FieldError as error:
        raise ConfigError(error.field, error.detail) from None
    arm = get_arm(config.arm)
    backbone = get_backbone(config.backbone)
    get_backbone(config.scratch_backbone)
    if arm.pretrained and not backbone.has_pretrained:
        raise BenchInputError(
            f"--backbone {config.backbone}: has no pretrained weights, so arm {config.arm} cannot use it; "
            "choose a pretrained backbone (efficientnet_lite0, resnet18, mobilenet_v3_small)"
        )
    resolve_device(config.device)


# ---- results ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class EpochRecord:
    epoch: float  # fractional in budget mode when the plan ends mid-epoch
    step: int
    train_loss: float | None  # None for the linear probe (a closed-form fit)
    val_accuracy: float
    train_seconds: float


@dataclass(frozen=True)
class TrialResult:
    config: TrialConfig
    status: str  # completed | cancelled | failed
    test_accuracy: float | None = None
    test_macro_f1: float | None = None
    val_accuracy: float | None = None
    epochs_run: float = 0.0
    steps: int = 0
    train_examples: int = 0
    time_data_s: float = 0.0
    time_train_s: float = 0.0
    time_eval_s: float = 0.0
    images_per_second: float = 0.0
    peak_memory_mb: float = 0.0
    memory_kind: str = ""
    device: str = ""
    dataset_fingerprint: str = ""
    feature_cache_hit: bool | None = None
    history: tuple[EpochRecord, ...] = ()
    versions: dict[str, str] = field(default_factory=dict)
    error: str = ""
    started_at: str = ""
    finished_at: str = ""

    @property
    def trial_id(self) -> str:
        c = self.config
        return f"{c.arm}-seed{c.seed}-n{c.examples or 'all'}"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["trial_id"] = self.trial_id
        return data


# ---- callbacks --------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrialState:
    """A snapshot passed to callbacks; they read it, they never change it."""

    config: TrialConfig
    phase: str  # data | features | train | eval
    step: int = 0
    planned_steps: int = 0
    epoch: float = 0.0
    train_seconds: float = 0.0
    last_val_accuracy: float | None = None


class Callback:
    """No-op hooks. Override what you need; return True from ``should_stop`` to cancel."""

    def on_trial_start(self, state: TrialState) -> None: ...

    def on_progress(self, state: TrialState) -> None: ...

    def on_epoch_end(self, state: TrialState, record: EpochRecord) -> None: ...

    def on_trial_end(self, result: TrialResult) -> None: ...

    def should_stop(self) -> bool:
        return False


class TrialCancelled(Exception):
    pass


class _Hooks:
    """Fans each event out to every callback; ``progress`` also checks for cancellation."""

    def __init__(self, callbacks: list[Callback]):
        self.callbacks = callbacks

    def on_trial_start(self, state: TrialState) -> None:
        for cb in self.callbacks:
            cb.on_trial_start(state)

    def progress(self, state: TrialState) -> None:
        for cb in self.callbacks:
            cb.on_progress(state)
        if any(cb.should_stop() for cb in self.callbacks):
            raise TrialCancelled

    def on_epoch_end(self, state: TrialState, record: EpochRecord) -> None:
        for cb in self.callbacks:
            cb.on_epoch_end(state, record)

    def on_trial_end(self, result: TrialResult) -> None:
        for cb in self.callbacks:
            cb.on_trial_end(result)


# ---- the runner -------------------------------------------------------------------------------

PROBE_WARMUP_STEPS = 2  # untimed: first steps pay for allocation and kernel selection
PROBE_STEPS = 4  # timed to plan the budget
REPLAN_EVERY = 10  # steps between re-plans of a budgeted trial
MAX_EVALS = 6  # validation passes per budgeted trial: on a CPU each costs about a second
BUDGET_GUARD = 1.10  # stop training if it runs 10% over the budget (e.g. the machine slowed down)
LOGISTIC_C_GRID = (1e-3, 1e-2, 1e-1, 1.0, 10.0)


def run_trial(
    config: TrialConfig,
    callbacks: list[Callback] | None = None,
    cache: TrialCache | None = None,
) -> TrialResult:
    """Run one trial and return its result; never raises for a failure inside training.

    Bad configuration raises BenchInputError before any work starts.

    >>> result = run_trial(TrialConfig("digits", "linear_probe", examples=200, budget_seconds=None))  # doctest: +SKIP
    >>> result.status, result.test_accuracy > 0.8  # doctest: +SKIP
    ('completed', True)
    """
    validate_trial_config(config)
    hooks = _Hooks(list(callbacks or []))
    cache = cache or TrialCache()
    device = resolve_device(config.device)
    started = datetime.now(UTC).isoformat(timespec="seconds")
    base = TrialResult(
        config, status="running", device=describe(device), versions=library_versions(), started_at=started
    )
    hooks.on_trial_start(TrialState(config, "data"))
    reset_peak_memory(device)
    try:
        result = _run(config, get_arm(config.arm), device, hooks, cache, base)
    except TrialCancelled:
        result = replace(base, status="cancelled", error="cancelled by the user")
    except BenchInputError:
        raise
    except Exception as error:  # a crash in one trial must not lose the others
        result = replace(base, status="failed", error=f"{error.__class__.__name__}: {error}")
    peak, kind = peak_memory_mb(device)
    result = replace(
        result,
        peak_memory_mb=round(peak, 1),
        memory_kind=kind,
        finished_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    hooks.on_trial_end(result)
    return result


def _run(
    config: TrialConfig, arm: ArmSpec, device: torch.device, hooks: _Hooks, cache: TrialCache, base: TrialResult
) -> TrialResult:
    t0 = now(device)
    data = cache.dataset(config.dataset, config.image_size)
    if arm.architecture == "scratch":
        resolution = config.scratch_resolution
    else:
        resolution = config.resolution or data.default_resolution
    splits = make_splits(data.labels, config.split_seed)
    train_idx = subsample_train(splits, data.labels, config.examples, config.seed)
    spec = get_backbone(config.scratch_backbone if arm.architecture == "scratch" else config.backbone)
    images = cache.staged(data, resolution, device)
    labels = torch.as_tensor(data.labels, device=device)
    time_data = now(device) - t0
    base = replace(base, train_examples=len(train_idx), dataset_fingerprint=data.fingerprint, time_data_s=time_data)
    hooks.progress(TrialState(config, "data"))
    _seed_everything(config.seed)
    if arm.trainable == "head":
        return _linear_probe(
            config, spec, data, images, (train_idx, splits.val, splits.test), device, hooks, cache, base
        )
    model = _build(spec, arm, data.num_classes, cache).to(device)
    if prefers_channels_last(device):
        model = model.to(memory_format=torch.channels_last)
    loop = _TrainLoop(config, arm, spec, model, images, labels, data.allow_flip, device, hooks)
    return loop.run(train_idx, splits.val, splits.test, base)


def _seed_everything(seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)


def _build(spec: BackboneSpec, arm: ArmSpec, num_classes: int, cache: TrialCache) -> nn.Module:
    if not arm.pretrained:
        return create_model(spec, num_classes, pretrained=False)
    return cache.pretrained_model(spec, num_classes)


class _TrainLoop:
    """Gradient training for the fine-tune and scratch arms."""

    def __init__(self, config, arm, spec, model, images, labels, allow_flip, device, hooks):
        self.config, self.arm, self.spec, self.model = config, arm, spec, model
        self.images, self.labels, self.allow_flip = images, labels, allow_flip
        self.device, self.hooks = device, hooks
        self.frozen_blocks, groups = _parameter_groups(model, spec, arm)
        self.optimizer = torch.optim.AdamW(groups, weight_decay=arm.weight_decay)
        self.base_lrs = [g["lr"] for g in self.optimizer.param_groups]
        self.generator = torch.Generator().manual_seed(config.seed)

    def _set_train_mode(self) -> None:
        self.model.train()
        for block in self.frozen_blocks:
            block.eval()  # frozen BN keeps its pretrained running statistics

    def _lr_factor(self, step: int, total: int) -> float:
        warmup = max(3, round(0.05 * total))
        if step < warmup:
            return (step + 1) / warmup
        progress = min(1.0, (step - warmup) / max(1, total - warmup))
        return 0.5 * (1.0 + math.cos(math.pi * progress))

    def _step(self, batch_idx: torch.Tensor, step: int, total: int) -> float:
        x = normalise(augment(self.images[batch_idx], self.allow_flip, self.generator), self.spec)
        if prefers_channels_last(self.device):
            x = x.contiguous(memory_format=torch.channels_last)
        y = self.labels[batch_idx]
        factor = self._lr_factor(step, total)
        for group, base_lr in zip(self.optimizer.param_groups, self.base_lrs, strict=True):
            group["lr"] = base_lr * factor
        with autocast(self.device):
            loss = F.cross_entropy(self.model(x), y, label_smoothing=self.config.label_smoothing)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        return loss.detach()

    def run(self, train_idx: np.ndarray, val_idx: np.ndarray, test_idx: np.ndarray, base: TrialResult) -> TrialResult:
        config, device = self.config, self.device
        train = torch.as_tensor(train_idx, device=device)
        steps_per_epoch = math.ceil(len(train_idx) / config.batch_size)
        budget = config.budget_seconds
        planned = steps_per_epoch * config.max_epochs  # replaced by the probe in budget mode
        eval_every = steps_per_epoch if budget is None else None
        train_seconds = eval_seconds = 0.0
        best_acc, best_state, stale, history = -1.0, None, 0, []
        step, losses = 0, []
        self._set_train_mode()
        order = self._epoch_order(train)
        cursor = 0
        clock = now(device)
        while step < planned:
            if cursor >= len(order):
                order, cursor = self._epoch_order(train), 0
            batch_idx = order[cursor : cursor + config.batch_size]
            cursor += config.batch_size
            if step == PROBE_WARMUP_STEPS:
                probe_train_start = train_seconds + now(device) - clock
            losses.append(self._step(batch_idx, step, planned))
            step += 1
            timed = step - PROBE_WARMUP_STEPS
            replan = timed == PROBE_STEPS or timed % REPLAN_EVERY == 0 or step == planned
            if budget is not None and timed >= PROBE_STEPS and replan:
                # Plan from the probe, then re-plan from the running average: one slow probe
                # (a busy machine, a first-use kernel) must not cut the whole trial short.
                elapsed = train_seconds + now(device) - clock
                per_step = (elapsed - probe_train_start) / timed
                planned = max(step, step + int((budget - elapsed) / per_step))
                evals = min(MAX_EVALS, max(1, math.ceil(planned / steps_per_epoch)))
                eval_every = max(1, math.ceil(planned / evals))
            at_eval = eval_every is not None and (step % eval_every == 0 or step == planned)
            if budget is not None and train_seconds + now(device) - clock > budget * BUDGET_GUARD:
                planned, at_eval = step, True
            self.hooks.progress(
                TrialState(
                    config, "train", step, planned, step / steps_per_epoch, train_seconds + time.perf_counter() - clock
                )
            )
            if not at_eval:
                continue
            train_seconds += now(device) - clock
            t_eval = now(device)
            val_acc = _accuracy(self._predict(val_idx), self.labels[torch.as_tensor(val_idx, device=device)])
            eval_seconds += now(device) - t_eval
            record = EpochRecord(
                round(step / steps_per_epoch, 3),
                step,
                float(torch.stack(losses).mean()),
                val_acc,
                round(train_seconds, 3),
            )
            losses = []
            history.append(record)
            self.hooks.on_epoch_end(
                TrialState(config, "train", step, planned, record.epoch, train_seconds, val_acc), record
            )
            if val_acc > best_acc:
                best_acc, stale = val_acc, 0
                best_state = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
            else:
                stale += 1
                if budget is None and stale >= config.patience:
                    break  # early stopping; in budget mode every arm uses its whole budget
            self._set_train_mode()
            clock = now(device)
        if best_state is not None:
            self.model.load_state_dict(best_state)
        t_eval = now(device)
        predictions = self._predict(test_idx)
        eval_seconds += now(device) - t_eval
        accuracy, macro_f1 = _test_metrics(predictions, test_idx, self.labels)
        return replace(
            base,
            status="completed",
            test_accuracy=accuracy,
            test_macro_f1=macro_f1,
            val_accuracy=best_acc,
            epochs_run=round(step / steps_per_epoch, 3),
            steps=step,
            time_train_s=round(train_seconds, 3),
            time_eval_s=round(eval_seconds, 3),
            images_per_second=round(step * config.batch_size / train_seconds, 1) if train_seconds else 0.0,
            history=tuple(history),
        )

    def _epoch_order(self, train: torch.Tensor) -> torch.Tensor:
        permutation = torch.randperm(len(train), generator=self.generator).to(train.device)
        return train[permutation]

    @torch.inference_mode()
    def _predict(self, indices: np.ndarray) -> torch.Tensor:
        self.model.eval()
        outputs = []
        for chunk in torch.as_tensor(indices, device=self.device).split(eval_batch_size(self.device)):
            outputs.append(forward_batch(self.model, self.images[chunk], self.spec, self.device).float())
            self.hooks.progress(TrialState(self.config, "eval"))
        return torch.cat(outputs).argmax(1)


def _accuracy(predictions: torch.Tensor, truth: torch.Tensor) -> float:
    return round(float((predictions == truth).float().mean()), 5)


def _test_metrics(predictions: torch.Tensor, test_idx: np.ndarray, labels: torch.Tensor) -> tuple[float, float]:
    truth = labels[torch.as_tensor(test_idx, device=labels.device)].cpu().numpy()
    predicted = predictions.cpu().numpy()
    return round(float(accuracy_score(truth, predicted)), 5), round(
        float(f1_score(truth, predicted, average="macro")), 5
    )


def _parameter_groups(model: nn.Module, spec: BackboneSpec, arm: ArmSpec) -> tuple[list[nn.Module], list[dict]]:
    """(frozen blocks, optimiser groups): the head at ``lr_head``, trainable body at ``lr_body``."""
    head_params = list(head_of(model, spec).parameters())
    head_ids = {id(p) for p in head_params}
    frozen_blocks: list[nn.Module] = []
    if arm.trainable == "top":
        blocks = spec.body_blocks(model)
        n_train = max(1, math.ceil(len(blocks) * arm.top_fraction))
        frozen_blocks = blocks[:-n_train]
        for parameter in model.parameters():
            parameter.requires_grad_(False)
        for block in blocks[-n_train:]:
            for parameter in block.parameters():
                parameter.requires_grad_(True)
        for parameter in head_params:
            parameter.requires_grad_(True)
    body = [p for p in model.parameters() if p.requires_grad and id(p) not in head_ids]
    groups = [{"params": head_params, "lr": arm.lr_head}]
    if body:
        groups.append({"params": body, "lr": arm.lr_body})
    return frozen_blocks, groups


# ---- linear probe -----------------------------------------------------------------------------


def _linear_probe(config, spec, data: ImageData, images, split_idx, device, hooks, cache, base) -> TrialResult:
    train_idx, val_idx, test_idx = split_idx
    t_features = now(device)
    needed = np.concatenate([train_idx, val_idx, test_idx])
    features, hit = cache.features(
        spec, data, images, device, needed, progress=lambda: hooks.progress(TrialState(config, "features"))
    )
    feature_seconds = now(device) - t_features
    as_tensor = lambda idx: torch.as_tensor(features[idx], device=device)  # noqa: E731
    target = lambda idx: torch.as_tensor(data.labels[idx], device=device)  # noqa: E731
    history: list[EpochRecord] = []

    def record(c: float, val_accuracy: float) -> None:
        history.append(EpochRecord(1.0, len(history) + 1, None, val_accuracy, round(now(device) - t_fit, 3)))
        hooks.progress(
            TrialState(config, "train", len(history), len(LOGISTIC_C_GRID), 1.0, last_val_accuracy=val_accuracy)
        )

    t_fit = now(device)
    fit = fit_probe(
        as_tensor(train_idx), target(train_idx), as_tensor(val_idx), target(val_idx), data.num_classes,
        LOGISTIC_C_GRID, on_fit=record,
    )  # fmt: skip
    fit_seconds = now(device) - t_fit
    t_eval = now(device)
    predictions = fit.predict(as_tensor(test_idx))
    accuracy, macro_f1 = _test_metrics(predictions, test_idx, torch.as_tensor(data.labels, device=device))
    eval_seconds = now(device) - t_eval
    return replace(
        base,
        status="completed",
        test_accuracy=accuracy,
        test_macro_f1=macro_f1,
        val_accuracy=fit.val_accuracy,
        epochs_run=1.0,
        steps=len(LOGISTIC_C_GRID),
        # Feature extraction is the probe's training cost when it ran; a cache hit is free.
        time_train_s=round(fit_seconds + (0.0 if hit else feature_seconds), 3),
        time_data_s=round(base.time_data_s + (feature_seconds if hit else 0.0), 3),
        time_eval_s=round(eval_seconds, 3),
        images_per_second=round(len(train_idx) / fit_seconds, 1),
        feature_cache_hit=hit,
        history=tuple(history),
    )
