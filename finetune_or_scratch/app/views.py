"""Rendering helpers shared by pages: they read stored data and draw; no training, no rules.

Every function renders whatever keys the stored dicts have (verdicts and trial results grow
over time): a missing key is shown as missing, an unknown one is not a crash.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import streamlit as st

from bench.data.units import UNITS, unit_for_dataset
from bench.evidence.question import projection_words, question_words
from bench.runs.queue import PLAN_HOLDER
from bench.runs.request import RunRequest
from bench.runs.store import ACTIVE, RunRecord, RunStore
from bench.vocabulary import CheckRegime, RunKind, RunStatus, TrialStatus
from finetune_or_scratch.app import state
from finetune_or_scratch.app.navigation import page, page_icon
from finetune_or_scratch.app.plans import FormPlan, check_form_plan, plan_arms_of
from finetune_or_scratch.reports.charts import accuracy_chart, accuracy_chart_height, curve_chart
from finetune_or_scratch.reports.report import comparison_sentence
from finetune_or_scratch.reports.words import (
    arm_label,
    cost_rows,
    dataset_name,
    duration_text,
    field_label,
    plain,
    run_settings,
    status_text,
)

OUTCOME_STYLE = {
    "confirmed": st.success,
    "contradicted": st.error,
    "inconclusive": st.warning,
    "not_decided": st.warning,
}
STATUS_ICON = {
    "queued": ":material/hourglass_empty:",
    "running": ":material/directions_run:",
    "completed": ":material/check_circle:",
    "cancelled": ":material/stop_circle:",
    "failed": ":material/cancel:",
    "interrupted": ":material/warning:",
}
_VERDICT_SHOWN = {"outcome", "summary", "reason", "comparison", "not_computed", "arms", "advised", "measured_winner",
                  "question", "projection"}  # fmt: skip
TRIAL_FORMATS = {
    "Test accuracy": "{:.3f}",
    "Macro-F1": "{:.3f}",
    "Training s": "{:.1f}",
    "Encoding s": "{:.1f}",
    **{unit.rate_title: "{:,.0f}" for unit in UNITS.values()},
}  # Images/s, Sentences/s: whole numbers
# The app's words for the check's bound (its run form's setting).
CHECK_NAMES = {"check_minutes": "a check of", "sizes": "a learning curve (Mode: Learning curve, then Curve sizes)"}


def next_step(file: str, label: str, run_id: str | None = None) -> None:
    """The page's next action: a link with the page's own icon that carries the run (``?run=ID``) so the
    address can be shared."""
    params = {"run": run_id} if run_id else state.run_params()
    st.page_link(page(file), label=label, icon=page_icon(file), query_params=params or None)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def measured_device(trials: list[dict[str, Any]]) -> str | None:
    return next((t.get("device") for t in trials if t.get("device")), None)


def finished_trials(trials: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Trials with a result: a trial stopped by a cancel has none and is not a row of the table."""
    return [t for t in trials if t.get("status") != TrialStatus.CANCELLED]


def status_line(record: RunRecord, trials: list[dict[str, Any]]) -> str:
    """Where a run stands, in words: queued behind another run, trials done of planned, how it ended."""
    progress = record.progress or {}
    total = progress.get("total") or _planned(record.config)
    done = sum(t.get("status") == TrialStatus.COMPLETED for t in trials)
    failed = sum(t.get("status") == TrialStatus.FAILED for t in trials)
    failures = f"; {failed} failed" if failed else ""
    if record.status in ACTIVE and record.cancel_requested:
        return "Cancelling: waiting for the worker to stop (within 2 seconds)…"
    if record.status == RunStatus.QUEUED:
        behind = progress.get("queued_behind")
        if behind == PLAN_HOLDER:
            return "Queued behind a plan's throughput probe on the run form: it starts in a few seconds."
        if behind:
            return f"Queued behind run {behind}: it starts when that run ends."
        return "Starting: the worker is loading the training libraries (a few seconds)…"
    if record.status == RunStatus.RUNNING:
        now = ""
        if progress.get("arm"):
            now = f" · now {arm_label(progress['arm'])}, seed {progress.get('seed', 0)} ({progress.get('phase', '')})"
        return f"{done} of {total} trials finished{failures}{now}"
    if record.status == RunStatus.COMPLETED:
        return f"Finished: {done} of {total} trials{failures}."
    if record.status == RunStatus.CANCELLED:
        return (
            f"Cancelled after {done} of {total} trials; the trial that was running was stopped and is not counted."
            if done
            else "Cancelled before any trial finished: there are no results."
        )
    if record.status == RunStatus.INTERRUPTED:
        return f"Interrupted after {done} of {total} trials (the worker stopped); finished trials are kept."
    return f"Failed after {done} of {total} trials."


def _planned(config: Mapping[str, Any]) -> int:
    """The run's trial count, as the engine counts it (:meth:`RunRequest.total_trials`)."""
    try:
        return max(1, RunRequest.from_dict(dict(config)).total_trials())
    except (KeyError, TypeError, ValueError):  # a stored config from another version: no count to show
        return 1


def run_card(record: RunRecord, trials: list[dict[str, Any]] | None = None, title: str | None = None) -> None:
    """What a run ran and how it stands: dataset, arms, seeds, budget, examples, device, status, duration."""
    trials = trials if trials is not None else []
    settings = run_settings(record.config, measured_device(trials))
    if record.config.get("check_minutes"):  # a check planned from the profile: each arm's budget is the plan's
        settings["Seconds of training per trial"] = "planned per arm"
        settings["Minutes for the whole check"] = f"{record.config['check_minutes']:g}"
    duration = duration_text(record.created, record.finished, _now() if record.status in ACTIVE else None)
    with st.container(border=True):
        head = title or f"Run {record.id}"
        st.markdown(
            f"**{head}** · {STATUS_ICON.get(record.status, '')} {status_text(record.status)}"
            + (f" · {duration}" if duration else "")
            + f" · started {record.created.replace('T', ' ')[:16]}"
        )
        st.markdown(" · ".join(f"{name}: **{value}**" for name, value in settings.items() if value))


def plan_view(plan: FormPlan) -> None:
    """A plan in the form's words: each arm, what it measures and what it cannot (no button: the page adds it)."""
    if plan.error:
        st.error(plan.error, icon=":material/warning:")
        return
    st.markdown("\n".join(f"- {line.text}" for line in plan.arms))
    if plan.measures:
        st.markdown(plan.measures)
    if plan.cannot:
        st.warning(plan.cannot, icon=":material/timer:")
    if plan.lines:
        with st.expander("The plan in full"):
            st.markdown("\n".join(f"- {line}" for line in plan.lines))


def stored_plan(record: RunRecord) -> FormPlan | None:
    """The plan a run stored before training: its planned check, or its budget plan."""
    if record.analyses.get("check_plan"):
        return check_form_plan(record.analyses["check_plan"])
    budget = (record.config.get("base") or {}).get("budget_seconds")
    if record.analyses.get("budget_plan") and budget:
        return FormPlan(tuple(plan_arms_of(record.analyses["budget_plan"], float(budget))), "")
    return None


def run_progress(store: RunStore, run_id: str) -> None:
    """The run panel: card, live progress and table, cancel; polls the store every second while active."""
    record = store.run(run_id)
    if record is None:
        st.warning(f"Run {run_id} is not in the run store (deleted, or another machine's link).")
        return

    @st.fragment(run_every=1.0 if record.status in ACTIVE else None)
    def live() -> None:
        current = store.run(run_id)
        if current is None:
            st.warning(f"Run {run_id} was deleted.")
            return
        if current.status in ACTIVE and store.mark_interrupted():
            current = store.run(run_id)
        trials = store.trials(run_id)
        run_card(current, trials)
        plan = stored_plan(current)
        if plan is not None:
            with st.expander("The plan, before training", expanded=current.status in ACTIVE):
                plan_view(plan)
        line = status_line(current, trials)
        if current.status in ACTIVE:
            st.progress(_fraction(current, trials), text=line)
        else:
            {RunStatus.COMPLETED: st.success, RunStatus.FAILED: st.error}.get(current.status, st.warning)(line)
        shown = finished_trials(trials)
        if shown:
            # A static table: at narrow widths it wraps (headers included) instead of hiding columns off-screen.
            st.table(trials_table(shown).style.format(TRIAL_FORMATS, na_rep=""), hide_index=True)
        if current.status in ACTIVE:
            # The flag is set by the click's callback, before this fragment reruns: the button says so at once.
            if current.cancel_requested:
                st.button("Cancelling…", key=f"cancelling_{run_id}", disabled=True)
            else:
                st.button("Cancel run", key=f"cancel_{run_id}", type="secondary", on_click=store.request_cancel,
                          args=(run_id,))  # fmt: skip
            return
        if current.error and current.status != RunStatus.CANCELLED:
            st.error(
                plain(current.error, {current.config.get("base", {}).get("dataset", ""): dataset_name(current.config)})
            )
        completed = any(t.get("status") == TrialStatus.COMPLETED for t in trials)
        if current.status == RunStatus.COMPLETED and completed:
            next_step("verdict.py", "See the verdict", run_id)
        elif completed:
            next_step("verdict.py", f"See the partial results of this {status_text(current.status)} run", run_id)
        if current.status != record.status:
            st.rerun()  # stop polling: redraw the page once, statically

    live()


def _fraction(record: RunRecord, trials: list[dict[str, Any]]) -> float:
    progress = record.progress or {}
    total = max(1, progress.get("total") or _planned(record.config))
    done = sum(t.get("status") in (TrialStatus.COMPLETED, TrialStatus.FAILED) for t in trials)
    within = (progress.get("step") or 0) / max(1, progress.get("planned_steps") or 1)
    return min(1.0, (done + min(within, 1.0)) / total)


def trials_table(trials: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per trial. "Encoding s" (the frozen encoder's pass over the data, apart from "Training s")
    shows when a trial encoded anything, as the command line's "encode s" column does."""
    encoded = any(t.get("time_features_s") for t in trials)
    rows = []
    for t in trials:
        config = t.get("config") or {}
        status = status_text(t.get("status", ""))
        if t.get("status") == TrialStatus.COMPLETED and (t.get("health") or {}).get("undertrained"):
            status += ", undertrained"  # finished, but not past the health floor: the verdict leaves it out
        row = {
            "Arm": arm_label(config.get("arm", "")),
            "Seed": config.get("seed"),
            "Training examples": t.get("train_examples"),
            "Status": status,
            "Test accuracy": t.get("test_accuracy"),
            "Macro-F1": t.get("test_macro_f1"),
            "Training s": t.get("time_train_s"),
            **({"Encoding s": t.get("time_features_s") or 0.0} if encoded else {}),
            unit_for_dataset(str(config.get("dataset", ""))).rate_title: t.get("images_per_second"),
        }
        if t.get("error"):
            row["Note"] = plain(t["error"])
        rows.append(row)
    return pd.DataFrame(rows)


def summary_rows(record: RunRecord) -> list[dict[str, Any]]:
    """Per-arm summary rows that have a result (an arm stopped by a cancel has none)."""
    return [s for s in record.analyses.get("summary", []) if s.get("accuracy_mean") is not None]


def summary_title(record: RunRecord) -> str:
    if record.kind == RunKind.CURVE:
        return "Accuracy per arm, averaged over every training size and seed"
    return "Accuracy per arm (mean ± standard deviation over seeds)"


def summary_view(record: RunRecord) -> None:
    summary = summary_rows(record)
    if not summary:
        st.info("No finished trials to summarise.")
        return
    spread = "± std over sizes and seeds" if record.kind == RunKind.CURVE else "± std over seeds"
    encoded = any(s.get("features_seconds_mean") for s in summary)
    table = pd.DataFrame(
        [
            {
                "Arm": arm_label(s.get("arm", "")),
                "Finished trials": s.get("trials"),
                "Test accuracy": s.get("accuracy_mean"),
                spread: s.get("accuracy_std"),
                "Macro-F1": s.get("macro_f1_mean"),
                "Training s": s.get("train_seconds_mean"),
                **({"Encoding s": s.get("features_seconds_mean") or 0.0} if encoded else {}),
            }
            for s in summary
        ]
    )
    formats = {**TRIAL_FORMATS, spread: "{:.3f}"}  # as the trials table: accuracies to 3 places, seconds to 1
    st.table(table.style.format({k: v for k, v in formats.items() if k in table.columns}, na_rep=""), hide_index=True)
    # An explicit height: Streamlit's "content" height collapses charts with a band (nominal) y axis.
    title = "Test accuracy (mean ± std over sizes and seeds)" if record.kind == RunKind.CURVE else None
    chart = accuracy_chart(summary, title) if title else accuracy_chart(summary)
    st.altair_chart(chart, width="stretch", height=accuracy_chart_height(1, len(summary)))


def curve_view(record: RunRecord) -> None:
    curve = record.analyses.get("curve")
    if not curve or not curve.get("points"):
        return
    st.subheader("Learning curve: mean test accuracy over seeds at each training size")
    st.altair_chart(curve_chart(curve), width="stretch", height=420)
    crossover = (curve.get("crossover") or {}).get("text")
    if crossover:
        st.write(f"**Crossover:** {plain(crossover)}")
    for note in curve.get("notes", []):
        st.caption(plain(note))


def verdict_view(verdict: dict | None, record: RunRecord | None = None) -> None:
    """The verdict from whatever keys it has; a cancelled or partial run says what the verdict covers."""
    if record is not None and RunStatus(record.status).stopped_early:
        st.warning(
            f"This run was {status_text(record.status)}: what follows covers only the trials that finished, "
            "not the comparison that was planned."
        )
    if not verdict:
        st.info("No verdict: the run had no advice to check (answer the questionnaire first) or did not finish.")
        return
    outcome = str(verdict.get("outcome", ""))
    words = outcome.replace("_", " ")
    summary = plain(str(verdict.get("summary", "")))
    summary = summary[len(words) + 1 :].strip() if words and summary.lower().startswith(words + ":") else summary
    question = verdict.get("question")
    qualifier = ""
    if question:
        st.markdown(f"**{plain(question_words(question, CHECK_NAMES))}**")
        if question.get("regime") != CheckRegime.YOUR_BUDGET:
            qualifier = " for this check, not your question"
    head = f"**{outcome.replace('_', ' ').upper()}{qualifier}**: {summary}" if outcome else summary or "Verdict"
    OUTCOME_STYLE.get(outcome, st.info)(head)
    if verdict.get("reason"):
        reason = plain(str(verdict["reason"]))
        st.write(reason[:1].upper() + reason[1:])
    comparison = verdict.get("comparison")
    if isinstance(comparison, dict):
        st.markdown(comparison_sentence(comparison) + ".")
    if isinstance(verdict.get("projection"), dict):
        st.write(plain(projection_words(verdict["projection"], CHECK_NAMES)))
    arms = verdict.get("arms")
    if isinstance(arms, list) and arms and all(isinstance(a, dict) for a in arms):
        st.table(_evidence_table(arms), hide_index=True)  # static: wraps at narrow widths instead of scrolling
        target = verdict.get("target_accuracy")
        if isinstance(target, int | float):
            st.caption(f"Seconds to target: training seconds until the first validation pass at {target:.3f} "
                       "accuracy (90% of the weakest trained arm's best), for arms that trained.")  # fmt: skip
        elif verdict.get("target_note"):
            st.caption(f"Seconds to target: none, {plain(str(verdict['target_note']))}.")
    missing = verdict.get("not_computed")
    if missing:
        items = [missing] if isinstance(missing, str) else missing
        st.caption("Not computed: " + "; ".join(plain(str(m)) for m in items))
    shown = _VERDICT_SHOWN | {"target_accuracy", "target_note"}  # in the caption under the table
    extra = {k: v for k, v in verdict.items() if k not in shown and v not in (None, "", [], {})}
    if extra:
        with st.expander("More from the verdict"):
            for key, value in extra.items():
                st.markdown(f"- **{field_label(key)}**: {_value_text(value)}")


def check_plan_view(record: RunRecord) -> None:
    """A planned check: the plan it made before training, and the cost at full scale per strategy."""
    plan = record.analyses.get("check_plan")
    if not plan:
        return
    change = (record.analyses.get("measured_advice") or {}).get("text")
    if change:  # the advice judged is the one with the costs this check measured
        st.info(plain(change), icon=":material/straighten:")
    costs = plan.get("costs") or []
    if costs:
        st.subheader("Cost at full scale")
        st.caption(f"From the throughput measured on this machine ({costs[0]['device_compute']}): a projection, "
                   "not a full run.")  # fmt: skip
        st.table(pd.DataFrame(cost_rows(costs)), hide_index=True)
    with st.expander("The plan, before training"):
        for line in plan.get("lines", []):
            st.markdown(f"- {plain(line.strip())}")


def _evidence_table(arms: list[dict[str, Any]]) -> pd.DataFrame:
    names = {
        "arm": "Arm",
        "seeds": "Seeds",
        "accuracy_mean": "Test accuracy",
        "accuracy_std": "± std over seeds",
        "train_seconds_mean": "Training s",
        "time_to_target_s": "Seconds to target accuracy",
    }
    rows = []
    for a in arms:
        row = {names[k]: (arm_label(v) if k == "arm" else _shown(k, v)) for k, v in a.items() if k in names}
        if a.get("time_to_target_s") is None and "time_to_target_s" in a:  # blank, with why (not a silent gap)
            row[names["time_to_target_s"]] = str(a.get("time_to_target_note") or "not reached")
        health = a.get("health")
        if health is not None:  # the engine's checks on each arm's training (undertrained, at chance)
            row["Training health"] = "; ".join(map(str, health)) if isinstance(health, list) and health else "ok"
        rows.append(row)
    return pd.DataFrame(rows)


def _shown(key: str, value: Any) -> Any:
    """Accuracies to 3 decimals, seconds to 1 (a table of 59.8640 s claims a precision no timing has)."""
    if not isinstance(value, float):
        return value
    return f"{value:.1f}" if key.endswith("_s") or "seconds" in key else f"{value:.3f}"


def _value_text(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    if isinstance(value, list | tuple):
        return "; ".join(_value_text(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{field_label(k)} {_value_text(v)}" for k, v in value.items())
    return plain(str(value))


def run_label(record: RunRecord) -> str:
    """A run as one line in a picker: id, dataset by its name, mode, status, when."""
    mode = RunKind(record.kind)
    return (
        f"{record.id} · {dataset_name(record.config)} · {mode} · {status_text(record.status)} · "
        f"{record.created.replace('T', ' ')[:16]}"
    )


__all__ = [
    "curve_view",
    "next_step",
    "run_card",
    "run_label",
    "run_progress",
    "status_line",
    "summary_view",
    "trials_table",
    "verdict_view",
]
