"""The gradient arms' training loop: optimizer from the recipe, the step, evaluation and early stopping.

Small pieces in the style of Lightning's loops: :func:`parameter_groups` turns the arm's recipe
(what trains, learning rates with layer-wise decay) into optimizer groups; :class:`EarlyStopping`
keeps the best weights; :class:`BudgetPlanner` (bench.train.budget) decides how many steps fit;
:class:`GradientTrainer` runs the steps and reports to the callbacks.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from advisor.recipes import Hyperparameters
from advisor.vocabulary import Trainable
from bench.device import autocast, prefers_channels_last
from bench.models.backbones import BackboneSpec, head_of
from bench.train.batches import augment, eval_batch_size, forward_batch, normalise
from bench.train.budget import PROBE_WARMUP_STEPS, BudgetPlanner
from bench.train.callbacks import Hooks, TrialState
from bench.train.config import TrialConfig
from bench.train.frozen_trunk import FrozenTrunk
from bench.train.health import MIN_STEPS
from bench.train.result import EpochRecord, TrialResult


def parameter_groups(model: nn.Module, spec: BackboneSpec, hp: Hyperparameters) -> tuple[list[nn.Module], list[dict]]:
    """(frozen blocks, optimizer groups) for a recipe: the head at ``lr_head``; trainable body blocks at
    ``lr_body`` for the top block, times ``layer_decay`` per block going down.

    Blocks come from the backbone registry's ``body_blocks`` (bottom to top), so this works for every
    registered model (timm, torchvision and the compact CNN alike).
    """
    head_params = list(head_of(model, spec).parameters())
    head_ids = {id(p) for p in head_params}
    blocks = spec.body_blocks(model)
    frozen_blocks: list[nn.Module] = []
    if hp.trainable == Trainable.TOP:
        n_train = max(1, math.ceil(len(blocks) * hp.top_fraction))
        frozen_blocks, blocks = blocks[:-n_train], blocks[-n_train:]
        for parameter in model.parameters():
            parameter.requires_grad_(False)
        for module in [*blocks, head_of(model, spec)]:
            for parameter in module.parameters():
                parameter.requires_grad_(True)
    groups = [{"params": head_params, "lr": hp.lr_head, "name": "head"}]
    seen = set(head_ids)
    for depth, block in enumerate(reversed(blocks)):
        params = [p for p in block.parameters() if p.requires_grad and id(p) not in seen]
        seen |= {id(p) for p in params}
        if params:
            groups.append({"params": params, "lr": hp.lr_body * hp.layer_decay**depth, "name": f"body-{depth}"})
    rest = [p for p in model.parameters() if p.requires_grad and id(p) not in seen]
    if rest:  # parameters outside the listed blocks train with the lowest block's rate
        lowest = hp.lr_body * hp.layer_decay ** max(0, len(blocks) - 1)
        groups.append({"params": rest, "lr": lowest, "name": "body-other"})
    return frozen_blocks, groups


STOP_CHECK_SECONDS = 0.1  # inside a step, a stop is asked for at most this often (a clock read otherwise)


@contextlib.contextmanager
def stop_inside_steps(model: nn.Module, stop_if_asked: Callable[[], None]) -> Iterator[None]:
    """While inside, ``stop_if_asked`` (which raises to cancel) runs inside forward and backward passes too.

    One step of a big model on a CPU can take many seconds (a pretraining batch of 512 views through
    EfficientNet-Lite0 took over a minute on a loaded 2-core machine); checking between steps alone
    would keep a cancel waiting that long. A forward pre-hook on every module with parameters and a
    gradient hook on its first parameter ask at most every :data:`STOP_CHECK_SECONDS`; an exception
    raised in either propagates out of the forward or ``backward()`` call. The hooks are removed on exit.
    """
    last = [time.perf_counter()]

    def check() -> None:
        now = time.perf_counter()
        if now - last[0] >= STOP_CHECK_SECONDS:
            last[0] = now
            stop_if_asked()

    handles = []
    for module in model.modules():
        own = [p for p in module.parameters(recurse=False) if p.requires_grad]
        if not own and not list(module.parameters(recurse=False)):
            continue
        handles.append(module.register_forward_pre_hook(lambda _module, _args: check()))
        if own:
            handles.append(own[0].register_hook(lambda grad: (check(), grad)[1]))
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


def make_optimizer(groups: list[dict], hp: Hyperparameters) -> torch.optim.Optimizer:
    if hp.optimizer != "adamw":
        raise ValueError(f"optimizer {hp.optimizer!r}: the gradient loop runs adamw recipes")
    return torch.optim.AdamW(groups, weight_decay=hp.weight_decay)


def lr_factor(step: int, total: int, warmup_fraction: float) -> float:
    """Linear warm-up over max(3, fraction x total) steps, then cosine decay to 0."""
    warmup = max(3, round(warmup_fraction * total))
    if step < warmup:
        return (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return 0.5 * (1.0 + math.cos(math.pi * progress))


@dataclass
class EarlyStopping:
    """Keeps the best weights by validation accuracy; ``patience`` evaluations without improvement stop.

    Never before ``min_steps``: a from-scratch network on a few hundred images can sit flat for
    its first epochs, and stopping it there would report an arm that never trained as converged
    (the trial-health floor, :data:`bench.train.health.MIN_STEPS`).
    """

    patience: int | None  # None: never stop early (budget mode uses the whole budget)
    min_steps: int = MIN_STEPS
    best_accuracy: float = -1.0
    best_state: dict | None = None
    stale: int = 0

    def update(self, accuracy: float, model: nn.Module, step: int) -> bool:
        """Record an evaluation after ``step`` optimizer steps; True when training should stop."""
        if accuracy > self.best_accuracy:
            self.best_accuracy, self.stale = accuracy, 0
            self.best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            return False
        self.stale += 1
        return self.patience is not None and self.stale >= self.patience and step >= self.min_steps

    def restore(self, model: nn.Module) -> None:
        if self.best_state is not None:
            model.load_state_dict(self.best_state)


@dataclass(frozen=True)
class LoopOutcome:
    predictions: torch.Tensor  # on the test split
    val_accuracy: float
    steps: int
    epochs: float
    train_seconds: float
    eval_seconds: float
    history: tuple[EpochRecord, ...]
    first_step_seconds: float = 0.0  # budget mode: the warm-up step, part of train_seconds
    slowest_step_seconds: float = 0.0  # budget mode: the slowest step after it

    def into(self, base: TrialResult, batch_size: int) -> TrialResult:
        """``base`` with what this training measured (the one place a gradient trial's numbers are filled)."""
        return replace(
            base,
            val_accuracy=self.val_accuracy,
            epochs_run=self.epochs,
            steps=self.steps,
            time_train_s=round(self.train_seconds, 3),
            time_eval_s=round(self.eval_seconds, 3),
            images_per_second=round(self.steps * batch_size / self.train_seconds, 1) if self.train_seconds else 0.0,
            history=self.history,
            time_first_step_s=round(self.first_step_seconds, 3),
            time_slowest_step_s=round(self.slowest_step_seconds, 3),
        )


class GradientTrainer:
    """Trains one model with the arm's recipe on staged uint8 images; index batches, no DataLoader."""

    def __init__(
        self,
        config: TrialConfig,
        hp: Hyperparameters,
        spec: BackboneSpec,
        model: nn.Module,
        images: torch.Tensor,
        labels: torch.Tensor,
        allow_flip: bool,
        device: torch.device,
        hooks: Hooks,
        clock: Callable[[], float],
    ):
        self.config, self.hp, self.spec, self.model = config, hp, spec, model
        self.images, self.labels, self.allow_flip = images, labels, allow_flip
        self.device, self.hooks, self.clock = device, hooks, clock
        self.frozen_blocks, groups = parameter_groups(model, spec, hp)
        self.optimizer = make_optimizer(groups, hp)
        self.base_lrs = [g["lr"] for g in self.optimizer.param_groups]
        self.generator = torch.Generator().manual_seed(config.seed)
        smoothing = config.label_smoothing
        self.label_smoothing = hp.label_smoothing if smoothing is None else smoothing
        self.trunk: FrozenTrunk | None = None  # the frozen bottom's cached outputs (prepare_trunk)

    def prepare_trunk(self, indices: np.ndarray) -> None:
        """With a caching recipe, compute the frozen bottom once for ``images[indices]`` (bench.train.frozen_trunk)."""
        if self.hp.cache_frozen:
            self.trunk = FrozenTrunk.build(
                self.model, self.spec, len(self.frozen_blocks), self.images, indices, self.allow_flip, self.device
            )

    def _logits(self, batch_idx: torch.Tensor) -> torch.Tensor:
        if self.trunk is not None:
            return self.trunk.train_logits(batch_idx, self.generator)
        # A caching recipe augments the same way when its trunk is not cached: flips only, no crops.
        batch = augment(self.images[batch_idx], self.allow_flip, self.generator, translate=not self.hp.cache_frozen)
        x = normalise(batch, self.spec)
        if prefers_channels_last(self.device):
            x = x.contiguous(memory_format=torch.channels_last)
        with autocast(self.device):
            return self.model(x)

    def _step_cost(self, batch_idx: torch.Tensor) -> float | None:
        """What a step's time is proportional to, for the budget's guard; None: every step costs the same
        (images of one size; a text trainer counts padded tokens)."""
        return None

    def _set_train_mode(self) -> None:
        self.model.train()
        for block in self.frozen_blocks:
            block.eval()  # frozen BN keeps its pretrained running statistics

    def timed_rate(self, batches: list[torch.Tensor], steps: int, clock: Callable[[], float]) -> float:
        """Optimizer steps per second over ``steps`` timed steps, after PROBE_WARMUP_STEPS untimed ones
        (the throughput probe's measurement, for images and text alike; nothing is recorded)."""
        total = PROBE_WARMUP_STEPS + steps
        for step in range(PROBE_WARMUP_STEPS):
            self._step(batches[step % len(batches)], step, total)
        start = clock()
        for step in range(PROBE_WARMUP_STEPS, total):
            self._step(batches[step % len(batches)], step, total)
        return steps / max(clock() - start, 1e-9)

    def _step(self, batch_idx: torch.Tensor, step: int, total: int) -> torch.Tensor:
        y = self.labels[batch_idx]
        factor = lr_factor(step, total, self.hp.warmup_fraction)
        for group, base_lr in zip(self.optimizer.param_groups, self.base_lrs, strict=True):
            group["lr"] = base_lr * factor
        logits = self._logits(batch_idx)
        with autocast(self.device):
            loss = F.cross_entropy(logits, y, label_smoothing=self.label_smoothing)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        return loss.detach()

    def run(self, train_idx: np.ndarray, val_idx: np.ndarray, test_idx: np.ndarray) -> LoopOutcome:
        config = self.config
        train = torch.as_tensor(train_idx, device=self.device)
        steps_per_epoch = math.ceil(len(train_idx) / config.batch_size)
        planner = BudgetPlanner(config.budget_seconds, steps_per_epoch, config.max_epochs, self.clock)
        stopping = EarlyStopping(config.patience if config.budget_seconds is None else None)
        history: list[EpochRecord] = []
        eval_seconds, step, losses = 0.0, 0, []
        order, cursor = self._epoch_order(train), 0
        self._set_train_mode()
        planner.resume()
        self.prepare_trunk(np.concatenate([train_idx, val_idx, test_idx]))
        while step < planner.planned:  # the order is redrawn right after the step that ends it (below)
            batch = order[cursor : cursor + config.batch_size]
            losses.append(self._step(batch, step, planner.planned))
            cursor += config.batch_size
            step += 1
            # Cancellation is checked after every step, before the planner reads the clock.
            self.hooks.progress(
                TrialState(config, "train", step, planner.planned, step / steps_per_epoch, planner.train_seconds)
            )
            if cursor >= len(order):  # the next batch is known before the guard asks whether it fits
                order, cursor = self._epoch_order(train), 0
            next_cost = self._step_cost(order[cursor : cursor + config.batch_size])
            if not planner.after_step(step, self._step_cost(batch), next_cost):
                continue
            train_seconds = planner.pause()
            t_eval = self.clock()
            val_acc = self._validate(val_idx)
            eval_seconds += self.clock() - t_eval
            record = EpochRecord(
                round(step / steps_per_epoch, 3), step, float(torch.stack(losses).mean()), val_acc,
                round(train_seconds, 3),
            )  # fmt: skip
            losses = []
            history.append(record)
            self.hooks.on_epoch_end(
                TrialState(config, "train", step, planner.planned, record.epoch, train_seconds, val_acc), record
            )
            if stopping.update(val_acc, self.model, step) or step >= planner.planned:
                break
            self._set_train_mode()
            planner.resume()
        train_seconds = planner.pause()
        if not history:  # an empty budget (a hybrid whose pretraining spent it all): the untrained head
            t_eval = self.clock()
            stopping.update(self._validate(val_idx), self.model, step)
            eval_seconds += self.clock() - t_eval
        stopping.restore(self.model)
        t_eval = self.clock()
        predictions = self._predict(test_idx, phase="test")
        eval_seconds += self.clock() - t_eval
        return LoopOutcome(
            predictions, stopping.best_accuracy, step, round(step / steps_per_epoch, 3), train_seconds,
            eval_seconds, tuple(history), planner.first_step_seconds, planner.slowest_step_seconds,
        )  # fmt: skip

    def _validate(self, val_idx: np.ndarray) -> float:
        return _accuracy(self._predict(val_idx), self.labels[torch.as_tensor(val_idx, device=self.device)])

    def _epoch_order(self, train: torch.Tensor) -> torch.Tensor:
        permutation = torch.randperm(len(train), generator=self.generator).to(train.device)
        return train[permutation]

    @torch.inference_mode()
    def _predict(self, indices: np.ndarray, phase: str = "eval") -> torch.Tensor:
        """Predicted classes, batch by batch; every batch reports ``phase`` (eval: validation, test) and may cancel."""
        self.model.eval()
        outputs = []
        for chunk in torch.as_tensor(indices, device=self.device).split(eval_batch_size(self.device)):
            if self.trunk is not None:
                outputs.append(self.trunk.eval_logits(chunk).float())
            else:
                outputs.append(forward_batch(self.model, self.images[chunk], self.spec, self.device).float())
            self.hooks.progress(TrialState(self.config, phase))
        return torch.cat(outputs).argmax(1)


def _accuracy(predictions: torch.Tensor, truth: torch.Tensor) -> float:
    return round(float((predictions == truth).float().mean()), 5)
