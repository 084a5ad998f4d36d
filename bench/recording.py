"""Command-line runs are recorded in the same run store as the app's (History shows them, reports read them)."""

from __future__ import annotations

import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench.store import RunStore
from bench.trial import TrialResult

CLI_SESSION = "cli"


class StoreRecorder:
    """Creates a run in the store, adds each trial as it ends, and closes the run with its analyses."""

    def __init__(self, kind: str, request: dict[str, Any], profile: dict[str, Any] | None = None,
                 recommendation: dict[str, Any] | None = None, db: Path | None = None):  # fmt: skip
        self.store = RunStore(db)
        profile_id = self.store.save_profile(profile, recommendation) if profile else None
        self.run_id = self.store.create_run(kind, request, session=CLI_SESSION, profile_id=profile_id)
        self.store.set_status(self.run_id, "running", pid=os.getpid())

    def add(self, result: TrialResult) -> None:
        self.store.add_trial(self.run_id, result.to_dict())

    def finish(self, results: list[TrialResult], analyses: dict[str, Any], verdict: dict[str, Any] | None) -> str:
        return finish_run(self.store, self.run_id, results, analyses, verdict)

    def interrupted(self) -> None:
        self.store.set_status(self.run_id, "interrupted", error="interrupted from the keyboard; finished trials kept")


def run_analyses(results: list[TrialResult], curve=None) -> dict[str, Any]:
    """What a finished run stores besides its trials: per-arm summary, and for curves the analysis and chart."""
    from bench.results import summarise

    analyses: dict[str, Any] = {"summary": [asdict(s) for s in summarise(results)]}
    if curve is not None:
        from bench.charts import curve_chart

        analyses["curve"] = curve.analysis()
        analyses["curve_chart"] = curve_chart(curve).to_dict()
    return analyses


def finish_run(
    store: RunStore, run_id: str, results: list[TrialResult], analyses: dict[str, Any], verdict: dict[str, Any] | None
) -> str:
    """Store the analyses and verdict, then the final status (cancelled, or completed with any failures named)."""
    for name, value in analyses.items():
        store.add_analysis(run_id, name, value)
    if verdict is not None:
        store.set_verdict(run_id, verdict)
    status = "cancelled" if any(r.status == "cancelled" for r in results) else "completed"
    failed = [r for r in results if r.status == "failed"]
    store.set_status(run_id, status, error=f"{len(failed)} trial(s) failed: {failed[0].error}" if failed else None)
    return status
