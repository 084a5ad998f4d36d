"""Report: download Markdown, self-contained HTML and JSON for the current profile and run."""

from __future__ import annotations

import streamlit as st

from advisor import recommend
from advisor.profile import check_answers
from finetune_or_scratch.app import state
from finetune_or_scratch.app.views import next_step, run_card
from finetune_or_scratch.reports.report import build_report, render

st.title("Report")
store = state.store()
run_id = state.current_run_id()
record = store.run(run_id) if run_id else None
trials = store.trials(record.id) if record else []
if record and record.profile_id and store.profile(record.profile_id):
    answers, recommendation = store.profile(record.profile_id), store.recommendation(record.profile_id)
else:
    profile, _ = check_answers(state.answers())
    if profile is None:
        st.info("Answer the questionnaire first.")
        next_step("questionnaire.py", "Go to the questionnaire")
        st.stop()
    answers, recommendation = profile.to_dict(), recommend(profile).to_dict()

report = build_report(
    answers,
    recommendation,
    run=record.describe() if record else None,
    trials=trials,
    verdict=store.verdict(record.id) if record else None,
    analyses=record.analyses if record else None,
)  # fmt: skip
if record:
    run_card(record, trials)
else:
    st.caption("No validation run yet: the report covers the advice.")
name = f"finetune-or-scratch-{record.id if record else 'advice'}"
columns = st.columns(3)
for column, (fmt, mime) in zip(
    columns, (("md", "text/markdown"), ("html", "text/html"), ("json", "application/json")), strict=True
):
    with column:
        st.download_button(f"Download {fmt.upper()}", render(report, fmt), file_name=f"{name}.{fmt}", mime=mime,
                           key=f"download_{fmt}", on_click="ignore", width="stretch")  # fmt: skip
with st.expander("Preview (Markdown)", expanded=True):
    st.markdown(render(report, "md"))

st.divider()
if record:
    next_step("history.py", "Compare this run with another, or start from a saved profile")
else:
    next_step("validation.py", "Validate the advice with a run")
