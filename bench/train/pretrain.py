"""Self-supervised pretraining on unlabeled in-domain images: the first half of the hybrid arm.

:func:`pretrain` trains an encoder (any network that maps a batch of images to one feature
vector per image) in place, with a projection head and a contrastive or bootstrap loss,
for a wall-clock budget. Afterwards the caller fine-tunes the encoder on the labels.

* **SimCLR** (Chen et al. 2020): two augmented views of each image; the NT-Xent loss pulls
  the views of one image together and pushes the other images of the batch away.
* **BYOL** (Grill et al. 2020): an online network predicts a momentum (EMA) copy's
  projection of the other view; no negatives, so it tolerates smaller batches. It needs
  long training: on digits (compact CNN, 8 px, 40 steps of 32) it *lowered* a 50-label
  probe's accuracy from 0.77 (random init) to 0.59, where SimCLR raised it to 0.83-0.87
  (30-60 steps). SimCLR is the default.

Losses and heads come from ``lightly`` (``NTXentLoss``, ``SimCLRProjectionHead``, the BYOL
heads, ``update_momentum``): a maintained library whose implementations are checked
against the papers' benchmarks, so we do not hand-roll a temperature-scaled cross-entropy
over a 2N x 2N similarity matrix. Its augmentations are *not* used: they are PIL
transforms applied one image at a time on the CPU, whereas our images already sit on the
device as one uint8 tensor (airbench style). torchvision's v2 transforms, given a batch,
draw *one* random crop and jitter for the whole batch, which would make the two views of
every image differ in the same way and the task trivial. So :func:`two_views` draws
per-image parameters and applies them to the whole batch at once on the device: a random
resized crop through ``affine_grid``/``grid_sample`` (with an optional horizontal flip),
then brightness, contrast and saturation jitter and random grayscale.

Measurement follows the trial runner: the caller passes the device-synchronising clock;
it is read once before the first step and once after every step. The budget is kept as the
fine-tuning loop keeps it (bench.train.budget): no step starts that, at the pace measured so far
(seconds per image x batch), would end past the budget. The pace is that of the steps after the
first; the first (warm-up) step pays for allocation and kernel selection, is timed on its own
(``first_step_seconds``) and is the pace only while it is all there is. The batch is the plan's
(bench.train.planning sizes it from the measured rate so that several steps fit); pretraining also
stops when ``should_stop()`` says so, or at ``max_steps``.
"""

from __future__ import annotations

import contextlib
import copy
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from bench.device import autocast, prefers_channels_last
from bench.errors import ConfigError
from bench.train.budget import MAX_PRETRAIN_BATCH, step_pace
from bench.train.budget import MIN_PRETRAIN_BATCH as MIN_BATCH  # a pool must hold two batches of this size
from bench.train.config import OBJECTIVES

PROJECTION_DIM = 128
WARMUP_STEPS = 10


@dataclass(frozen=True)
class PretrainConfig:
    """The recipe; one named preset per objective (see :data:`PRESETS`)."""

    objective: str
    learning_rate: float
    weight_decay: float
    temperature: float = 0.5  # NT-Xent; 0.5 is SimCLR's choice for small batches (lightly's default)
    momentum: float = 0.99  # BYOL's EMA of the target network
    crop_scale: tuple[float, float] = (0.25, 1.0)  # area fraction of the random resized crop
    jitter: float = 0.4  # brightness / contrast / saturation strength
    grayscale_probability: float = 0.2


PRESETS = {
    "simclr": PretrainConfig("simclr", learning_rate=1e-3, weight_decay=1e-4),
    "byol": PretrainConfig("byol", learning_rate=1e-3, weight_decay=1e-4),
}


@dataclass(frozen=True)
class PretrainResult:
    objective: str
    steps: int
    seconds: float  # by the caller's clock, from before the first step to after the last
    losses: tuple[float, ...]  # one per step
    images_used: int  # size of the pool sampled from
    batch_size: int  # images per step (each seen in two views)
    stopped_by: str  # "budget", "should_stop" or "max_steps"
    first_step_seconds: float = 0.0  # the warm-up step, timed on its own (inside ``seconds``)

    @property
    def images_per_second(self) -> float | None:
        """The pace after the warm-up step (None with fewer than two steps)."""
        timed = self.seconds - self.first_step_seconds
        if self.steps < 2 or timed <= 0:
            return None
        return (self.steps - 1) * self.batch_size / timed

    @property
    def first_loss(self) -> float:
        return self.losses[0] if self.losses else math.nan

    @property
    def last_loss(self) -> float:
        """Mean of the last tenth of the steps (single steps are noisy)."""
        if not self.losses:
            return math.nan
        tail = self.losses[-max(1, len(self.losses) // 10) :]
        return sum(tail) / len(tail)


def check_pool(pool_size: int, batch_size: int, objective: str) -> int:
    """The batch size a pool of ``pool_size`` images allows, or a refusal naming ``--unlabeled``.

    >>> check_pool(1000, 256, "simclr")
    256
    >>> check_pool(100, 256, "simclr")  # two batches must fit
    50
    """
    if objective not in OBJECTIVES:
        raise ConfigError("pretrain_objective", f"unknown; accepted: {', '.join(OBJECTIVES)}", given=repr(objective))
    if pool_size < 2 * MIN_BATCH:
        raise ConfigError(
            "unlabeled",
            f"the pool has {pool_size} image{'s' if pool_size != 1 else ''}; {objective} needs at "
            f"least {2 * MIN_BATCH} (two batches of {MIN_BATCH}); accepted: a folder or .zip of at least "
            f"{2 * MIN_BATCH} readable images, or fewer {{examples}} so that more training images stay unlabeled",
        )
    return max(MIN_BATCH, min(batch_size, pool_size // 2))


def pretrain(
    encoder: nn.Module,
    images: torch.Tensor,
    normalise: Callable[[torch.Tensor], torch.Tensor],
    budget_seconds: float,
    device: torch.device,
    seed: int,
    should_stop: Callable[[], bool] = lambda: False,
    clock: Callable[[], float] = time.perf_counter,
    batch_size: int = MAX_PRETRAIN_BATCH,
    objective: str = "simclr",
    allow_flip: bool = True,
    max_steps: int | None = None,
    config: PretrainConfig | None = None,
) -> PretrainResult:
    """Train ``encoder`` in place on ``images`` (uint8 N x C x H x W on ``device``) without labels.

    ``normalise`` maps a batch in 0..255 (float) to the encoder's input (the backbone's own
    mean/std). The projection head is built here, from the encoder's output width, and
    dropped afterwards. The encoder is left in the training mode it came in.

    >>> from bench.models.backbones import create_model, get_backbone
    >>> encoder = create_model(get_backbone("compact_cnn"), num_classes=10, pretrained=False)
    >>> encoder.fc = nn.Identity()  # features, not logits
    >>> pool = torch.randint(0, 256, (64, 3, 16, 16), dtype=torch.uint8)
    >>> result = pretrain(encoder, pool, lambda b: b / 127.5 - 1, 60.0, torch.device("cpu"), 0, max_steps=2)
    >>> result.steps, result.batch_size
    (2, 32)
    """
    batch_size = check_pool(len(images), batch_size, objective)
    config = config or PRESETS[objective]
    if config.objective != objective:
        raise ValueError(f"config: a {config.objective} recipe given for objective {objective!r}")
    if images.dtype != torch.uint8 or images.ndim != 4:
        raise ValueError(f"images: expected uint8 N x C x H x W, got {images.dtype} {tuple(images.shape)}")
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)  # the heads' initialisation
    was_training = encoder.training
    width = _feature_width(encoder, images, normalise, device)
    encoder.train()  # before BYOL copies it: the target network normalises batches like the online one
    objective_fn = _SimCLR(width, config) if objective == "simclr" else _BYOL(encoder, width, config)
    objective_fn.to(device)
    parameters = [*encoder.parameters(), *objective_fn.trainable_parameters()]
    optimizer = torch.optim.AdamW(parameters, lr=config.learning_rate, weight_decay=config.weight_decay)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: min(1.0, (step + 1) / WARMUP_STEPS))
    losses: list[torch.Tensor] = []
    order = torch.empty(0, dtype=torch.long)
    start = now = clock()
    stopped_by, first_step = "budget", 0.0
    while now - start < budget_seconds:
        if should_stop():
            stopped_by = "should_stop"
            break
        if max_steps is not None and len(losses) >= max_steps:
            stopped_by = "max_steps"
            break
        if len(order) < batch_size:  # a fresh permutation: every image once per epoch
            order = torch.randperm(len(images), generator=generator)
        index, order = order[:batch_size], order[batch_size:]
        first, second = two_views(images[index.to(images.device)], config, allow_flip, generator)
        with autocast(device):
            loss = objective_fn.loss(encoder, _prepare(normalise(first), device), _prepare(normalise(second), device))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
        objective_fn.after_step(encoder)
        losses.append(loss.detach().float())
        previous, now = now, clock()
        if len(losses) == 1:
            first_step = now - previous
        # Never start a step that, at the pace measured so far, would end past the budget.
        if now - start + step_pace(now - start, first_step, len(losses)) > budget_seconds:
            break
    encoder.train(was_training)
    history = tuple(float(v) for v in torch.stack(losses).cpu()) if losses else ()
    return PretrainResult(objective, len(losses), now - start, history, len(images), batch_size, stopped_by, first_step)


@contextlib.contextmanager
def headless(model: nn.Module, classifier: str) -> Iterator[nn.Module]:
    """``model`` with its classifier (a backbone spec's ``classifier`` path) replaced by ``nn.Identity``.

    The head is put back on exit, so the pretrained body and the fine-tuning head stay one model.

    >>> from bench.models.backbones import create_model, get_backbone
    >>> model = create_model(get_backbone("compact_cnn"), num_classes=4, pretrained=False)
    >>> with headless(model, "fc") as encoder:
    ...     encoder(torch.zeros(2, 3, 16, 16)).shape
    torch.Size([2, 128])
    >>> model.fc
    Linear(in_features=128, out_features=4, bias=True)
    """
    parent_path, _, leaf = classifier.rpartition(".")
    parent = model.get_submodule(parent_path) if parent_path else model
    head = parent[int(leaf)] if leaf.isdigit() else getattr(parent, leaf)
    _set_child(parent, leaf, nn.Identity())
    try:
        yield model
    finally:
        _set_child(parent, leaf, head)


def _set_child(parent: nn.Module, leaf: str, child: nn.Module) -> None:
    if leaf.isdigit():
        parent[int(leaf)] = child
    else:
        setattr(parent, leaf, child)


def two_views(
    batch: torch.Tensor, config: PretrainConfig, allow_flip: bool, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """Two independently augmented float views (0..255) of a uint8 batch, parameters drawn per image."""
    pixels = batch.float()
    return _augment(pixels, config, allow_flip, generator), _augment(pixels, config, allow_flip, generator)


def _augment(batch: torch.Tensor, config: PretrainConfig, allow_flip: bool, generator: torch.Generator) -> torch.Tensor:
    n, channels = batch.shape[:2]

    def uniform(low: float, high: float) -> torch.Tensor:
        return (torch.rand(n, generator=generator) * (high - low) + low).to(batch.device)

    # Random resized crop: an area fraction and an aspect ratio (3/4..4/3, log-uniform) per image,
    # as an affine map from output to input coordinates; flips negate the x scale.
    area = uniform(*config.crop_scale)
    log_ratio = uniform(math.log(3 / 4), math.log(4 / 3))
    scale_x = (area * log_ratio.exp()).sqrt().clamp(max=1.0)
    scale_y = (area / log_ratio.exp()).sqrt().clamp(max=1.0)
    shift_x = (uniform(-1.0, 1.0)) * (1 - scale_x)
    shift_y = (uniform(-1.0, 1.0)) * (1 - scale_y)
    flip = torch.where(uniform(0.0, 1.0) < 0.5, -1.0, 1.0) if allow_flip else torch.ones_like(scale_x)
    theta = torch.zeros(n, 2, 3, device=batch.device)
    theta[:, 0, 0], theta[:, 0, 2] = scale_x * flip, shift_x
    theta[:, 1, 1], theta[:, 1, 2] = scale_y, shift_y
    grid = F.affine_grid(theta, list(batch.shape), align_corners=False)
    out = F.grid_sample(batch, grid, mode="bilinear", padding_mode="reflection", align_corners=False)
    # Colour: brightness, contrast and saturation factors per image, then random grayscale.
    low, high = 1 - config.jitter, 1 + config.jitter
    out = out * uniform(low, high).view(n, 1, 1, 1)
    mean = out.mean(dim=(1, 2, 3), keepdim=True)
    out = (out - mean) * uniform(low, high).view(n, 1, 1, 1) + mean
    if channels == 3:
        gray = (out * torch.tensor([0.299, 0.587, 0.114], device=out.device).view(1, 3, 1, 1)).sum(1, keepdim=True)
        saturation = uniform(low, high).view(n, 1, 1, 1)
        saturation = torch.where(uniform(0.0, 1.0).view(n, 1, 1, 1) < config.grayscale_probability, 0.0, saturation)
        out = (out - gray) * saturation + gray
    return out.clamp(0.0, 255.0)


def _prepare(x: torch.Tensor, device: torch.device) -> torch.Tensor:
    return x.contiguous(memory_format=torch.channels_last) if prefers_channels_last(device) else x


@torch.no_grad()
def _feature_width(encoder: nn.Module, images: torch.Tensor, normalise, device: torch.device) -> int:
    was_training = encoder.training
    encoder.eval()
    features = encoder(_prepare(normalise(images[:2].float()), device))
    encoder.train(was_training)
    if features.ndim != 2:
        raise ValueError(
            f"encoder: returns {tuple(features.shape)} per batch; expected one feature vector per image "
            "(batch x features), e.g. a timm model with num_classes=0 or a head replaced by nn.Identity()"
        )
    return int(features.shape[1])


class _SimCLR(nn.Module):
    def __init__(self, width: int, config: PretrainConfig):
        super().__init__()
        from lightly.loss import NTXentLoss  # deferred: lightly (~1 s to import) only for the hybrid arms
        from lightly.models.modules import SimCLRProjectionHead  # deferred: as above

        self.head = SimCLRProjectionHead(width, width, PROJECTION_DIM)
        self.criterion = NTXentLoss(temperature=config.temperature)

    def trainable_parameters(self):
        return self.head.parameters()

    def loss(self, encoder: nn.Module, first: torch.Tensor, second: torch.Tensor) -> torch.Tensor:
        both = self.head(encoder(torch.cat([first, second])))  # one pass: batch norm sees both views
        z_first, z_second = both.float().chunk(2)
        return self.criterion(z_first, z_second)

    def after_step(self, encoder: nn.Module) -> None:
        pass


class _BYOL(nn.Module):
    def __init__(self, encoder: nn.Module, width: int, config: PretrainConfig):
        super().__init__()
        from lightly.loss import NegativeCosineSimilarity  # deferred: lightly only for the hybrid arms
        from lightly.models.modules import BYOLPredictionHead, BYOLProjectionHead  # deferred: as above
        from lightly.models.utils import deactivate_requires_grad  # deferred: as above

        self.projection = BYOLProjectionHead(width, 4 * width, PROJECTION_DIM)
        self.prediction = BYOLPredictionHead(PROJECTION_DIM, 4 * width, PROJECTION_DIM)
        self.target_encoder = copy.deepcopy(encoder)
        self.target_projection = copy.deepcopy(self.projection)
        deactivate_requires_grad(self.target_encoder)
        deactivate_requires_grad(self.target_projection)
        self.criterion = NegativeCosineSimilarity()
        self.momentum = config.momentum

    def trainable_parameters(self):
        return [*self.projection.parameters(), *self.prediction.parameters()]

    def loss(self, encoder: nn.Module, first: torch.Tensor, second: torch.Tensor) -> torch.Tensor:
        both = torch.cat([first, second])
        online = self.prediction(self.projection(encoder(both))).float()
        with torch.no_grad():
            target = self.target_projection(self.target_encoder(both)).float()
        p_first, p_second = online.chunk(2)
        t_first, t_second = target.chunk(2)
        return 0.5 * (self.criterion(p_first, t_second) + self.criterion(p_second, t_first))

    def after_step(self, encoder: nn.Module) -> None:
        from lightly.models.utils import update_momentum  # deferred: lightly only for the hybrid arms (cached)

        update_momentum(encoder, self.target_encoder, self.momentum)
        update_momentum(self.projection, self.target_projection, self.momentum)
