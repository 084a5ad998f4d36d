"""Rendering helpers shared by pages: they read the store and draw; no training, no rules."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from bench.runs.store import ACTIVE, RunRecord, RunStore
from finetune_or_scratch.app.navigation import page
from finetune_or_scratch.reports.charts import accuracy_chart

OUTCOME_STYLE = {"confirmed": st.success, "contradicted": st.error, "inconclusive": st.warning}


def run_progress(store: RunStore, run_id: str) -> None:
    """Live status of a run; polls the store every second while the run is active."""
    record = store.run(run_id)
    if record is None:
        st.warning(f"Run {run_id} is not in the run store.")
        return

    @st.fragment(run_every=1.0 if record.status in ACTIVE else None)
    def live() -> None:
        current = store.run(run_id)
        if current.status in ACTIVE and store.mark_interrupted():
            current = store.run(run_id)
        st.subheader(f"Run {current.id}: {current.status}")
        progress = current.progress
        total = max(1, progress.get("total", 1))
        done = progress.get("done", 0)
        within = progress.get("step", 0) / max(1, progress.get("planned_steps") or 1)
        st.progress(min(1.0, (done + (within if current.status in ACTIVE else 0)) / total),
                    text=f"{done}/{total} trials finished"
                    + (f" · now {progress.get('arm')} seed {progress.get('seed')} ({progress.get('phase')})"
                       if current.status in ACTIVE and progress.get("arm") else ""))  # fmt: skip
        trials = store.trials(run_id)
        if trials:
            st.dataframe(trials_table(trials), hide_index=True, width="stretch")
        if current.status in ACTIVE:
            if st.button("Cancel run", key=f"cancel_{run_id}", type="secondary"):
                store.request_cancel(run_id)
                st.toast("Cancelling: the current trial stops within 2 seconds.")
        elif current.status != "running":
            if current.error:
                st.error(current.error)
            if current.status in ("completed", "cancelled", "interrupted") and trials:
                st.page_link(page("verdict.py"), label="See the verdict", icon="⚖️")
            if current.status != record.status:
                st.rerun()  # stop polling: redraw the page once, statically

    live()


def trials_table(trials: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "arm": t["config"]["arm"],
                "seed": t["config"]["seed"],
                "examples": t["train_examples"],
                "status": t["status"],
                "test accuracy": t["test_accuracy"],
                "macro-F1": t["test_macro_f1"],
                "train s": t["time_train_s"],
                "img/s": t["images_per_second"],
                "note": t["error"],
            }
            for t in trials
        ]
    )


def summary_view(record: RunRecord) -> None:
    summary = record.analyses.get("summary", [])
    if not summary:
        st.info("No finished trials to summarise.")
        return
    table = pd.DataFrame(summary)[
        ["arm", "trials", "accuracy_mean", "accuracy_std", "macro_f1_mean", "train_seconds_mean"]
    ]
    st.dataframe(table, hide_index=True, width="stretch")
    # An explicit height: Streamlit's "content" height collapses charts with a band (nominal) y axis.
    st.altair_chart(accuracy_chart(summary), width="stretch", height=110 + 40 * len(summary))


def verdict_view(verdict: dict | None) -> None:
    if verdict is None:
        st.info("No verdict: the run had no advice to check (answer the questionnaire first) or did not finish.")
        return
    OUTCOME_STYLE.get(verdict["outcome"], st.info)(f"**{verdict['outcome'].upper()}**: {verdict['summary']}")
    st.write(verdict["reason"])
    comparison = verdict.get("comparison")
    if comparison:
        cols = st.columns(3)
        cols[0].metric(f"{comparison['better']} − {comparison['worse']}", f"{comparison['mean_difference']:+.3f}")
        p = comparison.get("p_value")
        cols[1].metric("p (paired t)", f"{p:.3g}" if p is not None else "not computed")
        d = comparison.get("effect_size")
        cols[2].metric("Effect size d_z", f"{d:.2f}" if d is not None else "not computed")
        ci = comparison.get("ci95")
        interval = f"[{ci[0]:+.3f}, {ci[1]:+.3f}]" if ci else "not computed"
        st.caption(f"Paired over {comparison['seeds']} seeds; bootstrap 95% interval of the difference: {interval}.")
    if verdict.get("not_computed"):
        st.caption("Not computed: " + "; ".join(verdict["not_computed"]))


def run_label(record: RunRecord) -> str:
    config = record.config
    return f"{record.id} · {record.created} · {config['kind']} on {config['base']['dataset']} · {record.status}"


__all__ = ["run_label", "run_progress", "summary_view", "trials_table", "verdict_view"]
