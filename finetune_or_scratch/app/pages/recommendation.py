"""Recommendation: ranking, factor chart, reasons, counterfactuals and recipe."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from advisor import recommend
from advisor.profile import check_answers
from advisor.strategies import STRATEGY_BY_NAME
from finetune_or_scratch.app import state
from finetune_or_scratch.app.navigation import page
from finetune_or_scratch.reports.charts import factor_chart

profile, errors = check_answers(state.answers())
if profile is None:
    st.info("Answer the questionnaire first: some answers are not valid yet.")
    st.page_link(page("questionnaire.py"), label="Go to the questionnaire", icon="📝")
    st.stop()

rec = recommend(profile)
top = STRATEGY_BY_NAME[rec.strategy]
st.title(f"Recommendation: {top.label}")
st.markdown(f"**{top.summary}**")
st.metric("Confidence", f"{rec.confidence:.2f}", help="tanh(margin between the top two scores / 1.5)")

ranking = pd.DataFrame(
    [{"rank": i, "strategy": r.label, "score": r.score, "note": r.note} for i, r in enumerate(rec.ranking, start=1)]
)
left, right = st.columns([1, 1])
with left:
    st.subheader("Ranking")
    st.dataframe(
        ranking, hide_index=True, width="stretch", column_config={"rank": st.column_config.NumberColumn(width="small")}
    )
with right:
    # An explicit height: Streamlit's "content" height collapses charts with a band (nominal) y axis.
    st.altair_chart(factor_chart(rec.to_dict()), width="stretch", height=420)

st.subheader("Why")
for reason in rec.reasons:
    pushes = ", ".join(f"{name} {points:+.2f}" for name, points in reason.pushes.items())
    with st.expander(f"{reason.title} — {pushes or 'constraint'}"):
        st.write(reason.text)
        st.caption(f"Source: {reason.source}")

st.subheader("What would change the answer")
for cf in rec.counterfactuals:
    st.markdown(f"- {cf.text}")

st.subheader(f"Recipe: {top.label}")
recipe = rec.recipe.to_dict()
notes = recipe.pop("notes")
recipe.pop("strategy")
st.table(pd.DataFrame({"setting": [k.replace("_", " ") for k in recipe], "value": [str(v) for v in recipe.values()]}))
for note in notes:
    st.info(note)
