"""Validation run: the current run's panel on top; below, pick data, arms and budget and start another.

The form is checked with the engine's own checks before anything is stored; each message
shows at its widget. The run executes in a worker process and is polled by the panel.
"""

from __future__ import annotations

import streamlit as st

from advisor import recommend
from advisor.profile import FIELD_SPECS, check_answers
from bench.device import describe, resolve_device
from bench.runs.store import ACTIVE
from bench.train.arms import ARMS
from bench.train.check import Question
from finetune_or_scratch.app import state
from finetune_or_scratch.app.datasets import differences
from finetune_or_scratch.app.runs import FORM_ERROR, RunForm, check_form, start_run
from finetune_or_scratch.app.views import run_progress
from finetune_or_scratch.app.widgets import dataset_picker
from finetune_or_scratch.reports.words import arm_label

ERRORS = "run_errors"
LABELS = {  # the form's widgets; messages are keyed by the same fields
    "examples": "Training examples",
    "seeds": "Seeds",
    "budget_seconds": "Seconds of training per trial",
    "sizes": "Curve sizes",
    "arms": "Arms",
    "unlabeled": "Unlabeled images for the hybrid arms",
}

st.title("Validation run")
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
        st.error(f"{LABELS.get(field, 'Dataset')}: {errors[field]}", icon="⚠️")


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
        st.warning(f"The advice checked is for **{choice.label}**, not the questionnaire's answers: {said}.", icon="📏")
        if st.button("Update the questionnaire and the advice with these", key="use_measured"):
            state.save_answers(checked)
            for field, value in measured.items():  # the questionnaire's widgets take these on its next draw
                st.session_state[f"field_{field}"] = value
            st.rerun()
advised = recommendation.strategy if recommendation else None
ranked = (
    [r.strategy for r in recommendation.ranking] if recommendation else ["linear_probe", "full_finetune", "scratch"]
)
preselected = [s for s in ranked if s in ARMS][:3]
if "scratch" not in preselected:
    preselected = [*preselected[:2], "scratch"]
if advised:
    section.markdown(f"Checks the advice **{arm_label(advised)}** against the other arms you choose.")

default_examples = facts.default_examples() if facts else 1000
with section, st.form("run"):
    arms = st.multiselect(LABELS["arms"], list(ARMS), default=preselected, format_func=arm_label,
                          help="Preselected from the recommendation.")  # fmt: skip
    error_at("arms")
    left, middle, right = st.columns(3)
    with left:
        examples = st.number_input(
            LABELS["examples"],
            value=default_examples,
            step=100,
            # Keyed by the dataset: a new dataset brings its own default (all its training images, up to 1,000).
            key=f"examples_{choice.source if choice else ''}",
            help="A stratified subsample of the training images"
            + (f" (this dataset has {facts.train_pool:,})." if facts else "."),
        )
        error_at("examples")
    with middle:
        seeds = st.number_input(LABELS["seeds"], value=1, step=1, help="3 or more for a paired test.")
        error_at("seeds")
    with right:
        budget = st.number_input(LABELS["budget_seconds"], value=20.0, step=5.0, format="%g")
        error_at("budget_seconds")
    unlabeled = st.text_input(
        LABELS["unlabeled"],
        "",
        help="A folder or .zip of unlabeled images on the server, used by the hybrid arms' self-supervised "
        "pretraining. Empty: the training images beyond the labeled ones, with their labels hidden.",
    ).strip()
    error_at("unlabeled")
    mode = st.radio("Mode", ["Quick run", "Learning curve"], horizontal=True)
    sizes_text = st.text_input(LABELS["sizes"], "100,300,1000", help="Training sizes, used in learning-curve mode.")
    error_at("sizes")
    if FORM_ERROR in errors:
        st.error(errors[FORM_ERROR], icon="⚠️")
    start = st.form_submit_button("Start run", type="primary")

if start:
    form = RunForm(choice, tuple(arms), int(examples), int(seeds), float(budget), mode == "Learning curve",
                   sizes_text, advised, profile.labeled_examples if profile else None,
                   unlabeled or None, Question.from_profile(profile) if profile else None)  # fmt: skip
    request, st.session_state[ERRORS] = check_form(form, facts)
    if request is not None:
        new_id = start_run(
            state.store(),
            request,
            st.session_state[state.SESSION],
            profile.to_dict() if profile else None,
            recommendation.to_dict() if recommendation else None,
        )
        state.open_run(new_id)
    st.rerun()  # the panel on top shows the new run; or the messages show at their widgets

if not run_id:
    st.info("No run yet: start one above. Fashion-MNIST with three arms and one seed takes about a minute.")
