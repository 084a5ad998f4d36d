"""Runs outside the caller's process: a request stored in the run store, executed by a worker process.

The app never trains in its script thread: it stores a :class:`RunRequest`, starts
``python -m bench.jobs RUN_ID`` in a new session (so reruns, closed tabs or a restarted
app do not kill it), and polls the store. The worker writes progress, each finished trial,
and at the end the verdict and analyses; it checks the store's cancel flag at least twice
a second.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench.cache import TrialCache
from bench.errors import BenchInputError
from bench.store import RunStore
from bench.trial import Callback, TrialConfig, TrialResult, TrialState

POLL_SECONDS = 0.5


@dataclass(frozen=True)
class RunRequest:
    kind: str  # "run" (arms x seeds) or "curve" (arms x seeds x sizes)
    base: TrialConfig
    arms: tuple[str, ...]
    seeds: tuple[int, ...]
    sizes: tuple[int, ...] = ()
    advised: str | None = None  # the advisor's top strategy, for the verdict

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "base": asdict(self.base)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunRequest:
        return cls(
            kind=data["kind"],
            base=TrialConfig(**data["base"]),
            arms=tuple(data["arms"]),
            seeds=tuple(data["seeds"]),
            sizes=tuple(data.get("sizes", ())),
            advised=data.get("advised"),
        )

    def total_trials(self) -> int:
        from bench.arms import NOT_BENCHMARKED

        arms = [a for a in self.arms if a not in NOT_BENCHMARKED]
        return len(arms) * len(self.seeds) * max(1, len(self.sizes))


class StoreProgress(Callback):
    """Writes progress to the store (throttled) and stops when the store says cancel."""

    def __init__(self, store: RunStore, run_id: str, total: int):
        self.store, self.run_id, self.total = store, run_id, total
        self.done, self.last_write, self.last_check, self.cancelled = 0, 0.0, 0.0, False

    def _write(self, state: TrialState, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self.last_write < POLL_SECONDS:
            return
        self.last_write = now
        c = state.config
        self.store.set_progress(
            self.run_id,
            {
                "done": self.done,
                "total": self.total,
                "arm": c.arm,
                "seed": c.seed,
                "examples": c.examples,
                "phase": state.phase,
                "step": state.step,
                "planned_steps": state.planned_steps,
                "val_accuracy": state.last_val_accuracy,
            },
        )

    def on_trial_start(self, state: TrialState) -> None:
        self._write(state, force=True)

    def on_progress(self, state: TrialState) -> None:
        self._write(state)

    def on_trial_end(self, result: TrialResult) -> None:
        self.done += 1
        self._write(TrialState(result.config, "done"), force=True)

    def should_stop(self) -> bool:
        now = time.monotonic()
        if not self.cancelled and now - self.last_check >= POLL_SECONDS:
            self.last_check = now
            self.cancelled = self.store.cancel_requested(self.run_id)
        return self.cancelled


def execute(store: RunStore, run_id: str) -> str:
    """Run a stored request to the end; returns the final status. Every finished trial is stored at once."""
    from bench.curve import CurveConfig, run_curve
    from bench.recording import finish_run, run_analyses
    from bench.suite import SuiteConfig, run_suite
    from bench.verdict import make_verdict

    record = store.run(run_id)
    if record is None:
        raise BenchInputError(f"run {run_id}: not in the store {store.path}")
    request = RunRequest.from_dict(record.config)
    store.set_status(run_id, "running", pid=os.getpid())
    progress = StoreProgress(store, run_id, request.total_trials())
    cache = TrialCache()
    save = lambda result: store.add_trial(run_id, result.to_dict())  # noqa: E731
    try:
        curve = None
        if request.kind == "curve":
            config = CurveConfig(request.base, request.arms, request.sizes, request.seeds)
            curve = run_curve(config, [progress], save, cache)
            trials = list(curve.trials)
            judged = [t for t in trials if t.config.examples == request.sizes[-1]]
        else:
            trials = run_suite(SuiteConfig(request.base, request.arms, request.seeds), [progress], save, cache)
            judged = trials
        verdict = make_verdict(request.advised, judged).to_dict() if request.advised else None
        return finish_run(store, run_id, trials, run_analyses(trials, curve), verdict)
    except BenchInputError as error:
        store.set_status(run_id, "failed", error=str(error))
        return "failed"
    except Exception as error:  # the run is marked, finished trials stay in the store
        store.set_status(run_id, "failed", error=f"{error.__class__.__name__}: {error}")
        return "failed"


def launch(store: RunStore, run_id: str, log_dir: Path | None = None) -> int:
    """Start the worker in its own session (it outlives the app's script run); returns its pid."""
    log_dir = log_dir or store.path.parent / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    with open(log_dir / f"{run_id}.log", "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "bench.jobs", run_id, "--db", str(store.path)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            cwd=Path(__file__).resolve().parents[1],
        )
    store.set_status(run_id, "running", pid=process.pid)
    return process.pid


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Execute one stored run (started by the app).")
    parser.add_argument("run_id")
    parser.add_argument("--db", type=Path, default=None)
    args = parser.parse_args(argv)
    status = execute(RunStore(args.db), args.run_id)
    return 0 if status in ("completed", "cancelled") else 1


if __name__ == "__main__":
    sys.exit(main())
