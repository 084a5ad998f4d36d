"""Verdict: does the measurement confirm the advice? The run's card, the verdict, accuracy, learning curve."""

from __future__ import annotations

import streamlit as st

from bench.vocabulary import RunStatus
from finetune_or_scratch.app import state
from finetune_or_scratch.app.views import (
    check_plan_view,
    curve_view,
    next_step,
    run_card,
    summary_title,
    summary_view,
    verdict_view,
)

st.title("Verdict")
store = state.store()
run_id = state.current_run_id()
record = store.run(run_id) if run_id else None
if record is None:
    st.info("No run selected: start one on the Validation run page, or open one from History.")
    next_step("validation.py", "Go to the validation run")
    st.stop()

run_card(record, store.trials(record.id))
if RunStatus(record.status).active:
    st.info("This run is still going: the verdict appears when it ends.")
    next_step("validation.py", "Follow the run's progress", record.id)
    st.stop()
verdict_view(store.verdict(record.id), record)
check_plan_view(record)
st.subheader(summary_title(record))
summary_view(record)
curve_view(record)

st.divider()
next_step("report.py", "Download the report (HTML, Markdown, JSON)", record.id)
next_step("history.py", "Compare with another run", record.id)
