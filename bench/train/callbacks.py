"""Callbacks see a trial's progress and can ask it to stop; the runner itself prints nothing.

In the style of Lightning's and Hugging Face's callbacks: typed no-op hooks, a frozen state
snapshot they read, and one way to change control (``should_stop``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bench.train.config import TrialConfig

if TYPE_CHECKING:  # results import callbacks' types only for annotations
    from bench.train.check import CheckPlan
    from bench.train.planning import ArmPlan
    from bench.train.result import EpochRecord, TrialResult


@dataclass(frozen=True)
class TrialState:
    """A snapshot passed to callbacks; they read it, they never change it."""

    config: TrialConfig
    phase: str  # data | model | features | pretrain | train | eval | test | done
    step: int = 0
    planned_steps: int = 0
    epoch: float = 0.0
    train_seconds: float = 0.0
    last_val_accuracy: float | None = None


class Callback:
    """No-op hooks. Override what you need; return True from ``should_stop`` to cancel."""

    def on_trial_start(self, state: TrialState) -> None: ...

    def on_progress(self, state: TrialState) -> None: ...

    def on_epoch_end(self, state: TrialState, record: EpochRecord) -> None: ...

    def on_trial_end(self, result: TrialResult) -> None: ...

    def on_budget_plan(self, plans: tuple[ArmPlan, ...]) -> None:
        """Before any arm trains: how many steps each gradient arm's budget buys here."""

    def on_check_plan(self, plan: CheckPlan) -> None:
        """Before any arm trains: the check planned from the person's question (bench.train.check)."""

    def on_queued(self, holder: str) -> None:
        """The run waits for the device, held by run ``holder``."""

    def should_stop(self) -> bool:
        return False


class StopWhen(Callback):
    """Asks to stop when ``should_stop()`` says so: a run's cancel flag, handed to work outside a trial
    (the throughput probe before training) through the same hooks the trials use."""

    def __init__(self, should_stop: Callable[[], bool]):
        self._should_stop = should_stop

    def should_stop(self) -> bool:
        return self._should_stop()


class TrialCancelled(Exception):
    pass


def call_checking(fn: Callable[[], object], stop_if_asked: Callable[[], None], poll: float = 0.05):
    """``fn()``, asking ``stop_if_asked`` (which raises to cancel) every ``poll`` seconds while it runs.

    For one call that cannot check by itself (loading a model's weights). It runs in a daemon thread;
    a stop leaves it behind to finish on its own (whatever it caches is complete when it does), and
    its result is dropped. Exceptions from ``fn`` are raised here.
    """
    box: dict[str, object] = {}

    def run() -> None:
        try:
            box["value"] = fn()
        except BaseException as error:  # handed to the caller's thread
            box["error"] = error

    worker = threading.Thread(target=run, daemon=True, name="fos-load")
    worker.start()
    while worker.is_alive():
        worker.join(poll)
        if worker.is_alive():
            stop_if_asked()
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box["value"]


class Hooks:
    """Fans each event out to every callback; ``progress`` also checks for cancellation."""

    def __init__(self, callbacks: Sequence[Callback]):
        self.callbacks = list(callbacks)

    def on_trial_start(self, state: TrialState) -> None:
        for cb in self.callbacks:
            cb.on_trial_start(state)

    def should_stop(self) -> bool:
        return any(cb.should_stop() for cb in self.callbacks)

    def progress(self, state: TrialState) -> None:
        for cb in self.callbacks:
            cb.on_progress(state)
        self.stop_if_asked()

    def stop_if_asked(self) -> None:
        """Raise TrialCancelled when a callback asks to stop: called inside long phases, per batch or fit."""
        if self.should_stop():
            raise TrialCancelled

    def on_epoch_end(self, state: TrialState, record: EpochRecord) -> None:
        for cb in self.callbacks:
            cb.on_epoch_end(state, record)

    def on_trial_end(self, result: TrialResult) -> None:
        for cb in self.callbacks:
            cb.on_trial_end(result)
