"""Validation run: pick data, arms and budget; the run executes in a worker process and is polled here."""

from __future__ import annotations

import streamlit as st

from advisor import recommend
from advisor.profile import check_answers
from bench.data.catalog import DATASETS
from bench.data.datasets import check_source
from bench.device import describe, resolve_device
from bench.errors import BenchInputError
from bench.runs.request import RunRequest
from bench.runs.worker import launch
from bench.train.arms import ARMS
from bench.train.suite import SuiteConfig, validate_suite
from bench.train.trial import TrialConfig
from finetune_or_scratch.app import state
from finetune_or_scratch.app.views import run_progress
from finetune_or_scratch.app.widgets import dataset_picker

st.title("Validation run")
st.caption(f"Device: **{describe(resolve_device('auto'))}**. Training runs in a separate process: "
           "reruns, page changes or a closed tab do not stop it.")  # fmt: skip

profile, _ = check_answers(state.answers())
recommendation = recommend(profile) if profile else None
advised = recommendation.strategy if recommendation else None
ranked = (
    [r.strategy for r in recommendation.ranking] if recommendation else ["linear_probe", "full_finetune", "scratch"]
)
preselected = [s for s in ranked if s in ARMS][:3]
if "scratch" not in preselected:
    preselected = [*preselected[:2], "scratch"]

# Outside the form: choosing a source shows its own widgets (an uploader, a path box) at once.
source = dataset_picker("run")
with st.form("run"):
    arms = st.multiselect("Arms", list(ARMS), default=preselected, help="Preselected from the recommendation.")
    left, middle, right = st.columns(3)
    examples = left.number_input("Training examples", value=1000, step=100, help="Stratified subsample.")
    seeds = middle.number_input("Seeds", value=1, min_value=1, max_value=20, help="3+ for a paired test.")
    budget = right.number_input("Seconds of training per trial", value=20.0, step=5.0)
    mode = st.radio("Mode", ["Quick run", "Learning curve"], horizontal=True)
    sizes_text = st.text_input("Curve sizes", "100,300,1000", help="Used in learning-curve mode.")
    start = st.form_submit_button("Start run", type="primary")

if start:
    try:
        if source is None:
            raise BenchInputError("Dataset: choose a built-in dataset, upload a .zip or enter a folder path")
        if source not in DATASETS:
            check_source(source)
        if not arms:
            raise BenchInputError(f"Arms: choose at least one of {', '.join(ARMS)}")
        base = TrialConfig(source, arms[0], examples=int(examples), budget_seconds=float(budget))
        sizes: tuple[int, ...] = ()
        if mode == "Learning curve":
            try:
                sizes = tuple(int(s) for s in sizes_text.split(",") if s.strip())
            except ValueError:
                raise BenchInputError(f"Curve sizes {sizes_text!r}: expected integers like 100,300,1000") from None
        validate_suite(SuiteConfig(base, tuple(arms), tuple(range(int(seeds)))))
        request = RunRequest("curve" if sizes else "run", base, tuple(arms), tuple(range(int(seeds))), sizes, advised)
    except BenchInputError as error:
        st.error(str(error))
    else:
        store = state.store()
        run_id = store.create_run(
            request.kind, request.to_dict(), st.session_state[state.SESSION], st.session_state.get(state.PROFILE_ID)
        )
        launch(store, run_id)
        state.open_run(run_id)

run_id = state.current_run_id()
if run_id:
    run_progress(state.store(), run_id)
else:
    st.info("No run yet: start one above. The default (Fashion-MNIST, three arms, one seed) takes about a minute.")
