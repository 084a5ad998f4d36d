"""Wall time of one small curve with the local executor and with Ray on this machine (one run each).

    python scripts/ray_curve_timing.py [--sizes 60,100] [--arms linear_probe,scratch] [--budget 1]

Both executors run the same trial configs on ``digits``; the feature cache starts empty for each,
so neither gets the other's linear-probe features. The Ray time includes starting the local
cluster (reported separately) and its workers importing torch. One run each on a shared machine
is a rough figure, not a benchmark: say how loaded the machine was (the load average is printed).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from dataclasses import replace

from bench.runs.executors.local import LocalExecutor
from bench.runs.executors.ray_driver import RayExecutor
from bench.train.cache import TrialCache
from bench.train.config import TrialConfig


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="60,100")
    parser.add_argument("--arms", default="linear_probe,scratch")
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--budget", type=float, default=1.0)
    parser.add_argument("--cpus-per-trial", type=int, default=1)
    args = parser.parse_args()
    base = TrialConfig("digits", "scratch", budget_seconds=args.budget, batch_size=32, device="cpu")
    configs = [
        replace(base, arm=arm, seed=seed, examples=int(n))
        for n in args.sizes.split(",")
        for seed in range(args.seeds)
        for arm in args.arms.split(",")
    ]
    print(f"{len(configs)} trials; load average before: {os.getloadavg()}")
    timings = {}
    for name in ("local", "ray"):
        with tempfile.TemporaryDirectory() as features:
            os.environ["FOS_CACHE_DIR"] = features  # an empty feature cache for each executor
            cache = TrialCache()
            cache.dataset("digits", base.image_size)  # loading the data is not what is compared
            if name == "local":
                executor = LocalExecutor()
            else:
                import ray

                t0 = time.perf_counter()
                ray.init(
                    address="local",
                    num_cpus=os.cpu_count(),
                    include_dashboard=False,
                    log_to_driver=False,
                    logging_level="warning",
                )
                timings["ray cluster start"] = time.perf_counter() - t0
                executor = RayExecutor(cpus_per_trial=args.cpus_per_trial, gpus_per_trial=0)
            t0 = time.perf_counter()
            results = executor.run(configs, cache=cache)
            timings[name] = time.perf_counter() - t0
            statuses = {r.status for r in results}
            devices = sorted({r.device for r in results})
            print(f"{name}: {timings[name]:.1f} s wall, statuses {statuses}, devices {devices}")
            if name == "ray":
                ray.shutdown()
    print(f"cluster start {timings['ray cluster start']:.1f} s (not in the Ray figure)")
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
