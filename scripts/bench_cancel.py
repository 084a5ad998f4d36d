"""Cancel latency per phase of a trial: from the moment a stop is asked for to run_trial returning.

Run alone (no other torch process), from the repository root:

    OMP_NUM_THREADS=2 .venv/bin/python scripts/bench_cancel.py [--repeats 3] [--delay 0.3]

Each row starts a trial, asks it to stop ``--delay`` seconds after the phase begins (its first
progress event; "loading the data" asks at the trial's start), and prints the median and worst latency
over ``--repeats`` trials. The promise is 2 s in every phase. Features are extracted into a fresh
cache folder each time, so the extraction phase really runs. The "throughput probe" row is the probe a
run makes before any trial (bench.train.planning.measure_rates, every compared arm): the stop is asked
``--delay`` seconds after it starts, and the latency runs to the probe's return.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

# This checkout's packages, not an installed copy's: the figures are about the code beside this script.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import bench
from bench.data.images import DecodeCancelled
from bench.train.cache import TrialCache
from bench.train.callbacks import Callback, TrialCancelled
from bench.train.config import TrialConfig
from bench.train.planning import measure_rates
from bench.train.trial import run_trial
from bench.vocabulary import TrialStatus

# (row label, phase the stop is asked in, trial)
CASES = (
    ("loading the data", "start", TrialConfig("fashion-mnist", "full_finetune", examples=1000, budget_seconds=60)),
    ("building the model", "model", TrialConfig("fashion-mnist", "full_finetune", examples=1000, budget_seconds=60)),
    ("feature extraction", "features", TrialConfig("fashion-mnist", "linear_probe", examples=1000)),
    ("probe fits", "train", TrialConfig("fashion-mnist", "linear_probe", examples=1000)),
    ("pretraining (hybrid)", "pretrain", TrialConfig("fashion-mnist", "hybrid", examples=1000, budget_seconds=60)),
    ("training, fine-tune", "train", TrialConfig("fashion-mnist", "full_finetune", examples=1000, budget_seconds=60)),
    ("training, scratch", "train", TrialConfig("fashion-mnist", "scratch", examples=1000, budget_seconds=60)),
    ("validation pass", "eval", TrialConfig("fashion-mnist", "full_finetune", examples=1000, budget_seconds=20)),
    ("final test pass", "test", TrialConfig("fashion-mnist", "full_finetune", examples=200, budget_seconds=5)),
    ("text encoding", "features", TrialConfig("fortunes", "linear_probe", examples=400)),
    ("text training", "train", TrialConfig("fortunes", "full_finetune", examples=400, budget_seconds=60)),
    ("throughput probe", "probe", TrialConfig("fashion-mnist", "full_finetune", examples=1000, budget_seconds=60)),
)
PROBE_ARMS = ("linear_probe", "full_finetune", "scratch", "hybrid")  # the probe measures every compared arm


class StopIn(Callback):
    """Asks to stop ``delay`` seconds after ``phase`` begins; remembers when it first said so."""

    def __init__(self, phase: str, delay: float):
        self.phase, self.delay = phase, 0.0 if phase == "start" else delay  # loading: asked at once
        self.entered: float | None = None

    def on_trial_start(self, state):
        if self.phase == "start":
            self.entered = time.perf_counter()

    def on_progress(self, state):
        if state.phase == self.phase and self.entered is None:
            self.entered = time.perf_counter()

    @property
    def requested(self) -> float | None:
        """When the stop was asked for (the button's click), whether or not the trial had looked yet."""
        return None if self.entered is None else self.entered + self.delay

    def should_stop(self) -> bool:
        return self.entered is not None and time.perf_counter() >= self.entered + self.delay


def latency(config: TrialConfig, phase: str, delay: float, cache: TrialCache) -> float | None:
    """Seconds from the stop request to run_trial's return; None when the trial ended before the request."""
    stop = StopIn(phase, delay)
    result = run_trial(config, [stop], cache=cache)
    ended = time.perf_counter()
    if stop.requested is None or result.status != TrialStatus.CANCELLED or ended < stop.requested:
        return None
    return ended - stop.requested


def probe_latency(config: TrialConfig, delay: float, cache: TrialCache) -> float | None:
    """Seconds from the stop request to measure_rates' return; None when the probe ended before the request."""
    requested = time.perf_counter() + delay
    try:
        measure_rates(config, PROBE_ARMS, cache, should_stop=lambda: time.perf_counter() >= requested)
    except (TrialCancelled, DecodeCancelled):
        return time.perf_counter() - requested
    return None


def main() -> None:
    print(f"measuring {Path(bench.__file__).parent}")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--delay", type=float, default=0.3, help="seconds into the phase before the stop is asked")
    args = parser.parse_args()
    print(f"{'phase':<24} {'median s':>9} {'worst s':>8}  (stop asked {args.delay:g} s into the phase)")
    for label, phase, config in CASES:
        seconds = []
        for _ in range(args.repeats):
            with tempfile.TemporaryDirectory() as root:
                cache = TrialCache(root=Path(root))  # fresh: features and the dataset load again
                if phase == "probe":
                    value = probe_latency(config, args.delay, cache)
                else:
                    value = latency(config, phase, args.delay, cache)
            if value is not None:
                seconds.append(value)
        if seconds:
            print(f"{label:<24} {statistics.median(seconds):>9.2f} {max(seconds):>8.2f}")
        else:
            print(f"{label:<24} {'-':>9} {'-':>8}  (the phase ended before the stop was asked)")


if __name__ == "__main__":
    main()
