"""``bench perf``: side-by-side throughput in one run, on the same data, model, batch and device.

(a) the runner: ``run_trial`` for the full fine-tune arm under a time budget;
(b) a naive tutorial pipeline as tutorials write it: torchvision ImageFolder of PNG files,
    DataLoader with two workers, per-image PIL transforms, and the model in its default
    NCHW fp32 form;
(b') the same pipeline with the runner's model settings (channels_last, bf16 autocast on
    CUDA): it isolates what the data path alone costs;
(c) the bound: forward, backward and optimiser step on one batch already on the device,
    with the runner's model settings.
Also: a linear-probe fit on cached features against one training epoch on the same data.
"""

from __future__ import annotations

import contextlib
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
import torchvision
from PIL import Image
from torch.utils.flop_counter import FlopCounterMode
from torchvision import transforms

from advisor.constraints import Constraint, FieldError, Interval, check_fields
from bench.data.splits import make_splits, subsample_train
from bench.device import autocast, describe, now, prefers_channels_last, resolve_device
from bench.errors import BenchInputError, ConfigError
from bench.models.backbones import create_model, get_backbone
from bench.train.batches import normalise
from bench.train.cache import TrialCache
from bench.train.config import TrialConfig
from bench.train.trial import run_trial

# Dense bf16 tensor-core peaks (FLOP/s) from the vendors' datasheets, for the achieved fraction.
# What perf's own settings accept (the trial settings are checked by TrialConfig's table).
PERF_CONSTRAINTS: dict[str, Constraint] = {
    "examples": Interval(int, 2, None),
    "steps": Interval(int, 1, 100_000),  # 0 timed steps is no measurement: a division by zero
    "repeats": Interval(int, 1, 100),  # 0 rounds gives nan means (and 1 no spread)
    "budget_seconds": Interval(float, 1, 86_400, unit="seconds"),
}
GPU_PEAK_BF16 = {"H100": 989e12, "H200": 989e12, "A100": 312e12, "L4": 121e12, "A10": 125e12}


@dataclass(frozen=True)
class PerfReport:
    device: str
    dataset: str
    backbone: str
    resolution: int
    batch_size: int
    runner_images_per_s: float
    naive_images_per_s: float  # the tutorial as written
    naive_same_model_images_per_s: float  # the tutorial's data path, the runner's model settings
    raw_images_per_s: float
    linear_probe_fit_s: float
    finetune_epoch_s: float
    train_flops_per_image: float
    achieved_tflops: float
    peak_fraction: float | None
    spreads: dict[str, float]  # standard deviation over the repeats, img/s
    repeats: int

    @property
    def runner_vs_raw(self) -> float:
        return self.runner_images_per_s / self.raw_images_per_s

    @property
    def runner_vs_naive(self) -> float:
        return self.runner_images_per_s / self.naive_images_per_s

    @property
    def runner_vs_naive_same_model(self) -> float:
        return self.runner_images_per_s / self.naive_same_model_images_per_s

    @property
    def probe_speedup(self) -> float:
        return self.finetune_epoch_s / self.linear_probe_fit_s

    def to_dict(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "runner_vs_raw": round(self.runner_vs_raw, 3),
            "runner_vs_naive": round(self.runner_vs_naive, 2),
            "runner_vs_naive_same_model": round(self.runner_vs_naive_same_model, 2),
            "probe_speedup": round(self.probe_speedup, 1),
        }


def _train_step(model, optimizer, x, y, device, runner_settings: bool = True) -> None:
    with autocast(device) if runner_settings else contextlib.nullcontext():
        loss = F.cross_entropy(model(x), y)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()


def _fresh_model(spec, num_classes, device, cache: TrialCache, runner_settings: bool = True):
    if spec.has_pretrained:
        model = cache.pretrained_model(spec, num_classes)
    else:
        model = create_model(spec, num_classes, pretrained=False)
    model = model.to(device).train()
    if runner_settings and prefers_channels_last(device):
        model = model.to(memory_format=torch.channels_last)
    return model, torch.optim.AdamW(model.parameters(), lr=1e-4)


def measure_raw(spec, images, labels, batch_size, device, cache, steps) -> float:
    """Images per second for forward + backward + step on one pre-staged, pre-normalised batch."""
    model, optimizer = _fresh_model(spec, int(labels.max()) + 1, device, cache)
    x = normalise(images[:batch_size], spec)
    if prefers_channels_last(device):
        x = x.contiguous(memory_format=torch.channels_last)
    y = labels[:batch_size]
    for _ in range(3):
        _train_step(model, optimizer, x, y, device)
    start = now(device)
    for _ in range(steps):
        _train_step(model, optimizer, x, y, device)
    return steps * batch_size / (now(device) - start)


def measure_naive(spec, data, train_idx, resolution, batch_size, device, cache, steps, runner_settings) -> float:
    """Images per second for the tutorial pipeline: PNG files, ImageFolder, DataLoader, PIL transforms.

    ``runner_settings`` gives the model the runner's memory format and autocast; without it
    the model runs as a tutorial leaves it (NCHW, fp32).
    """
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        for i in train_idx:
            class_dir = root / str(data.labels[i])
            class_dir.mkdir(exist_ok=True)
            Image.fromarray(data.images[i].squeeze(-1) if data.images.shape[-1] == 1 else data.images[i]).save(
                class_dir / f"{i}.png"
            )
        transform = transforms.Compose(
            [
                transforms.Grayscale(num_output_channels=3),
                transforms.Resize((resolution, resolution)),
                transforms.RandomHorizontalFlip(),
                transforms.ToTensor(),
                transforms.Normalize(spec.mean, spec.std),
            ]
        )
        dataset = torchvision.datasets.ImageFolder(str(root), transform=transform)
        loader = torch.utils.data.DataLoader(
            dataset, batch_size=batch_size, shuffle=True, num_workers=2, drop_last=True
        )
        model, optimizer = _fresh_model(spec, data.num_classes, device, cache, runner_settings)
        done, start = 0, None
        while done < steps + 3:
            for x, y in loader:
                if done == 3:
                    start = now(device)
                x, y = x.to(device), y.to(device)
                if runner_settings and prefers_channels_last(device):
                    x = x.contiguous(memory_format=torch.channels_last)
                _train_step(model, optimizer, x, y, device, runner_settings)
                done += 1
                if done == steps + 3:
                    break
        return steps * batch_size / (now(device) - start)


def measure_probe_vs_epoch(config: TrialConfig, cache: TrialCache) -> tuple[float, float]:
    """(linear-probe fit seconds on cached features, seconds of one full fine-tuning epoch)."""
    probe_config = TrialConfig(
        **{
            **asdict(config),
            "arm": "linear_probe",
            "budget_seconds": None,
            "resolution": config.resolution if config.arm != "scratch" else None,
        }
    )
    run_trial(probe_config, cache=cache)  # fills the feature cache
    probe = run_trial(probe_config, cache=cache)
    if not probe.feature_cache_hit:
        raise RuntimeError("the second linear probe should have read cached features")
    epoch_config = TrialConfig(**{**asdict(config), "budget_seconds": None, "max_epochs": 1})
    epoch = run_trial(epoch_config, cache=cache)
    return probe.time_train_s, epoch.time_train_s


def train_flops_per_image(spec, num_classes, resolution, device) -> float:
    """Training FLOPs per image: 3x the forward FLOPs counted by PyTorch's FlopCounterMode.

    Backward costs about twice the forward (the usual 3x convention). We do not count the
    backward directly: FlopCounterMode overcounts grouped (depthwise) convolution gradients
    by ~40x on EfficientNet.
    """
    model = create_model(spec, num_classes, pretrained=False).to(device).eval()
    x = torch.randn(2, 3, resolution, resolution, device=device)
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(x)
    return 3 * counter.get_total_flops() / 2


def run_perf(
    dataset: str = "fashion-mnist",
    examples: int = 1000,
    backbone: str = "efficientnet_lite0",
    resolution: int | None = None,
    batch_size: int = 64,
    device_name: str = "auto",
    budget_seconds: float = 10.0,
    steps: int = 30,
    arm: str = "full_finetune",
    repeats: int = 3,
) -> PerfReport:
    """Measure ``arm``'s model (full_finetune: the pretrained backbone; scratch: the compact CNN).

    The runner, the raw bound and the naive pipelines are measured in interleaved rounds,
    ``repeats`` times, so drifts of the machine hit all of them alike; means and spreads are reported.
    """
    if arm not in ("full_finetune", "scratch"):
        raise BenchInputError(f"--arm {arm!r}: perf measures full_finetune or scratch")
    settings = {"examples": examples, "steps": steps, "repeats": repeats, "budget_seconds": budget_seconds}
    try:
        check_fields(settings, PERF_CONSTRAINTS)
    except FieldError as error:
        raise ConfigError(error.field, error.detail) from None
    device = resolve_device(device_name)
    cache = TrialCache()
    data = cache.dataset(dataset, 128)
    base = TrialConfig(dataset, arm)
    if arm == "scratch":
        spec, resolution = get_backbone(base.scratch_backbone), resolution or base.scratch_resolution
    else:
        spec, resolution = get_backbone(backbone), resolution or data.default_resolution
    splits = make_splits(data.labels)
    train_idx = subsample_train(splits, data.labels, examples, 0)
    config = TrialConfig(
        dataset, arm, backbone=backbone, examples=examples, budget_seconds=budget_seconds, resolution=resolution,
        scratch_resolution=resolution, batch_size=batch_size, device=device_name,
    )  # fmt: skip
    staged = cache.staged(data, resolution, device, train_idx)  # sorted: subsample_train's answer
    labels = torch.as_tensor(data.labels[train_idx], device=device)
    rounds: dict[str, list[float]] = {"runner": [], "raw": [], "naive": [], "naive_same": []}
    for _ in range(repeats):
        rounds["runner"].append(run_trial(config, cache=cache).images_per_second)
        rounds["raw"].append(measure_raw(spec, staged, labels, batch_size, device, cache, steps))
        for key, same in (("naive", False), ("naive_same", True)):
            rounds[key].append(
                measure_naive(spec, data, train_idx, resolution, batch_size, device, cache, steps, runner_settings=same)
            )
    mean = {key: round(float(np.mean(values)), 1) for key, values in rounds.items()}
    spread = {
        key: round(float(np.std(values, ddof=1)), 1) if len(values) > 1 else 0.0 for key, values in rounds.items()
    }
    probe_s, epoch_s = measure_probe_vs_epoch(config, cache)
    flops = train_flops_per_image(spec, data.num_classes, resolution, device)
    achieved = flops * mean["runner"]
    peak = next((v for k, v in GPU_PEAK_BF16.items() if k in describe(device)), None)
    return PerfReport(
        device=describe(device),
        dataset=dataset,
        backbone=spec.name,
        resolution=resolution,
        batch_size=batch_size,
        runner_images_per_s=mean["runner"],
        naive_images_per_s=mean["naive"],
        naive_same_model_images_per_s=mean["naive_same"],
        raw_images_per_s=mean["raw"],
        spreads=spread,
        repeats=repeats,
        linear_probe_fit_s=probe_s,
        finetune_epoch_s=epoch_s,
        train_flops_per_image=flops,
        achieved_tflops=round(achieved / 1e12, 4),
        peak_fraction=round(achieved / peak, 4) if peak else None,
    )


def render_perf(report: PerfReport) -> str:
    r = report
    sd = r.spreads
    lines = [
        f"device: {r.device}; {r.backbone} at {r.resolution}px, batch {r.batch_size}, {r.dataset}; "
        f"mean ± std over {r.repeats} interleaved rounds",
        f"  (a) runner              {r.runner_images_per_s:8.1f} ± {sd['runner']:5.1f} img/s",
        f"  (b) naive tutorial      {r.naive_images_per_s:8.1f} ± {sd['naive']:5.1f} img/s   "
        "(ImageFolder + DataLoader + PIL, NCHW fp32)",
        f"  (b') same, runner model {r.naive_same_model_images_per_s:8.1f} ± {sd['naive_same']:5.1f} img/s   "
        "(the data path alone)",
        f"  (c) raw fwd+bwd+step    {r.raw_images_per_s:8.1f} ± {sd['raw']:5.1f} img/s",
        f"  runner / raw   = {r.runner_vs_raw:.3f}   (target >= 0.90)",
        f"  runner / naive = {r.runner_vs_naive:.2f}   (target >= 3); runner / (b') = {r.runner_vs_naive_same_model:.2f}",
        f"  linear probe fit on cached features {r.linear_probe_fit_s:.2f}s vs one training epoch "
        f"{r.finetune_epoch_s:.2f}s: {r.probe_speedup:.1f}x   (target >= 10)",
        f"  training compute: {r.train_flops_per_image / 1e9:.3f} GFLOP/image, achieved {r.achieved_tflops:.3f} TFLOP/s"
        + (f" = {100 * r.peak_fraction:.1f}% of bf16 peak" if r.peak_fraction is not None else ""),
    ]
    return "\n".join(lines)
