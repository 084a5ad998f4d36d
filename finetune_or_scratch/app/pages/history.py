"""History: past runs with their settings, filtered by dataset and status; open, delete or compare two;
saved profiles, loaded back into the questionnaire."""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from bench.runs.store import ACTIVE
from finetune_or_scratch.app import state
from finetune_or_scratch.app.navigation import page
from finetune_or_scratch.app.views import measured_device, run_card, run_label, summary_rows, verdict_view
from finetune_or_scratch.reports.charts import accuracy_chart_height, compare_accuracy_chart, compare_curve_chart
from finetune_or_scratch.reports.words import (
    answer_text,
    dataset_name,
    differences,
    duration_text,
    field_label,
    flat_settings,
    run_settings,
    status_text,
)

st.title("History")
store = state.store()
runs = store.runs()

st.subheader("Runs")
if not runs:
    st.info("No runs yet: start one on the Validation run page.")
else:
    left, right = st.columns(2)
    datasets = sorted({dataset_name(r.config) for r in runs})
    statuses = sorted({status_text(r.status) for r in runs})
    chosen_datasets = left.multiselect("Dataset", datasets, placeholder="all datasets")
    chosen_statuses = right.multiselect("Status", statuses, placeholder="any status")
    mine = st.toggle("Only this session's", value=False)  # its own row: a third column cut its label at 800 px
    shown = [
        r
        for r in runs
        if (not chosen_datasets or dataset_name(r.config) in chosen_datasets)
        and (not chosen_statuses or status_text(r.status) in chosen_statuses)
        and (not mine or r.session == st.session_state[state.SESSION])
    ]
    trials = {r.id: store.trials(r.id) for r in shown}
    rows = []
    for r in shown:
        worded = run_settings(r.config, measured_device(trials[r.id])).items()
        settings = {"Budget per trial" if k == "Seconds of training per trial" else k: v for k, v in worded}
        settings.pop("Questionnaire's advice", None)
        dataset, mode = settings.pop("Dataset"), settings.pop("Mode")
        rows.append(
            {
                "Run": r.id,
                "Started": r.created.replace("T", " ")[:16],
                "Dataset": dataset,
                "Status": status_text(r.status),
                "Verdict": ((store.verdict(r.id) or {}).get("outcome") or "").replace("_", " "),
                "Duration": duration_text(r.created, r.finished),
                # The settings stacked in one cell, each named: a column each made the table scroll sideways
                # at 800 px, hiding the budget, the examples and the device behind a scroll nobody saw.
                "Settings": " · ".join([mode, *(f"{name}: {value}" for name, value in settings.items() if value)]),
            }
        )
    # A static table: its cells wrap, so every column fits the page at any width (a data grid's cells do not).
    st.table(pd.DataFrame(rows), hide_index=True)
    labels = {run_label(r): r for r in shown}
    picked = st.selectbox("Pick a run", list(labels), index=None, placeholder="choose a run to open or delete")
    if picked:
        record = labels[picked]
        run_card(record, trials[record.id])
        open_col, delete_col = st.columns(2)
        if open_col.button("Open its verdict", type="primary", width="stretch"):
            state.open_run(record.id)
            st.switch_page(page("verdict.py"), query_params={"run": record.id})
        active = record.status in ACTIVE
        confirming = st.session_state.get("confirm_delete") == record.id
        if not confirming and delete_col.button(
            "Delete this run", disabled=active, width="stretch",
            help="Cancel it first" if active else "Removes the run, its trials and verdict (asks first)",
        ):  # fmt: skip
            st.session_state["confirm_delete"] = record.id
            st.rerun()
        if confirming:
            st.warning(f"Delete run {record.id} with its trials, verdict and reports? This cannot be undone.")
            yes, no = st.columns(2)
            if yes.button("Yes, delete it", type="primary", width="stretch"):
                store.delete_run(record.id)
                if state.current_run_id() == record.id:
                    state.open_run(None)
                st.session_state.pop("confirm_delete", None)
                st.toast(f"Run {record.id} deleted.")
                st.rerun()
            if no.button("Keep it", width="stretch"):
                st.session_state.pop("confirm_delete", None)
                st.rerun()

    st.subheader("Compare two runs")
    ids = [r.id for r in shown]
    current = state.current_run_id()
    columns = st.columns(2)
    default_a = ids.index(current) if current in ids else None
    pick_a = columns[0].selectbox(
        "First run", list(labels), index=default_a, key="compare_a", placeholder="choose a run"
    )
    pick_b = columns[1].selectbox("Second run", list(labels), index=None, key="compare_b", placeholder="choose a run")
    if pick_a and pick_b and pick_a != pick_b:
        a, b = labels[pick_a], labels[pick_b]
        names = {a.id: f"run {a.id}", b.id: f"run {b.id}"}
        columns = st.columns(2)
        for column, record in zip(columns, (a, b), strict=True):
            with column:
                run_card(record, trials[record.id], title=f"Run {record.id}")
        settings = differences(flat_settings(a.config), flat_settings(b.config))
        st.markdown("**Settings that differ**")
        if settings:
            st.dataframe(pd.DataFrame(settings, columns=["Setting", names[a.id], names[b.id]]),
                         hide_index=True, width="stretch")  # fmt: skip
        else:
            st.caption("Both runs used the same settings.")
        answers_a = store.profile(a.profile_id) if a.profile_id else None
        answers_b = store.profile(b.profile_id) if b.profile_id else None
        st.markdown("**Questionnaire answers that differ**")
        if answers_a is None or answers_b is None:
            st.caption("One of the runs has no saved answers (it was started without the questionnaire).")
        else:
            worded = [
                (field_label(k), answer_text(k, answers_a.get(k)), answer_text(k, answers_b.get(k)))
                for k in dict.fromkeys([*answers_a, *answers_b])
                if answers_a.get(k) != answers_b.get(k)
            ]
            if worded:
                st.dataframe(pd.DataFrame(worded, columns=["Question", names[a.id], names[b.id]]),
                             hide_index=True, width="stretch")  # fmt: skip
            else:
                st.caption("Both runs checked the same answers.")
        st.markdown("**Verdicts**")
        columns = st.columns(2)
        for column, record in zip(columns, (a, b), strict=True):
            with column:
                st.caption(f"Run {record.id}")
                verdict_view(store.verdict(record.id), record)
        summaries = [(names[r.id], summary_rows(r)) for r in (a, b)]
        arms = {s["arm"] for _, rows in summaries for s in rows}
        if arms:
            st.altair_chart(compare_accuracy_chart(summaries), width="stretch",
                            height=accuracy_chart_height(2, len(arms)))  # fmt: skip
        else:
            st.info("Neither run has a finished trial to chart.")
        curves = [(names[r.id], r.analyses.get("curve")) for r in (a, b)]
        if all(c and c.get("points") for _, c in curves):
            st.altair_chart(compare_curve_chart(curves), width="stretch", height=460)
    elif pick_a and pick_a == pick_b:
        st.caption("Choose two different runs.")

st.subheader("Saved profiles")
profiles, seen = [], set()
for p in store.profiles():
    key = json.dumps(p["answers"], sort_keys=True)
    if key not in seen:  # the same answers saved again (each run saves its own) are listed once
        seen.add(key)
        profiles.append(p)
if not profiles:
    st.info("No saved profiles yet: answer the questionnaire and get a recommendation.")
else:
    # As the runs: the answers stacked in one cell, each named, so the table fits the page at 800 px.
    st.table(
        pd.DataFrame(
            [
                {"Profile": p["id"], "Saved": p["created"].replace("T", " ")[:16],
                 "Answers": " · ".join(f"{field_label(k)}: {answer_text(k, v)}" for k, v in p["answers"].items())}
                for p in profiles
            ]
        ),
        hide_index=True,
    )  # fmt: skip
    by_label = {
        f"{p['id']} · {answer_text('labeled_examples', p['answers'].get('labeled_examples'))}, "
        f"{answer_text('num_classes', p['answers'].get('num_classes'))}, "
        f"{answer_text('domain_similarity', p['answers'].get('domain_similarity'))} similarity · "
        f"{p['created'].replace('T', ' ')[:16]}": p
        for p in profiles
    }
    chosen = st.selectbox("Pick a profile", list(by_label), index=None, placeholder="choose a saved profile")
    if chosen and st.button("Load into questionnaire", type="primary"):
        state.load_answers(by_label[chosen]["answers"])
        st.session_state[state.PROFILE_ID] = by_label[chosen]["id"]
        st.switch_page(page("questionnaire.py"), query_params=state.run_params() or None)
