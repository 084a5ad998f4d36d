"""Recommendation: ranking, factor chart, reasons, counterfactuals and recipe; ends with "Validate this advice"."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from advisor import recommend
from advisor.profile import check_answers
from advisor.strategies import STRATEGY_BY_NAME
from bench.train.check import measured_costs
from finetune_or_scratch.app import state
from finetune_or_scratch.app.navigation import page, page_icon
from finetune_or_scratch.reports.charts import factor_chart, factor_chart_height
from finetune_or_scratch.reports.words import arm_label, cost_rows, mixed_domain_note, plain, recipe_rows

profile, errors = check_answers(state.answers())
if profile is None:
    st.info("Answer the questionnaire first: some answers are not valid yet.")
    st.page_link(page("questionnaire.py"), label="Go to the questionnaire", icon=page_icon("questionnaire.py"))
    st.stop()

# A check of this profile measured every strategy's cost here: the advice takes those costs (its one call).
store = state.store()
measured = store.run(state.current_run_id()) if state.current_run_id() else None
checked = (measured.analyses.get("check_plan") or {}) if measured else {}
if not (checked.get("costs") and measured.profile_id and store.profile(measured.profile_id) == profile.to_dict()):
    checked = {}
rec = recommend(profile, measured_costs(checked)) if checked else recommend(profile)
top = STRATEGY_BY_NAME[rec.strategy]
st.title(f"Recommendation: {top.label}")
st.markdown(f"**{top.summary}**")
st.metric(
    "Confidence",
    f"{rec.confidence:.0%}",
    help="A tie with the second strategy is 50%; it levels off at 82%. The curve from score margin to chance "
    "is fitted to the tuning part of the published outcomes table, and checked on its held-out part "
    "(How it decides).",
)
st.caption(f"The chance that {top.label.lower()} measures best when the strategies are trained and compared.")
if checked:
    change = (measured.analyses.get("measured_advice") or {}).get("text")
    st.info(plain(change) if change else f"With the throughput run {measured.id} measured on this machine "
            "instead of the fixed CPU-to-GPU factor: the advice is the same.", icon=":material/straighten:")  # fmt: skip
if st.button("Validate this advice", type="primary", key="validate_top", help="Measure the top strategies on data"):
    st.switch_page(page("validation.py"), query_params=state.run_params() or None)

# Ranking and chart one under the other, each full width: nothing is squeezed out at 800 px.
st.subheader("Ranking")
notes = any(r.note for r in rec.ranking)
ranking = pd.DataFrame(
    [
        {"Rank": i, "Strategy": r.label, "Score (points)": f"{r.score:+.2f}", **({"Note": r.note} if notes else {})}
        for i, r in enumerate(rec.ranking, start=1)
    ]
)
# A static table: it wraps instead of scrolling, so the score column shows at any width.
st.table(ranking, hide_index=True)
if checked:  # the check measured every strategy's throughput: what each costs on all of your labels
    st.caption(f"Cost at full scale, from the throughput run {measured.id} measured on this machine (a projection, "
               "not a full run):")  # fmt: skip
    st.table(pd.DataFrame(cost_rows(checked["costs"])), hide_index=True)
recommendation = rec.to_dict()
# An explicit height: Streamlit's "content" height collapses charts with a band (nominal) y axis.
st.altair_chart(factor_chart(recommendation), width="stretch", height=factor_chart_height(recommendation))

st.subheader("Why")
mixed = mixed_domain_note(profile.to_dict(), recommendation)
if mixed:
    st.caption(mixed)
for reason in rec.reasons:
    pushes = ", ".join(f"{arm_label(name)} {points:+.2f}" for name, points in reason.pushes.items())
    with st.expander(f"{reason.title} — {pushes or 'a constraint'}"):
        st.write(reason.text)
        st.caption(f"Source: {reason.source}")

st.subheader("What would change the answer")
for cf in rec.counterfactuals:
    st.markdown(f"- {plain(cf.text)}")

st.subheader("Nearest published cases")
st.caption(
    "The three published comparisons whose setting is closest to yours (labels per class, similarity, "
    "compute-hours, kind of input; advisor/nearest.py), from the table the rules are scored against."
)
for case in rec.nearest_cases:
    with st.container(border=True):
        st.markdown(f"**{case.task}** · distance {case.distance:.2f}")
        st.write(f"{case.outcome}.")
        st.caption(
            f"Setting: {case.setting}. Source: [{case.study}]({case.source}), {case.where}"
            + ("" if case.checked else " (numbers from memory, not checked in the source)")
        )
if rec.nearest_note:
    st.warning(rec.nearest_note)

st.subheader(f"Recipe: {top.label}")
recipe = rec.recipe.to_dict()
recipe_notes = recipe.get("notes") or []
rows = recipe_rows(recipe)
st.table(pd.DataFrame({"Setting": [k for k, _ in rows], "Value": [str(v) for _, v in rows]}), hide_index=True)
for note in [recipe_notes] if isinstance(recipe_notes, str) else recipe_notes:
    st.info(plain(note))

st.divider()
st.markdown("**Next:** measure whether this advice holds on your data: a short run of the top strategies against "
            "training from scratch, on a built-in dataset or your own.")  # fmt: skip
if st.button("Validate this advice", type="primary", key="validate_bottom"):
    st.switch_page(page("validation.py"), query_params=state.run_params() or None)
