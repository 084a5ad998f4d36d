"""History: past runs and profiles from the run store; open one, or compare two side by side."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from finetune_or_scratch.app import state
from finetune_or_scratch.app.navigation import page
from finetune_or_scratch.app.views import run_label, summary_view, verdict_view

st.title("History")
store = state.store()
runs = store.runs()
if not runs:
    st.info("No runs yet.")
    st.stop()

mine = st.toggle("Only this session's runs", value=False)
shown = [r for r in runs if r.session == st.session_state[state.SESSION]] if mine else runs
st.dataframe(
    pd.DataFrame(
        [
            {
                "run": r.id,
                "created": r.created,
                "kind": r.kind,
                "dataset": r.config["base"]["dataset"],
                "arms": ", ".join(r.config["arms"]),
                "status": r.status,
                "verdict": (store.verdict(r.id) or {}).get("outcome", ""),
            }
            for r in shown
        ]
    ),
    hide_index=True,
    width="stretch",
)
labels = {run_label(r): r.id for r in shown}
choice = st.selectbox("Open a run", list(labels), index=None, placeholder="choose a run")
if choice and st.button("Open"):
    state.open_run(labels[choice])
    st.switch_page(page("verdict.py"))

st.subheader("Compare two runs")
left, right = st.columns(2)
for column, key in ((left, "a"), (right, "b")):
    with column:
        picked = st.selectbox("Run", list(labels), index=None, key=f"compare_{key}", placeholder="choose a run")
        if picked:
            record = store.run(labels[picked])
            verdict_view(store.verdict(record.id))
            summary_view(record)

st.subheader("Profiles")
st.dataframe(
    pd.DataFrame([{"profile": p["id"], "created": p["created"], **p["answers"]} for p in store.profiles()]),
    hide_index=True,
    width="stretch",
)
