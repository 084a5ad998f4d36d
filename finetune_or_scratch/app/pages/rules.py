"""How the advisor decides: the rules page (advisor/data/rules.md), and what we measured next to each rule."""

import pandas as pd
import streamlit as st

from advisor.agreement import load_scores
from advisor.evidence import cells_by_rule, load_grid, outcome_counts, rules_version
from advisor.published import PublishedRowError, load_published
from advisor.rules import RULES
from advisor.shipped import RULES_PAGE
from finetune_or_scratch.app import state
from finetune_or_scratch.app.navigation import page, page_icon
from finetune_or_scratch.reports.charts import reliability_chart
from finetune_or_scratch.reports.evidence import (
    agreement_rows,
    calibration_rows,
    measured_under_note,
    published_rows,
    scores_intro,
)
from finetune_or_scratch.reports.words import arm_label

st.markdown(RULES_PAGE.read_text(encoding="utf-8"))

st.header("Scored against published outcomes")
try:
    published = load_published()
except PublishedRowError as error:  # the whole table or nothing: never half of it
    st.error(f"The published table (advisor/data/evidence/published.json) did not load: {error}")
    published = None
scores = load_scores()
if published is not None and scores is not None:
    st.markdown(scores_intro(published, scores, rules_version()))
    st.table(pd.DataFrame(agreement_rows(scores)), hide_index=True)
    st.subheader("Calibration: how often each stated confidence was right")
    calibration = {"tuning": scores["calibration"]["tuning"], "held-out": scores["calibration"]["held-out"],
                   "measured grid": scores["grid"]["calibration"]}  # fmt: skip
    st.altair_chart(reliability_chart(calibration), width="content")
    st.table(pd.DataFrame(calibration_rows(calibration)), hide_index=True)
    before = scores["baseline"].get("calibration")
    if before:
        st.caption(
            f"The same rows under the rules before they were re-derived ({scores['baseline']['rules_version']}):"
        )
        st.table(pd.DataFrame(calibration_rows(before)), hide_index=True)
    with st.expander(f"The {len(published)} published rows, and the advice for each"):
        st.dataframe(pd.DataFrame(published_rows(published, scores)), hide_index=True, width="stretch")
elif scores is None:
    st.info("No scores shipped (advisor/data/evidence/scores.json); run scripts/score_evidence.py.")

st.header("What we measured")
grid = load_grid()
if grid is None:
    st.info("No grid results shipped (advisor/data/grid/grid_results.json); run scripts/check_rules.py.")
    st.stop()
counts = outcome_counts(grid["cells"])
st.write(
    f"{len(grid['cells'])} cells (built-in datasets x training sizes; {', '.join(arm_label(a) for a in grid['arms'])}; {grid['seeds']} seeds; "
    f"{grid['budget_seconds']:g} s per trial on {grid['device']}): **{counts['confirmed']} confirmed, "
    f"{counts['contradicted']} contradicted, {counts['inconclusive']} inconclusive, {counts['not_decided']} not decided**."
)
st.caption(measured_under_note(grid, rules_version()))
st.dataframe(
    pd.DataFrame(
        [
            {
                "dataset": c["dataset"],
                "rule table": c.get("rules_version", ""),
                "examples": c["examples"],
                "advised": arm_label(c["advised"]) if c.get("advised") else "",
                "measured winner": arm_label(c["measured_winner"]) if c.get("measured_winner") else "",
                "outcome": c["outcome"],
                "detail": c["summary"],
            }
            for c in grid["cells"]
        ]
    ),
    hide_index=True,
    width="stretch",
)
st.subheader("Per rule: the measured cells where it applied")
by_rule = cells_by_rule(grid)
st.dataframe(
    pd.DataFrame(
        [
            {
                "rule": rule.name,
                "title": rule.title,
                "cells": len(by_rule[rule.name]),
                **outcome_counts(by_rule[rule.name]),
            }
            for rule in RULES
        ]
    ),
    hide_index=True,
    width="stretch",
)

st.divider()
st.page_link(
    page("questionnaire.py"),
    label="Back to the questionnaire",
    icon=page_icon("questionnaire.py"),
    query_params=state.run_params() or None,
)
