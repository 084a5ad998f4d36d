"""Batches on the device: normalisation with the backbone's statistics, augmentation, forward passes."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from bench.device import autocast, prefers_channels_last
from bench.models.backbones import BackboneSpec
from bench.vocabulary import DeviceName


def eval_batch_size(device: torch.device) -> int:
    # CPUs run inference ~2x faster at 64 than at 256 (cache-resident activations); GPUs want more. 32 on a CPU:
    # within noise of 64 (EfficientNet-Lite0 at 64 px 465-589 img/s against 537-569, at 128 px 155 against 126;
    # the compact CNN at 32 px 1,585 against 1,229) and the encode peak 50 MB lower (issue 20's 50,000-file run).
    return 256 if device.type == DeviceName.CUDA else 32


def normalise(batch: torch.Tensor, spec: BackboneSpec) -> torch.Tensor:
    mean = torch.tensor(spec.mean, device=batch.device).view(1, 3, 1, 1)
    std = torch.tensor(spec.std, device=batch.device).view(1, 3, 1, 1)
    return (batch.float().div_(255.0) - mean) / std


def augment(batch: torch.Tensor, allow_flip: bool, generator: torch.Generator, translate: bool = True) -> torch.Tensor:
    """Random translation (reflect-pad by 1/8 and crop, per quarter-batch) and optional horizontal flip."""
    n, _, height, width = batch.shape
    if not translate:
        return flip_some(batch, generator) if allow_flip else batch
    pad = max(1, height // 8)
    padded = F.pad(batch, (pad, pad, pad, pad), mode="reflect")
    out = torch.empty_like(batch)
    for chunk in torch.arange(n, device=batch.device).chunk(4):
        dy, dx = (int(v) for v in torch.randint(0, 2 * pad + 1, (2,), generator=generator))
        out[chunk] = padded[chunk, :, dy : dy + height, dx : dx + width]
    return flip_some(out, generator) if allow_flip else out


def flip_mask(n: int, generator: torch.Generator, device: torch.device) -> torch.Tensor:
    """Which of ``n`` images to flip (each with probability 1/2), as an n x 1 x 1 x 1 bool tensor."""
    return (torch.rand(n, generator=generator) < 0.5).to(device).view(n, 1, 1, 1)


def flip_some(batch: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Each image flipped horizontally with probability 1/2."""
    return torch.where(flip_mask(len(batch), generator, batch.device), batch.flip(3), batch)


def forward_batch(model: nn.Module, batch: torch.Tensor, spec: BackboneSpec, device: torch.device) -> torch.Tensor:
    """Normalise a uint8 batch with the backbone's statistics and run the model (autocast on CUDA)."""
    x = normalise(batch, spec)
    if prefers_channels_last(device):
        x = x.contiguous(memory_format=torch.channels_last)
    with autocast(device):
        return model(x)
