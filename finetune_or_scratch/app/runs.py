"""The run form's logic, kept out of the page: widget values to a checked :class:`RunRequest`, and launching it.

Checks are the engine's own (``validate_request``, the training pool's size, curve sizes), run
before anything is stored; each message is keyed by the form's field so the page shows it at
the widget, in the widget's words. Nothing here calls ``st.*``.
"""

from __future__ import annotations

import contextlib
import os
import threading
from dataclasses import dataclass
from typing import Any

from bench.data.splits import make_splits, subsample_train
from bench.errors import BenchInputError, ConfigError
from bench.evidence.curve import validate_sizes
from bench.runs.execute import create_run
from bench.runs.request import RunRequest, validate_request
from bench.runs.store import RunStore
from bench.runs.worker import launch
from bench.train.check import Question
from bench.train.config import TrialConfig
from bench.vocabulary import RunKind
from finetune_or_scratch.app.datasets import DatasetChoice, DatasetFacts
from finetune_or_scratch.reports.words import RUN_FIELDS, plain

FORM_ERROR = ""  # key of a message about the form as a whole (not one widget)
# The request's fields as the form's widgets (these are the keys of the messages).
WIDGET_FIELDS = {"dataset", "arms", "arm", "examples", "seeds", "budget_seconds", "sizes", "kind", "unlabeled"}


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
    reap_when_done(launch(store, run_id))
    return run_id


def reap_when_done(pid: int) -> threading.Thread:
    """Wait for a launched worker in a daemon thread, so its exit status is collected the moment it ends.

    ``launch`` keeps no handle on the child, so without this a finished worker stays a zombie
    under the server until the next ``subprocess`` call happens to reap it.
    """

    def wait() -> None:
        # ChildProcessError: already reaped (subprocess's own clean-up got there first).
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)

    thread = threading.Thread(target=wait, name=f"reap-worker-{pid}", daemon=True)
    thread.start()
    return thread
