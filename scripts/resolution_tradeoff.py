"""Accuracy and time of the pretrained arms at several training resolutions, in one process.

    PYTHONPATH=. python scripts/resolution_tradeoff.py [--datasets digits,fashion-mnist] [--resolutions 32,64,96]
        [--arms linear_probe,partial_finetune,full_finetune] [--examples 300] [--epochs 3] [--rounds 3]

Part 1, accuracy: each (dataset, arm, resolution) trains once, a fixed number of epochs (no early stop),
seed 0. Part 2, time: the step rate of each gradient arm at each resolution, measured in interleaved
rounds (``measure_throughput``), so a drift of a shared machine hits every resolution alike; printed as
ratios to the first resolution. The probe's time is its whole trial (feature extraction dominates).
Accuracy does not depend on the machine's load; absolute times do (the load average is printed).
"""

from __future__ import annotations

import argparse
import os
import statistics

from bench.train.cache import TrialCache
from bench.train.config import TrialConfig
from bench.train.trial import measure_throughput, run_trial


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="digits,fashion-mnist")
    parser.add_argument("--resolutions", default="32,64,96")
    parser.add_argument("--arms", default="linear_probe,partial_finetune,full_finetune")
    parser.add_argument("--examples", type=int, default=300)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    datasets, arms = args.datasets.split(","), args.arms.split(",")
    resolutions = [int(r) for r in args.resolutions.split(",")]
    cache = TrialCache()
    print(f"load average at start {os.getloadavg()}", flush=True)
    print("dataset        arm               px   test_acc  train_s  eval_s  total_s", flush=True)
    for dataset in datasets:
        for arm in arms:
            for resolution in resolutions:
                config = TrialConfig(dataset, arm, examples=args.examples, budget_seconds=None,
                                     max_epochs=args.epochs, patience=args.epochs + 1, resolution=resolution)  # fmt: skip
                r = run_trial(config, cache=cache)
                total = r.time_train_s + r.time_eval_s
                print(f"{dataset:14s} {arm:17s} {resolution:4d}   {r.test_accuracy:.3f}   {r.time_train_s:7.1f} "
                      f"{r.time_eval_s:7.1f} {total:7.1f}", flush=True)  # fmt: skip
    print(f"load average after part 1 {os.getloadavg()}", flush=True)
    gradient = [arm for arm in arms if arm != "linear_probe"]
    rates: dict[tuple[str, int], list[float]] = {(a, r): [] for a in gradient for r in resolutions}
    for _ in range(args.rounds):
        for arm in gradient:
            for resolution in resolutions:
                config = TrialConfig(datasets[-1], arm, examples=args.examples, resolution=resolution)
                steps_per_s, _ = measure_throughput(config, cache)
                rates[(arm, resolution)].append(steps_per_s * config.batch_size)
    print(f"step rate on {datasets[-1]}, {args.rounds} interleaved rounds; load average {os.getloadavg()}")
    for arm in gradient:
        first = statistics.mean(rates[(arm, resolutions[0])])
        for resolution in resolutions:
            mean = statistics.mean(rates[(arm, resolution)])
            print(
                f"  {arm:17s} {resolution:4d} px  {mean:7.1f} img/s   time per image x{first / mean:.2f} "
                f"vs {resolutions[0]} px   (rounds: {', '.join(f'{v:.1f}' for v in rates[(arm, resolution)])})"
            )


if __name__ == "__main__":
    main()
