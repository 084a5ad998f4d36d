"""Validation run: the current run's panel on top; below, pick data, arms and budget and start another.

The form is checked with the engine's own checks before anything is stored; each message
shows at its widget. The run executes in a worker process and is polled by the panel.
"""

from __future__ import annotations

import streamlit as st

from advisor import recommend
from advisor.profile import FIELD_SPECS, check_answers
from advisor.vocabulary import Modality
from bench.data.units import UNITS
from bench.device import describe, resolve_device
from bench.errors import BenchInputError
from bench.runs.queue import PLAN_HOLDER
from bench.runs.store import ACTIVE
from bench.train.arms import arms_for
from bench.train.check import DEFAULT_CHECK_MINUTES, Question
from finetune_or_scratch.app import state
from finetune_or_scratch.app.datasets import differences
from finetune_or_scratch.app.runs import (
    CHECK_MINUTES_LABEL,
    FORM_ERROR,
    DeviceBusy,
    RunForm,
    check_form,
    measure,
    measure_key,
    plan_form,
    start_run,
    warm_worker,
    with_measurement,
)
from finetune_or_scratch.app.views import plan_view, run_progress
from finetune_or_scratch.app.widgets import dataset_picker
from finetune_or_scratch.reports.words import arm_label, plain

ERRORS = "run_errors"
QUICK, PLANNED, CURVE = "Quick run", "Planned from your time budget", "Learning curve"
MODES = (QUICK, PLANNED, CURVE)
BUDGET_KEY, MINUTES_KEY, MEASURED = "run_budget", "run_check_minutes", "run_measured"
KEYS = {"budget_seconds": BUDGET_KEY, "check_minutes": MINUTES_KEY}  # the plan's suggestion fills this widget
LABELS = {  # the form's widgets; messages are keyed by the same fields
    "examples": "Training examples",
    "seeds": "Seeds",
    "budget_seconds": "Seconds of training per trial",
    "check_minutes": CHECK_MINUTES_LABEL,
    "sizes": "Curve sizes",
    "arms": "Arms",
    "unlabeled": "Unlabeled images for the hybrid arms",
}

st.title("Validation run")
warm_worker(state.store())  # a worker imports torch while the person fills the form: the run starts at once
run_id = state.current_run_id()
record = state.store().run(run_id) if run_id else None
if run_id:
    run_progress(state.store(), run_id)
# While a run is going, the form folds away so the panel above stays in sight.
section = (
    st.expander("Start another run", expanded=not (record and record.status in ACTIVE)) if run_id else st.container()
)
section.caption(f"Device: **{describe(resolve_device('auto'))}**. Training runs in a separate process: "
           "reruns, page changes or a closed tab do not stop it.")  # fmt: skip

errors: dict[str, str] = st.session_state.get(ERRORS, {})


def error_at(field: str) -> None:
    if field in errors:
        st.error(f"{LABELS.get(field, 'Dataset')}: {errors[field]}", icon=":material/warning:")


with section:
    # Outside the form: choosing a source shows its own widgets (an uploader, a path box) and its size at once.
    choice, facts = dataset_picker("run")
    error_at("dataset")

# The advice checked is the advice for the data used: what the data settles (classes, labeled examples,
# image side) replaces the questionnaire's answers, and every difference is shown before the run starts.
answers = state.answers()
measured = facts.measured_answers() if facts else {}
changed = differences(answers, measured)
checked = {**answers, **measured}
profile, _ = check_answers(checked)
recommendation = recommend(profile) if profile else None
if changed and profile is not None:
    with section:
        said = "; ".join(
            f"{FIELD_SPECS[field].label}: **{value}** (questionnaire: {answered})"
            for field, (answered, value) in changed.items()
        )
        st.warning(
            f"The advice checked is for **{choice.label}**, not the questionnaire's answers: {said}.",
            icon=":material/straighten:",
        )
        if st.button("Update the questionnaire and the advice with these", key="use_measured"):
            state.save_answers(checked)
            for field, value in measured.items():  # the questionnaire's widgets take these on its next draw
                st.session_state[f"field_{field}"] = value
            st.rerun()
advised = recommendation.strategy if recommendation else None
ranked = (
    [r.strategy for r in recommendation.ranking] if recommendation else ["linear_probe", "full_finetune", "scratch"]
)
# The arms measured on the chosen data's modality (setfit is text only, hybrid_scratch images only).
modality = facts.modality if facts else Modality.IMAGE
offered = arms_for(modality)
preselected = [s for s in ranked if s in offered][:3]
if "scratch" not in preselected:
    preselected = [*preselected[:2], "scratch"]
if advised:
    section.markdown(f"Checks the advice **{arm_label(advised)}** against the other arms you choose.")

default_examples = facts.default_examples() if facts else 1000
# Outside the form, so the form shows only the mode's own widgets (a form redraws only when submitted).
with section:
    modes = MODES if profile is not None else (QUICK, CURVE)  # a planned check needs the questionnaire's budget
    mode = st.radio("Mode", modes, horizontal=True, key="run_mode",
                    help=f"{QUICK}: every arm gets the same seconds of training per trial. {PLANNED}: each arm's "
                         "budget is planned from the questionnaire's time budget, compute and labels, within a "
                         f"bound on the whole check (as `finetune-or-scratch run --profile`). {CURVE}: a quick run "
                         "at each of several training sizes.")  # fmt: skip
planned, curve = mode == PLANNED, mode == CURVE
for key, default in ((BUDGET_KEY, 20.0), (MINUTES_KEY, DEFAULT_CHECK_MINUTES)):
    st.session_state.setdefault(key, default)  # the widgets' values live here: the plan's one click sets them
with section, st.form("run"):
    arms = st.multiselect(LABELS["arms"], list(offered), default=preselected, format_func=arm_label,
                          help="Preselected from the recommendation.")  # fmt: skip
    error_at("arms")
    left, middle, right = st.columns(3)
    with left:
        examples = st.number_input(
            LABELS["examples"],
            value=default_examples,
            step=100,
            # Keyed by the dataset: a new dataset brings its own default (all its training examples, up to 1,000).
            key=f"examples_{choice.source if choice else ''}",
            help=f"A stratified subsample of the training {UNITS[modality].plural}"
            + (f" (this dataset has {facts.train_pool:,})." if facts else "."),
        )
        error_at("examples")
    with middle:
        seeds = st.number_input(LABELS["seeds"], value=1, step=1, help="3 or more for a paired test.")
        error_at("seeds")
    with right:
        if planned:
            st.number_input(LABELS["check_minutes"], step=1.0, format="%g", key=MINUTES_KEY,
                            help="The bound on the whole check, loading and measuring included. Within it each arm "
                                 "trains until converged or for what your budget buys.")  # fmt: skip
            error_at("check_minutes")
        else:
            st.number_input(LABELS["budget_seconds"], step=5.0, format="%g", key=BUDGET_KEY)
            error_at("budget_seconds")
    unlabeled = ""
    if modality == Modality.IMAGE:  # the text hybrid pretrains on the training texts beyond the labeled ones only
        unlabeled = st.text_input(
            LABELS["unlabeled"],
            "",
            help="A folder or .zip of unlabeled images on the server, used by the hybrid arms' self-supervised "
            "pretraining. Empty: the training images beyond the labeled ones, with their labels hidden.",
        ).strip()
        error_at("unlabeled")
    sizes_text = ""
    if curve:
        sizes_text = st.text_input(LABELS["sizes"], "100,300,1000", help="Training sizes, one run at each.")
        error_at("sizes")
    if FORM_ERROR in errors:
        st.error(errors[FORM_ERROR], icon=":material/warning:")
    plan_col, start_col = st.columns(2)
    plan_it = plan_col.form_submit_button("Plan this run", width="stretch",
                                          help="Measures each arm's speed here (a few seconds) and says what the "
                                               "settings give it, before anything is stored.")  # fmt: skip
    start = start_col.form_submit_button("Start run", type="primary", width="stretch")

form = RunForm(choice, tuple(arms), int(examples), int(seeds),
               float(st.session_state[BUDGET_KEY]), curve, sizes_text, advised,
               profile.labeled_examples if profile else None, unlabeled or None,
               Question.from_profile(profile) if profile else None,
               float(st.session_state[MINUTES_KEY]) if planned else None)  # fmt: skip
if start:
    request, st.session_state[ERRORS] = check_form(form, facts)
    if request is not None:
        new_id = start_run(
            state.store(),
            with_measurement(request, st.session_state.get(MEASURED)),  # the plan shown is the plan run
            st.session_state[state.SESSION],
            profile.to_dict() if profile else None,
            recommendation.to_dict() if recommendation else None,
        )
        state.open_run(new_id)
    st.rerun()  # the panel on top shows the new run; or the messages show at their widgets

if plan_it:
    request, st.session_state[ERRORS] = check_form(form, facts)
    st.session_state.pop(MEASURED, None)
    if request is not None:
        try:
            with section, st.spinner("Measuring each arm's speed on this machine (a few seconds)…"):
                st.session_state[MEASURED] = (
                    measure_key(request),
                    measure(request, state.store().path.parent / "locks"),
                )
        except DeviceBusy as busy:
            st.session_state[MEASURED] = (measure_key(request), busy)
        except BenchInputError as error:
            st.session_state[ERRORS] = {FORM_ERROR: plain(str(error), {choice.source: choice.label})}
    st.rerun()

measured = st.session_state.get(MEASURED)
if measured is not None:
    request, _ = check_form(form, facts)
    if request is None or measure_key(request) != measured[0]:  # never a plan for other settings
        section.caption("The settings changed since the last plan: **Plan this run** again to see what they give.")
    else:
        with section, st.container(border=True):
            st.markdown(f"**The plan on this machine** ({describe(resolve_device('auto'))})")
            if isinstance(measured[1], DeviceBusy):
                holder = measured[1].holder
                st.info(f"The device is busy with {'a plan' if holder == PLAN_HOLDER else f'run {holder}'}: a "
                        "speed measured now would measure the contention. Plan again when it ends.")  # fmt: skip
            else:
                plan = plan_form(request, measured[1])
                plan_view(plan)
                if plan.accept:
                    st.button(plan.accept, key="accept_plan", type="primary", on_click=st.session_state.update,
                              kwargs={KEYS[plan.field]: plan.suggestion})  # fmt: skip

if not run_id:
    st.info("No run yet: start one above. Fashion-MNIST with three arms and one seed takes about a minute.")
