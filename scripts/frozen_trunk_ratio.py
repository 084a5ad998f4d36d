"""Partial fine-tuning's step rate with the frozen trunk cached and with it run every step, in one process.

    python scripts/frozen_trunk_ratio.py [--dataset fashion-mnist] [--resolution 64] [--steps 20] [--repeats 3]

Both use the same model, recipe, batches and flips (the caching recipe's augmentation); interleaved
rounds, so a drift of the machine hits both alike. The cached path's one frozen pass over the training
images is timed apart and reported per image. Ratios are what a loaded machine can say; img/s is for a
quiet one (the load average is printed).
"""

from __future__ import annotations

import argparse
import os
import statistics

import torch

from bench.device import now, resolve_device
from bench.train.arms import get_arm
from bench.train.cache import TrialCache
from bench.train.callbacks import Hooks
from bench.train.config import TrialConfig
from bench.train.loop import GradientTrainer
from bench.train.trial import _build, prepare


def _rate(trainer: GradientTrainer, batches: list[torch.Tensor], steps: int, device) -> float:
    for step in range(2):  # warm-up
        trainer._step(batches[step % len(batches)], step, steps + 2)
    start = now(device)
    for step in range(2, steps + 2):
        trainer._step(batches[step % len(batches)], step, steps + 2)
    return steps * len(batches[0]) / (now(device) - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="fashion-mnist")
    parser.add_argument("--resolution", type=int, default=None)
    parser.add_argument("--examples", type=int, default=1000)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    config = TrialConfig(args.dataset, "partial_finetune", examples=args.examples, resolution=args.resolution)
    arm, device, cache = get_arm(config.arm), resolve_device(config.device), TrialCache()
    ready = prepare(config, arm, device, cache)
    model = _build(ready.spec, arm, ready.data.num_classes, cache).to(device).to(memory_format=torch.channels_last)
    trainer = GradientTrainer(config, arm.hyperparameters, ready.spec, model, ready.images, ready.labels,
                              ready.data.allow_flip, device, Hooks([]), lambda: now(device))  # fmt: skip
    train = torch.as_tensor(ready.train_idx, device=device)
    batches = [train[i : i + config.batch_size] for i in range(0, len(train), config.batch_size)]
    trainer._set_train_mode()
    start = now(device)
    trainer.prepare_trunk(ready.train_idx)
    trunk = trainer.trunk
    assert trunk is not None, "no cached trunk: the backbone has no cut or the cache would be too big"
    trunk.fill_all(train)
    pass_s = now(device) - start
    rates: dict[str, list[float]] = {"cached": [], "uncached": []}
    for _ in range(args.repeats):
        trainer.trunk = trunk
        rates["cached"].append(_rate(trainer, batches, args.steps, device))
        trainer.trunk = None
        rates["uncached"].append(_rate(trainer, batches, args.steps, device))
    mean = {key: statistics.mean(values) for key, values in rates.items()}
    print(f"load average {os.getloadavg()}; {args.dataset} at {ready.images.shape[-1]} px, {ready.spec.name}, "
          f"batch {config.batch_size}, {args.repeats} interleaved rounds of {args.steps} steps")  # fmt: skip
    for key, values in rates.items():
        print(f"  {key:9s} {mean[key]:8.1f} img/s  (rounds: {', '.join(f'{v:.1f}' for v in values)})")
    print(f"  cached / uncached = {mean['cached'] / mean['uncached']:.2f}x per step")
    print(f"  one frozen pass: {pass_s:.2f} s for {len(ready.train_idx)} images x {len(trunk.views)} views "
          f"= {pass_s / len(ready.train_idx) * 1000:.2f} ms per image")  # fmt: skip


if __name__ == "__main__":
    main()
