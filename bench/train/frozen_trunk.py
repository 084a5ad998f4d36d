"""Partial fine-tuning's frozen bottom, computed once per image: the top blocks and head train on it.

Below the cut nothing trains: the parameters are frozen and the frozen blocks run in eval mode (their
batch norm keeps the pretrained running statistics, dropout is off), so the bottom's output for an
image is the same at every step of a trial. Per-step augmentation would change it: a recipe that caches
(``Hyperparameters.cache_frozen``) augments with the horizontal flip only, each image's flipped view
cached beside it, and no random crops (the recipe's text says so, advisor.recipes). Each (image, view)
costs one frozen forward the first time a step or an evaluation uses it, inside the trial's training
and evaluation time; after that a step runs only the top.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from bench.device import autocast, prefers_channels_last
from bench.models.backbones import BackboneSpec
from bench.train.batches import eval_batch_size, flip_mask, normalise

# Above this many bytes of cached activations the frozen blocks run every step instead (same recipe,
# same flips; only slower): 70,000 Fashion-MNIST images at 64 px, two views, are ~1 GB on EfficientNet-Lite0.
MAX_CACHE_BYTES = 2 << 30


@dataclass
class FrozenTrunk:
    """The frozen bottom's outputs, filled the first time each (image, view) is used, and the top on them.

    Lazy, so never slower than running the bottom every step: the first epoch computes what it uses (the
    cost of the uncached path), later epochs and evaluations read the cache. A budget that buys less
    than an epoch pays nothing extra.
    """

    bottom: Callable[[torch.Tensor], torch.Tensor]
    top: Callable[[torch.Tensor], torch.Tensor]
    spec: BackboneSpec
    images: torch.Tensor  # uint8 N x 3 x R x R, the trial's staged images
    rows: torch.Tensor  # dataset index -> row of the caches (-1: not an image this trial uses)
    views: tuple[torch.Tensor, ...]  # (as is,) or (as is, flipped), each rows x C x H x W
    done: tuple[torch.Tensor, ...]  # per view: which rows are computed
    device: torch.device

    @classmethod
    def build(
        cls, model: nn.Module, spec: BackboneSpec, n_frozen: int, images: torch.Tensor, indices: np.ndarray,
        allow_flip: bool, device: torch.device, max_bytes: int = MAX_CACHE_BYTES,
    ) -> FrozenTrunk | None:  # fmt: skip
        """A cache for the lowest ``n_frozen`` body blocks of ``model`` over ``images[indices]`` (and their flips).

        None when the backbone has no cut (``spec.split``), nothing is frozen, or the activations would
        take more than ``max_bytes``: the caller then runs the whole model every step.
        """
        if spec.split is None or n_frozen == 0 or len(indices) == 0:
            return None
        bottom, top = spec.split(model, n_frozen)
        for block in spec.body_blocks(model)[:n_frozen]:
            block.eval()  # what the trainer keeps them in: pretrained BN statistics, no dropout
        unique = np.unique(indices)
        n_views = 2 if allow_flip else 1
        probe = _bottom(bottom, images[:1], spec, device, flip=False)
        if probe.element_size() * probe.numel() * len(unique) * n_views > max_bytes:
            return None
        rows = torch.full((len(images),), -1, dtype=torch.long, device=device)
        rows[torch.as_tensor(unique, device=device)] = torch.arange(len(unique), device=device)
        views = tuple(probe.new_empty((len(unique), *probe.shape[1:])) for _ in range(n_views))
        done = tuple(torch.zeros(len(unique), dtype=torch.bool, device=device) for _ in range(n_views))
        return cls(bottom, top, spec, images, rows, views, done, device)

    def fill(self, batch_idx: torch.Tensor, view: int) -> None:
        """Compute the frozen outputs of ``view`` (0: as is, 1: flipped) for the images not yet cached."""
        rows = self.rows[batch_idx]
        missing = ~self.done[view][rows]
        if bool(missing.any()):
            wanted = batch_idx[missing]
            self.views[view][rows[missing]] = _bottom(self.bottom, self.images[wanted], self.spec, self.device,
                                                      flip=view == 1)  # fmt: skip
            self.done[view][rows[missing]] = True

    def fill_all(self, batch_idx: torch.Tensor) -> None:
        """Every view of ``batch_idx`` cached now (what a measurement of the steady-state step rate needs)."""
        for view in range(len(self.views)):
            for chunk in batch_idx.split(eval_batch_size(self.device)):
                self.fill(chunk, view)

    def train_logits(self, batch_idx: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """The top's logits for a training batch, each image's flipped view with probability 1/2 (if cached)."""
        rows = self.rows[batch_idx]
        if len(self.views) == 1:
            self.fill(batch_idx, 0)
            h = self.views[0][rows]
        else:
            flip = flip_mask(len(rows), generator, self.device)
            self.fill(batch_idx[~flip.view(-1)], 0)
            self.fill(batch_idx[flip.view(-1)], 1)
            h = torch.where(flip, self.views[1][rows], self.views[0][rows])
        with autocast(self.device):
            return self.top(h)

    def eval_logits(self, batch_idx: torch.Tensor) -> torch.Tensor:
        self.fill(batch_idx, 0)
        with autocast(self.device):
            return self.top(self.views[0][self.rows[batch_idx]])


@torch.no_grad()  # not inference_mode: the top's backward saves these as inputs (the cache is filled under both)
def _bottom(
    bottom: Callable, batch: torch.Tensor, spec: BackboneSpec, device: torch.device, flip: bool
) -> torch.Tensor:
    x = normalise(batch.flip(3) if flip else batch, spec)
    if prefers_channels_last(device):
        x = x.contiguous(memory_format=torch.channels_last)
    with autocast(device):
        return bottom(x)
