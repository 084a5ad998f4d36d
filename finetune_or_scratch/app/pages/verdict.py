"""Verdict: does the measurement confirm the advice? Numbers, accuracy table, learning curve."""

from __future__ import annotations

import streamlit as st

from finetune_or_scratch.app import state
from finetune_or_scratch.app.views import summary_view, verdict_view
from finetune_or_scratch.reports.charts import curve_chart

st.title("Verdict")
run_id = state.current_run_id()
record = state.store().run(run_id) if run_id else None
if record is None:
    st.info("No run selected: start one on the Validation run page, or open one from History.")
    st.stop()

st.caption(f"Run {record.id} ({record.status}), {record.config['kind']} on {record.config['base']['dataset']}")
verdict_view(state.store().verdict(record.id))
st.subheader("Accuracy per arm (mean and spread over seeds)")
summary_view(record)
curve = record.analyses.get("curve")
if curve:
    st.subheader("Learning curve")
    st.altair_chart(curve_chart(curve), width="stretch", height=400)
    st.write(f"**Crossover:** {curve['crossover']['text']}")
    for note in curve.get("notes", []):
        st.caption(note)
