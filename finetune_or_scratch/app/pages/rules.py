"""How the advisor decides: the rules page (advisor/data/rules.md), and what we measured next to each rule."""

import pandas as pd
import streamlit as st

from advisor.evidence import cells_by_rule, load_grid, outcome_counts
from advisor.rules import RULES
from advisor.shipped import RULES_PAGE
from finetune_or_scratch.app import state
from finetune_or_scratch.app.navigation import page
from finetune_or_scratch.reports.words import arm_label

st.markdown(RULES_PAGE.read_text(encoding="utf-8"))

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
st.dataframe(
    pd.DataFrame(
        [
            {
                "dataset": c["dataset"],
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
    page("questionnaire.py"), label="Back to the questionnaire", icon="📝", query_params=state.run_params() or None
)
