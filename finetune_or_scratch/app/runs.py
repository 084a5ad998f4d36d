"""The run form's logic, kept out of the page: widget values to a checked :class:`RunRequest`, and launching it.

Checks are the engine's own (``validate_request``, the training pool's size, curve sizes), run
before anything is stored; each message is keyed by the form's field so the page shows it at
the widget, in the widget's words. Nothing here calls ``st.*``.
"""

from __future__ import annotations

import contextlib
import math
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from advisor.constraints import FieldError, check_fields
from bench.data.splits import make_splits, subsample_train
from bench.data.units import unit_for_dataset
from bench.device import resolve_device
from bench.errors import BenchInputError, ConfigError
from bench.evidence.curve import validate_sizes
from bench.evidence.question import duration_words
from bench.runs.execute import create_run, measure_request, plan_request
from bench.runs.queue import PLAN_HOLDER, QueueCancelled, device_slot, slot_holder
from bench.runs.request import RunRequest, validate_request
from bench.runs.store import RunStore
from bench.runs.worker import launch, warm
from bench.train.cache import TrialCache
from bench.train.check import MeasuredRates, Question
from bench.train.config import TRIAL_CONSTRAINTS, TrialConfig
from bench.train.planning import plans_from_rates
from bench.vocabulary import RunKind
from finetune_or_scratch.app.datasets import DatasetChoice, DatasetFacts
from finetune_or_scratch.app.plans import ArmLine, FormPlan, arm_plan_line, check_form_plan
from finetune_or_scratch.reports.words import RUN_FIELDS, arm_label, plain

FORM_ERROR = ""  # key of a message about the form as a whole (not one widget)
CHECK_MINUTES_LABEL = "Minutes for the whole check"
# Fields a planned check's message may name, in the app's words.
FORM_FIELDS = {"check_minutes": CHECK_MINUTES_LABEL, "time_budget_hours": "the questionnaire's Time budget (hours)"}
# The form always sends a number of seconds: the engine's "or until converged" is no option here.
FORM_BUDGET = {"budget_seconds": replace(TRIAL_CONSTRAINTS["budget_seconds"], none=None)}
# The request's fields as the form's widgets (these are the keys of the messages).
WIDGET_FIELDS = {
    "dataset",
    "arms",
    "arm",
    "examples",
    "seeds",
    "budget_seconds",
    "sizes",
    "kind",
    "unlabeled",
    "check_minutes",
}


def parse_sizes(text: str) -> tuple[int, ...]:
    """``"100, 300,1000"`` -> (100, 300, 1000); a bad entry is a ConfigError on ``sizes``."""
    try:
        return tuple(int(part.replace("_", "")) for part in text.replace(" ", "").split(",") if part)
    except ValueError:
        raise ConfigError(
            "sizes", f"expected whole numbers separated by commas, like 100,300,1000; got {text!r}"
        ) from None


@dataclass(frozen=True)
class RunForm:
    """The run form's values, as the widgets give them."""

    dataset: DatasetChoice | None
    arms: tuple[str, ...]
    examples: int
    seeds: int
    budget_seconds: float
    curve: bool
    sizes_text: str
    advised: str | None = None
    target_examples: int | None = None
    unlabeled: str | None = None  # hybrid arms' pool: a folder or .zip on the server; None: the held-back images
    # The profile's question (its budget, compute, labels): the verdict says what it measured beside it;
    # with check_minutes the engine plans the check from it (bench.train.check), as the command line does.
    question: Question | None = None
    check_minutes: float | None = None


def check_form(form: RunForm, facts: DatasetFacts | None) -> tuple[RunRequest | None, dict[str, str]]:
    """The request the form asks for, or the messages that stop it: ``{field: message}`` (field "" = the form).

    The same checks as the engine: ``validate_request`` (arms, seeds, every trial's config), then
    the dataset-dependent ones the worker would hit later (training examples and curve sizes
    against the training pool).
    """
    if form.dataset is None:
        return None, {"dataset": "choose a built-in dataset, upload a .zip or enter a folder path"}
    try:
        sizes = parse_sizes(form.sizes_text) if form.curve else ()
        base = TrialConfig(form.dataset.source, form.arms[0] if form.arms else "", examples=int(form.examples),
                           budget_seconds=float(form.budget_seconds), unlabeled=form.unlabeled)  # fmt: skip
        request = RunRequest(
            "curve" if form.curve else "run", base, tuple(form.arms), tuple(range(int(form.seeds))), sizes,
            form.advised, form.target_examples, dataset_label=form.dataset.label, question=form.question,
            check_minutes=form.check_minutes,
        )  # fmt: skip
        if not form.arms:
            raise ConfigError("arms", "choose at least one arm")
        if not request.planned:
            try:
                check_fields({"budget_seconds": form.budget_seconds}, FORM_BUDGET)
            except FieldError as error:
                raise ConfigError(error.field, error.detail) from None
        validate_request(request)
        if facts is not None:
            _check_against(request, facts)
    except ConfigError as error:
        field = error.field if error.field in WIDGET_FIELDS else FORM_ERROR
        field = {"arm": "arms", "seed": "seeds"}.get(field, field)
        detail = error.detail_in(RUN_FIELDS) if field else error.worded(RUN_FIELDS)
        return None, {field: plain(detail, {form.dataset.source: form.dataset.label})}
    except BenchInputError as error:
        return None, {FORM_ERROR: plain(str(error), {form.dataset.source: form.dataset.label})}
    return request, {}


def _check_against(request: RunRequest, facts: DatasetFacts) -> None:
    """Training examples and curve sizes against this dataset's training pool (the worker's own checks)."""
    splits = make_splits(facts.labels, request.base.split_seed)
    if request.kind == RunKind.CURVE:
        validate_sizes(request.curve(), len(splits.train), facts.classes)  # ConfigError("sizes", ...)
        return
    subsample_train(splits, facts.labels, request.base.examples, seed=0)  # ConfigError("examples", ...)


def start_run(
    store: RunStore,
    request: RunRequest,
    session: str,
    profile: dict[str, Any] | None,
    recommendation: dict[str, Any] | None,
) -> str:
    """Store the request and start its worker; the worker is reaped when it ends (no defunct processes)."""
    run_id = create_run(store, request, session, profile, recommendation)
    # Behind another run from the first poll: the worker takes seconds to start and say so itself.
    holder = slot_holder(store.path.parent / "locks", str(resolve_device(request.base.device)))
    if holder is not None:
        store.set_progress(run_id, {"done": 0, "total": request.total_trials(), "phase": "queued",
                                    "queued_behind": holder})  # fmt: skip
    # The next standby warms once this run's worker ends: not beside a run, whose budget it would slow.
    reap_when_done(launch(store, run_id), then=lambda: warm(store))
    return run_id


def warm_worker(store: RunStore) -> None:
    """Keep a worker warm for the next run (the run form calls this; nothing happens when one waits)."""
    warm(store)


def reap_when_done(pid: int, then: Callable[[], Any] | None = None) -> threading.Thread:
    """Wait for a launched worker in a daemon thread, so its exit status is collected the moment it ends.

    ``launch`` keeps no handle on the child, so without this a finished worker stays a zombie
    under the server until the next ``subprocess`` call happens to reap it. ``then`` runs after it ended.
    """

    def wait() -> None:
        # ChildProcessError: already reaped (subprocess's own clean-up got there first).
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)
        if then is not None:
            then()

    thread = threading.Thread(target=wait, name=f"reap-worker-{pid}", daemon=True)
    thread.start()
    return thread


# ---- the plan before the run: what each arm would get here, measured on an explicit click ----------------


class DeviceBusy(Exception):
    """Another run holds the device: a throughput measured now would measure the contention."""

    def __init__(self, holder: str):
        super().__init__(holder)
        self.holder = holder


def measured_request(request: RunRequest) -> RunRequest:
    """The request as the plan measures it: a curve at its largest size (the fewest epochs per second)."""
    if request.sizes:
        return replace(request, base=replace(request.base, examples=max(request.sizes)))
    return request


def measure_key(request: RunRequest) -> tuple:
    """What a measurement depends on: the data, the arms and how many examples (not the budget or seeds)."""
    base = measured_request(request).trial_base
    return (base.dataset, base.image_size, base.train_limit, base.examples, base.examples_cap, base.unlabeled,
            base.device, tuple(sorted(request.arms)))  # fmt: skip


PLAN_WAIT_SECONDS = 60.0  # how long a plan waits behind another plan (each takes seconds) before saying busy


def measure(
    request: RunRequest,
    locks: Any,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> MeasuredRates:
    """Probe every compared arm's throughput here (seconds: the models are built, a few steps timed).

    Holds the device as a run does, so the probe neither measures nor slows a run that trains: while a
    run holds it, raises :class:`DeviceBusy` at once instead of waiting. Behind another plan (a second
    click, a second tab; a script rerun leaves the first measuring in its thread) it waits for that one,
    up to :data:`PLAN_WAIT_SECONDS`, then measures: a plan is never refused because of a plan.
    """
    holder: list[str] = []
    device = str(resolve_device(request.base.device))
    deadline = clock() + PLAN_WAIT_SECONDS

    def give_up() -> bool:  # a run holds the device (named), or a plan held it too long
        return (bool(holder) and holder[-1] != PLAN_HOLDER) or clock() > deadline

    try:
        with device_slot(locks, device, PLAN_HOLDER, holder.append, should_stop=give_up, sleep=sleep):
            return measure_request(measured_request(request), TrialCache())
    except QueueCancelled:
        raise DeviceBusy(holder[-1] if holder else "another run") from None


def with_measurement(request: RunRequest, measured: tuple[tuple, Any] | None) -> RunRequest:
    """The request to start, carrying the form's measurement when it was made for these settings
    (``measured``: the form's ``(measure_key, MeasuredRates)``), so the run plans as the form showed."""
    if measured is None or not isinstance(measured[1], MeasuredRates) or measure_key(request) != measured[0]:
        return request
    return replace(request, measured=measured[1])


def plan_form(request: RunRequest, measured: MeasuredRates) -> FormPlan:
    """The plan from a measurement (pure: a new budget or bound re-plans without probing again)."""
    if request.planned:
        return _check_form_plan(request, measured)
    budget = float(request.base.budget_seconds or 0)
    lines, suggestions = [], []
    unit = unit_for_dataset(request.base.dataset).plural
    # The run's own plan when it starts with this measurement (bench.runs.execute): the same function.
    plans = {p.arm: p for p in plans_from_rates(measured_request(request).trial_base, measured.rates,
                                                measured.examples)}  # fmt: skip
    for rate in measured.rates:
        if not rate.gradient:
            seconds = rate.converge_seconds(measured.examples) or 0.0
            lines.append(ArmLine(rate.arm, f"**{arm_label(rate.arm)}**: no steps to plan: it encodes the {unit} once "
                                           f"and fits in closed form (about {duration_words(seconds)}).", True))  # fmt: skip
            continue
        plan = plans[rate.arm]
        line = arm_plan_line(plan.__dict__, budget)
        lines.append(line)
        if plan.suggested_seconds is not None:
            suggestions.append(plan.suggested_seconds)
    trials = len(request.seeds) * max(1, len(request.sizes))
    measures = (
        f"This run compares every arm at {budget:g} s of training per trial"
        f" on {measured.examples:,} examples ({trials} trial{'s' if trials > 1 else ''} per arm)."
    )
    cannot = None
    if request.question is not None:
        q = request.question
        measures += (
            f" It does not measure your question ({duration_words(q.budget_hours * 3600)} on {q.compute.replace('_', ' ')}"
            f" with {q.labeled_examples:,} labels): the mode **Planned from your time budget** does."
        )
    if not suggestions:
        return FormPlan(tuple(lines), measures, cannot)
    suggestion = max(suggestions)
    short = [arm_label(line.arm) for line in lines if not line.enough]
    cannot = (
        f"In {budget:g} s, {' and '.join(short)} cannot train enough to be compared: "
        f"{'its result' if len(short) == 1 else 'their results'} would be marked undertrained and the verdict "
        f"could not decide. {suggestion:g} s per trial would measure every arm."
    )
    return FormPlan(tuple(lines), measures, cannot, suggestion, "budget_seconds", f"Use {suggestion:g} s per trial")


def _check_form_plan(request: RunRequest, measured: MeasuredRates) -> FormPlan:
    try:
        check = plan_request(request, TrialCache(), 0.0, measured)
    except ConfigError as error:
        message = plain(error.worded(FORM_FIELDS))
        if error.field != "check_minutes":  # the profile's budget pays for nothing: the questionnaire must change
            return FormPlan((), "", error=message)
        # The bound that would measure the question: the same plan without a bound (it then measures the question).
        unbounded = plan_request(replace(request, check_minutes=math.inf), TrialCache(), 0.0, measured)
        minutes = math.ceil(unbounded.question_seconds / 60)
        return FormPlan((), "", None, float(minutes), "check_minutes", f"Use a check of {minutes} minutes",
                        error=message)  # fmt: skip
    return check_form_plan(check.to_dict())
