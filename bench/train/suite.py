"""A comparison run: every arm x every seed on one dataset, each trial saved the moment it ends."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from typing import Any

from bench.train.cache import TrialCache
from bench.train.callbacks import Callback
from bench.train.config import TrialConfig, validate_trial_config
from bench.train.result import TrialResult
from bench.train.trial import run_trial, trial_inputs
from bench.vocabulary import TrialStatus

# Executes a list of trials: (configs, callbacks, on_result, cache) -> results in the configs' order.
Runner = Callable[
    [list[TrialConfig], list[Callback] | None, Callable[[TrialResult], None], TrialCache], list[TrialResult]
]


@dataclass(frozen=True)
class SuiteConfig:
    """Arms x seeds with shared settings; ``base.arm`` and ``base.seed`` are filled per trial."""

    base: TrialConfig
    arms: tuple[str, ...]
    seeds: tuple[int, ...] = (0,)
    # A planned check's budget per arm (None: until converged); an arm not named keeps base.budget_seconds.
    budgets: tuple[tuple[str, float | None], ...] = ()
    # The plan's pretraining batch per hybrid arm; an arm not named keeps base.pretrain_batch_size.
    pretrain_batches: tuple[tuple[str, int], ...] = ()

    def trial_configs(self) -> list[TrialConfig]:
        # Seed-major order: after the first seed every arm has a result to compare.
        budgets, batches = dict(self.budgets), dict(self.pretrain_batches)
        return [
            replace(
                self.base,
                arm=arm,
                seed=seed,
                budget_seconds=budgets.get(arm, self.base.budget_seconds),
                pretrain_batch_size=batches.get(arm, self.base.pretrain_batch_size),
            )
            for seed in self.seeds
            for arm in self.arms
        ]

    def to_dict(self) -> dict[str, Any]:
        return {"base": asdict(self.base), "arms": list(self.arms), "seeds": list(self.seeds),
                "budgets": [list(b) for b in self.budgets],
                "pretrain_batches": [list(b) for b in self.pretrain_batches]}  # fmt: skip


def validate_suite(config: SuiteConfig) -> None:
    """Check every trial's config before any work starts, so a typo never wastes a run."""
    for trial in config.trial_configs():
        validate_trial_config(trial)


def run_suite(
    config: SuiteConfig,
    callbacks: list[Callback] | None = None,
    on_result: Callable[[TrialResult], None] = lambda result: None,
    cache: TrialCache | None = None,
    runner: Runner | None = None,
) -> list[TrialResult]:
    """Run every trial; ``on_result`` gets each one as soon as it ends (save it there).

    ``runner`` executes the trials (default :func:`run_trials`: in order, in this process; a Ray
    executor's ``run`` fans them out). Stops early, after recording the cancelled trial, when a
    callback asks to stop.
    """
    validate_suite(config)
    return (runner or run_trials)(config.trial_configs(), callbacks, on_result, cache or TrialCache())


def run_trials(
    configs: list[TrialConfig],
    callbacks: list[Callback] | None,
    on_result: Callable[[TrialResult], None],
    cache: TrialCache,
) -> list[TrialResult]:
    """The loop every runner shares: trials in order, each handed to ``on_result``, stop after a cancel.

    After each trial the cache keeps only what the trials still to run use (:meth:`TrialCache.keep_only`),
    so a run's memory is one arm's working set, not the sum of every arm's.
    """
    results = []
    for index, trial in enumerate(configs):
        result = run_trial(trial, callbacks, cache)
        results.append(result)
        on_result(result)
        if result.status == TrialStatus.CANCELLED:
            break
        ahead = [trial_inputs(later, cache) for later in configs[index + 1 :]]
        if None not in ahead:
            cache.keep_only(set(ahead))
    return results
