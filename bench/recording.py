"""Command-line runs are recorded in the same run store as the app's (History shows them, reports read them)."""

from __future__ import annotations

import os
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

    def finish(self, results: list[TrialResult], analyses: dict[str, Any], verdict: dict[str, Any] | None) -> None:
        for name, value in analyses.items():
            self.store.add_analysis(self.run_id, name, value)
        if verdict is not None:
            self.store.set_verdict(self.run_id, verdict)
        cancelled = any(r.status == "cancelled" for r in results)
        failed = [r for r in results if r.status == "failed"]
        error = f"{len(failed)} trial(s) failed: {failed[0].error}" if failed else None
        self.store.set_status(self.run_id, "cancelled" if cancelled else "completed", error=error)

    def interrupted(self) -> None:
        self.store.set_status(self.run_id, "interrupted", error="interrupted from the keyboard; finished trials kept")
