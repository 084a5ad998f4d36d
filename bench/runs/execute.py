"""One run path: :func:`execute_run` runs a stored request to the end, whichever door it came through.

The command line and the app's worker process both create a run in the store and call
``execute_run``; they differ only in their callbacks (a progress printer on stderr; progress
and the cancel flag in the store). Every finished trial is stored the moment it ends, then the
analyses (summary, curve, transferability) and one verdict for the request.
"""

from __future__ import annotations

import ctypes
import functools
import os
import platform
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

from advisor import recommend
from advisor.profile import profile_from_mapping
from bench.data.images import DecodeCancelled
from bench.data.splits import make_splits, subsample_train
from bench.data.text_catalog import is_text_dataset
from bench.data.units import dataset_modality
from bench.data.unlabeled import holdout_indices, holdout_pool, load_unlabeled
from bench.device import resolve_device
from bench.errors import BenchInputError
from bench.evidence.curve import CurveConfig, CurveResult, analyse_curve, run_curve, size_notes, validate_sizes
from bench.evidence.logme import estimate_transferability
from bench.evidence.summary import summarise
from bench.evidence.text_transfer import estimate_text_transferability
from bench.evidence.verdict import make_verdict, planned_seconds
from bench.runs.executors.factory import make_executor
from bench.runs.executors.progress import SweepCallback
from bench.runs.queue import QueueCancelled, device_slot
from bench.runs.request import RunRequest
from bench.runs.store import RunStore
from bench.train.arms import any_pretraining, arms_for_strategy
from bench.train.cache import TrialCache
from bench.train.callbacks import Callback, Hooks, TrialCancelled, TrialState
from bench.train.check import DEVICE_COMPUTE, CheckPlan, MeasuredRates, advice_change, measured_costs, plan_check
from bench.train.config import TrialConfig
from bench.train.planning import ArmPlan, measure_rates, plan_arms, plans_from_rates, pretrain_batches
from bench.train.pretrain import check_pool as check_pool_size
from bench.train.result import TrialResult
from bench.train.suite import run_suite
from bench.train.trial import training_examples
from bench.vocabulary import CheckRegime, RunKind, RunStatus, TrialStatus

POLL_SECONDS = 0.5


@dataclass(frozen=True)
class RunOutcome:
    run_id: str
    status: RunStatus  # completed, cancelled or failed
    trials: tuple[TrialResult, ...]
    verdict: dict[str, Any] | None
    analyses: dict[str, Any]
    error: str | None = None
    curve_trials: tuple[TrialResult, ...] = ()  # a planned check's learning curve below its size (not judged)


def create_run(
    store: RunStore,
    request: RunRequest,
    session: str,
    profile: dict[str, Any] | None = None,
    recommendation: dict[str, Any] | None = None,
) -> str:
    """Store the request (and the profile it checks) as a queued run; returns its id."""
    profile_id = store.save_profile(profile, recommendation) if profile else None
    return store.create_run(request.kind, request.to_dict(), session=session, profile_id=profile_id)


class StoreProgress(SweepCallback):
    """Writes progress to the store (throttled) and stops when the store says cancel.

    On a Ray sweep it also keeps the trials queued, running and finished per node.
    """

    def __init__(self, store: RunStore, run_id: str, total: int, clock: Callable[[], float] = time.monotonic):
        self.store, self.run_id, self.total, self.clock = store, run_id, total, clock
        self.done, self.last_write, self.last_check, self.cancelled = 0, -POLL_SECONDS, -POLL_SECONDS, False
        self.nodes: dict[str, Any] | None = None

    def _write(self, state: TrialState, force: bool = False) -> None:
        now = self.clock()
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
                **({"nodes": self.nodes} if self.nodes else {}),
            },
        )

    def on_sweep_progress(self, progress) -> None:
        self.nodes = progress.to_dict()

    def on_trial_start(self, state: TrialState) -> None:
        self._write(state, force=True)

    def on_progress(self, state: TrialState) -> None:
        self._write(state)

    def on_trial_end(self, result: TrialResult) -> None:
        self.done += 1
        self._write(TrialState(result.config, "done"), force=True)

    def should_stop(self) -> bool:
        now = self.clock()
        if not self.cancelled and now - self.last_check >= POLL_SECONDS:
            self.last_check = now
            self.cancelled = self.store.cancel_requested(self.run_id)
        return self.cancelled


def execute_run(
    store: RunStore,
    run_id: str,
    callbacks: Sequence[Callback] = (),
    on_result: Callable[[TrialResult], None] = lambda result: None,
) -> RunOutcome:
    """Run a stored request to the end and record everything in the store.

    ``callbacks`` see progress and may cancel; ``on_result`` gets each trial after it is stored.
    A bad request marks the run failed with the message and raises :class:`BenchInputError`;
    a crash marks it failed and keeps the finished trials; Ctrl-C (or SIGTERM turned into
    KeyboardInterrupt) marks it interrupted and re-raises.
    """
    record = store.run(run_id)
    if record is None:
        raise BenchInputError(f"run {run_id}: not in the run store {store.path}")
    request = RunRequest.from_dict(record.config)
    progress = StoreProgress(store, run_id, request.total_trials())
    hooks = Hooks([progress, *callbacks])
    cache = TrialCache()

    def save(result: TrialResult) -> None:
        store.add_trial(run_id, result.to_dict())
        on_result(result)
        release_freed_memory()  # the trial's batches and model: not under the next trial's

    def queued(holder: str) -> None:
        store.set_status(run_id, RunStatus.QUEUED, pid=os.getpid())
        store.set_progress(run_id, {"done": 0, "total": request.total_trials(), "phase": "queued",
                                    "queued_behind": holder})  # fmt: skip
        for callback in hooks.callbacks:
            callback.on_queued(holder)

    def stop_if_cancelled() -> None:  # between the phases before training: a cancel then ends the run at once
        if hooks.should_stop():
            raise QueueCancelled

    device = resolve_device(request.base.device)
    stage = "while queued"
    try:
        with device_slot(store.path.parent / "locks", str(device), run_id, queued, hooks.should_stop):
            stage = "before training"
            stop_if_cancelled()
            store.set_status(run_id, RunStatus.RUNNING, pid=os.getpid())
            started = time.monotonic()  # the check's bound counts from here: loading and probing included
            check_data(request, cache)
            stop_if_cancelled()
            # A curve is planned at its largest size: the fewest epochs per second.
            planned = replace(request.trial_base, examples=max(request.sizes)) if request.sizes else request.trial_base
            check, measured, advice = None, None, None
            if request.planned:  # the throughput probe of every arm, then the plan, before any arm trains
                store.set_progress(run_id, {"done": 0, "total": request.total_trials(), "phase": "planning"})
                spent, stage = time.monotonic() - started, "while measuring throughput"
                if request.measured is not None:  # the form's probe: the plan is the one the form showed
                    measured, spent = request.measured, 0.0
                else:
                    measured = measure_request(request, cache, hooks.should_stop)
                check = plan_request(request, cache, spent, measured)
                advice = measured_advice(store, record, check)
                if advice is not None:  # the advice from measured costs: the one stored, shown and judged
                    store.add_analysis(run_id, "measured_advice", advice)
                    if advice["judged"] != request.advised:
                        request = replace(request, advised=advice["judged"])
                        check = plan_request(request, cache, spent, measured)  # its arms and curve (pure)
            if check is not None and measured is not None:
                store.add_analysis(run_id, "check_plan", check.to_dict())
                for callback in hooks.callbacks:
                    callback.on_check_plan(check)
                batches = pretrain_batches(measured.rates, check.budgets())  # hybrid arms: sized to their share
                request = replace(request, arms=tuple(a for a in request.arms if a in check.budgets()),
                                  arm_budgets=tuple(check.budgets().items()),
                                  arm_pretrain_batches=tuple(batches.items()))  # fmt: skip
                progress.total = check.trials()
            stage = "while measuring throughput"
            probed = planned.budget_seconds and check is None
            if probed:
                store.set_progress(run_id, {"done": 0, "total": request.total_trials(), "phase": "planning"})
            if not probed:
                plans = ()
            elif request.measured is not None:  # the form's probe: the plan is the one the form showed
                plans = plans_from_rates(planned, request.measured.rates, request.measured.examples)
            else:
                plans = plan_arms(planned, request.arms, cache, should_stop=hooks.should_stop)
            release_freed_memory()  # the throughput probe's models and batches: not under the first trial's
            stage = "before training"
            if plans:
                batches = tuple((p.arm, p.pretrain_batch_size) for p in plans if p.pretrain_batch_size)
                request = replace(request, arm_pretrain_batches=batches)
                store.add_analysis(run_id, "budget_plan", [asdict(plan) for plan in plans])
                for callback in hooks.callbacks:
                    callback.on_budget_plan(plans)
            stop_if_cancelled()
            executor = make_executor(request.executor, request.address, cpus_per_trial=request.cpus_per_trial)
            trials, curve = _run_trials(request, hooks.callbacks, save, cache, executor.run)
            below: list[TrialResult] = []  # a planned check's curve trials, below its own size
            if check is not None and check.curve is not None:
                curve, below = _check_curve(request, check, trials, hooks.callbacks, save, cache, executor.run)
            analyses = _analyses(request, trials, curve, cache)
            if check is not None:
                analyses["check_plan"] = check.to_dict()
            if advice is not None:
                analyses["measured_advice"] = advice
            verdict = _verdict(request, trials, check, below, plans)
    except (QueueCancelled, TrialCancelled, DecodeCancelled):  # the last two: inside the throughput probe
        store.set_status(run_id, RunStatus.CANCELLED, error=f"cancelled {stage}; nothing ran")
        return RunOutcome(run_id, RunStatus.CANCELLED, (), None, {}, f"cancelled {stage}")
    except BenchInputError as error:
        store.set_status(run_id, RunStatus.FAILED, error=str(error))
        raise
    except KeyboardInterrupt:
        store.set_status(
            run_id, RunStatus.INTERRUPTED, error="interrupted (Ctrl-C or a stop signal); finished trials kept"
        )
        raise
    except Exception as error:  # the run is marked, finished trials stay in the store
        message = f"{error.__class__.__name__}: {error}"
        store.set_status(run_id, RunStatus.FAILED, error=message)
        return RunOutcome(run_id, RunStatus.FAILED, tuple(), None, {}, message)
    status = _finish(store, run_id, [*trials, *below], analyses, verdict)
    return RunOutcome(run_id, status, tuple(trials), verdict, analyses, store.run(run_id).error, tuple(below))


@functools.cache
def _glibc() -> ctypes.CDLL | None:
    """The C library when it is glibc (its freed heap is trimmed below); None elsewhere (macOS, musl, Windows)."""
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return None
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return None
    return libc if hasattr(libc, "malloc_trim") else None


def release_freed_memory() -> None:
    """Hand the heap a phase freed back to the system (glibc's ``malloc_trim``; nothing elsewhere), between
    phases (the throughput probe, each trial), so each phase's peak does not stack on the last one's leftovers."""
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)


def text_columns(base: TrialConfig) -> tuple[str | None, str | None]:
    """A text dataset's (text, label) columns as the run names them (None: detected)."""
    return base.text_column, base.label_column


def check_data(request: RunRequest, cache: TrialCache) -> None:
    """Before any arm trains: the training sizes fit the dataset, and a hybrid run's unlabeled pool is usable."""
    base = request.trial_base
    data = cache.dataset(base.dataset, base.image_size, base.train_limit, text_columns=text_columns(base))
    splits = make_splits(data.labels, base.split_seed)
    if request.kind == RunKind.CURVE:
        validate_sizes(request.curve(), len(splits.train), data.num_classes)
    else:
        subsample_train(splits, data.labels, training_examples(base, len(splits.train)), 0)
    if not any_pretraining(request.arms):
        return
    if base.unlabeled is not None:
        pool_size = len(load_unlabeled(base.unlabeled, base.image_size, like=data))
    else:
        examples = max(request.sizes) if request.sizes else training_examples(base, len(splits.train))
        labeled = subsample_train(splits, data.labels, examples, 0)
        if is_text_dataset(base.dataset):
            holdout_indices(data.name, labeled, splits, "texts")  # SimCSE trains on any pool of two or more
            return
        pool_size = len(holdout_pool(data, labeled, splits))
    check_pool_size(pool_size, base.batch_size, base.pretrain_objective)


def _run_trials(request: RunRequest, callbacks, save, cache, runner) -> tuple[list[TrialResult], CurveResult | None]:
    if request.kind == RunKind.CURVE:
        curve = run_curve(request.curve(), callbacks, save, cache, runner)
        return list(curve.trials), curve
    return run_suite(request.suite(), callbacks, save, cache, runner), None


def check_curve_config(request: RunRequest, check: CheckPlan) -> CurveConfig:
    """The planned check's learning curve as a curve run: its arms at its sizes, each at the plan's budget."""
    curve = check.curve
    return CurveConfig(
        request.trial_base,
        curve.arms,
        curve.sizes,
        request.seeds,
        pretrain_batches=request.arm_pretrain_batches,
        budgets=curve.budgets,
    )


def _check_curve(request: RunRequest, check: CheckPlan, trials: list[TrialResult], callbacks, save, cache,
                 runner) -> tuple[CurveResult | None, list[TrialResult]]:  # fmt: skip
    """The check's curve below its size (the curve command's path), analysed with the check's own trials of
    those arms as its largest point; and its trials. Nothing when the check was cancelled before it."""
    if any(t.status == TrialStatus.CANCELLED for t in trials):
        return None, []
    config = check_curve_config(request, check)
    below = run_curve(config, callbacks, save, cache, runner)
    whole = replace(config, sizes=(*config.sizes, check.examples))
    notes = size_notes(whole.sizes, len(whole.seeds))
    if any(t.status == TrialStatus.CANCELLED for t in below.trials):
        notes.append("cancelled: the curve is incomplete")
    at_check = [t for t in trials if t.config.arm in config.arms]
    return analyse_curve(whole, [*below.trials, *at_check], cache.hits, notes), list(below.trials)


def _analyses(request: RunRequest, trials: list[TrialResult], curve: CurveResult | None, cache) -> dict[str, Any]:
    """What a finished run stores besides its trials: per-arm summary (a planned check's: at its own size);
    for curves the curve, and for the curve command LogME."""
    analyses: dict[str, Any] = {"summary": [asdict(s) for s in summarise(trials)],
                                "dataset": dataset_facts(request, cache)}  # fmt: skip
    if curve is None:
        return analyses
    analyses["curve"] = curve.analysis()
    if request.kind != RunKind.CURVE:  # a planned check's small curve: the projection is its purpose
        return analyses
    base = request.base
    try:
        if is_text_dataset(base.dataset):
            transfer = estimate_text_transferability(
                base.dataset, base.text_backbone, examples=max(request.sizes), cache=cache, max_tokens=base.max_tokens,
                text_column=base.text_column, label_column=base.label_column,
            )  # fmt: skip
        else:
            transfer = estimate_transferability(
                base.dataset, base.backbone, examples=max(request.sizes), device_name=base.device, cache=cache
            )
    except BenchInputError as error:
        analyses["transferability"] = {"text": f"not estimated: {error}"}
    else:
        analyses["transferability"] = {**asdict(transfer), "gain": transfer.gain, "text": transfer.explain()}
    return analyses


def dataset_facts(request: RunRequest, cache: TrialCache) -> dict[str, Any]:
    """What the run's data was: its name, how many files it held and used, and every file skipped, with why."""
    base = request.trial_base
    data = cache.dataset(base.dataset, base.image_size, base.train_limit, text_columns=text_columns(base))
    return {
        "name": request.dataset_name,
        "images": len(data),  # examples of either kind (the key older runs stored)
        "modality": dataset_modality(base.dataset).value,
        "classes": list(data.class_names),
        "files_total": data.files_total,
        "files_used": data.files_used,
        "skipped": list(data.skipped),
        "ignored": list(data.ignored),
        "intensity": data.intensity,
        "fingerprint": data.fingerprint,
    }


def measure_request(
    request: RunRequest, cache: TrialCache, should_stop: Callable[[], bool] | None = None
) -> MeasuredRates:
    """Load the request's data and probe every compared arm's throughput (:func:`measure_rates`): seconds.

    ``should_stop`` (the run's cancel flag) ends the probing within its checks (TrialCancelled)."""
    base = request.trial_base
    started = time.monotonic()
    data = cache.dataset(base.dataset, base.image_size, base.train_limit, text_columns=text_columns(base),
                         should_stop=should_stop)  # fmt: skip
    available = len(make_splits(data.labels, base.split_seed).train)
    examples = training_examples(base, available) or available
    rates = measure_rates(replace(base, examples=examples), request.arms, cache, should_stop=should_stop)
    return MeasuredRates(rates, examples, available, time.monotonic() - started, data.num_classes)


def plan_request(
    request: RunRequest, cache: TrialCache, spent_seconds: float, measured: MeasuredRates | None = None
) -> CheckPlan:
    """The check planned from the request's question: every compared arm's throughput measured here (or
    ``measured`` before, as the run form does), then :func:`bench.train.check.plan_check`. Raises
    :class:`BenchInputError` (naming ``check_minutes`` or the profile's ``time_budget_hours``) when the
    bound or the budget cannot pay for a comparison."""
    measured = measured or measure_request(request, cache)
    device = resolve_device(request.base.device)
    return plan_check(
        request.question, measured.rates, measured.examples, request.check_minutes * 60,
        spent_seconds + measured.seconds, DEVICE_COMPUTE.get(device.type, "cpu"), len(request.seeds),
        arms_for_strategy(request.advised) if request.advised else (), measured.available, measured.classes,
    )  # fmt: skip


def measured_advice(store: RunStore, record: Any, check: CheckPlan) -> dict[str, Any] | None:
    """The advice for the run's stored profile with the costs the check measured (the advisor's second and last
    call in a command, after the questionnaire's), stored as the profile's latest recommendation.

    Returns what changed: the strategy judged (the measured advice's, when the check trains one of its
    arms), both advices' top strategies and confidence, and one line of words ("" when nothing changed).
    """
    if not record.profile_id or not check.costs:
        return None
    answers, before = store.profile(record.profile_id), store.recommendation(record.profile_id)
    if answers is None or before is None:
        return None
    after = recommend(profile_from_mapping(answers), measured_costs(check)).to_dict()
    store.save_recommendation(record.profile_id, after)
    trained = any(arm in check.budgets() for arm in arms_for_strategy(after["strategy"]))
    judged = after["strategy"] if trained else before["strategy"]
    return {"questionnaire": before["strategy"], "questionnaire_confidence": before["confidence"],
            "measured": after["strategy"], "measured_confidence": after["confidence"], "judged": judged,
            "text": advice_change(before, after, trained)}  # fmt: skip


def fixed_question(request: RunRequest, trials: list[TrialResult]) -> dict[str, Any] | None:
    """The question of a run whose budget the options set: the profile's, beside what was measured instead."""
    if request.question is None:
        return None
    q = request.question
    budgets = {t.config.budget_seconds for t in trials}
    return {
        "regime": CheckRegime.FIXED, "budget_hours": q.budget_hours, "compute": q.compute,
        "labeled_examples": q.labeled_examples, "examples": next((t.train_examples for t in trials), None),
        "per_arm_seconds": budgets.pop() if len(budgets) == 1 else None,
        "device_compute": DEVICE_COMPUTE.get(resolve_device(request.base.device).type, "cpu"),
    }  # fmt: skip


def _verdict(
    request: RunRequest,
    trials: list[TrialResult],
    check: CheckPlan | None = None,
    below: Sequence[TrialResult] = (),
    plans: Sequence[ArmPlan] = (),
) -> dict[str, Any] | None:
    """The verdict at the judged size; a planned check's curve (its trials below the check's size) projects it.
    ``plans``: the budget plan made before training, whose "give it N s" the verdict repeats."""
    if not request.advised:
        return None
    size = request.judged_size()
    judged = [t for t in trials if size is None or t.config.examples == size]
    question = check.verdict_question() if check is not None else fixed_question(request, judged)
    planned = planned_seconds([asdict(p) for p in plans])
    return make_verdict(request.advised, judged, question, curve=[*trials, *below], planned_seconds=planned).to_dict()


def _finish(
    store: RunStore, run_id: str, trials: list[TrialResult], analyses: dict[str, Any], verdict: dict[str, Any] | None
) -> str:
    """Store the analyses and verdict, then the final status (cancelled, or completed with any failures named)."""
    for name, value in analyses.items():
        store.add_analysis(run_id, name, value)
    if verdict is not None:
        store.set_verdict(run_id, verdict)
    status = RunStatus.CANCELLED if any(r.status == TrialStatus.CANCELLED for r in trials) else RunStatus.COMPLETED
    failed = [r for r in trials if r.status == TrialStatus.FAILED]
    store.set_status(run_id, status, error=f"{len(failed)} trial(s) failed: {failed[0].error}" if failed else None)
    return status
