"""The local executor: the trials one after the other in this process, as ``run_trials`` runs them."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from bench.runs.executors.progress import SweepProgress, Tally, notify
from bench.train.cache import TrialCache
from bench.train.callbacks import Callback, TrialState
from bench.train.config import TrialConfig
from bench.train.result import TrialResult
from bench.train.suite import run_trials


class LocalExecutor:
    """Today's behaviour: the trials one after the other in this process; stops after a cancel.

    >>> executor = LocalExecutor()
    >>> [r.status for r in executor.run([TrialConfig("digits", "linear_probe", examples=100)])] == ["completed"]
    True
    >>> executor.progress().finished
    1
    """

    name = "local"

    def __init__(self) -> None:
        self._tally = Tally(0)

    def progress(self) -> SweepProgress:
        return self._tally.snapshot()

    def run(
        self,
        configs: Sequence[TrialConfig],
        callbacks: Sequence[Callback] | None = None,
        on_result: Callable[[TrialResult], None] = lambda result: None,
        cache: TrialCache | None = None,
    ) -> list[TrialResult]:
        self._tally = Tally(len(configs))
        callbacks = list(callbacks or [])
        tracker = _LocalTracker(self._tally, callbacks)
        return run_trials(list(configs), [tracker, *callbacks], on_result, cache or TrialCache())


class _LocalTracker(Callback):
    """Counts trials as ``run_trials`` starts and ends them, for ``progress()`` and SweepCallbacks."""

    def __init__(self, tally: Tally, callbacks: list[Callback]):
        self.tally, self.callbacks, self.index = tally, callbacks, -1

    def on_trial_start(self, state: TrialState) -> None:
        self.index += 1
        self.tally.start(self.index, "local")
        notify(self.callbacks, self.tally.snapshot())

    def on_trial_end(self, result: TrialResult) -> None:
        self.tally.finish(self.index, "local")
        notify(self.callbacks, self.tally.snapshot())
