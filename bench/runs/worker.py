"""The app's worker: ``python -m bench.runs.worker RUN_ID`` executes one stored run outside the app's process.

The app never trains in its script thread: it stores a run request, starts this worker in a
new session (so reruns, closed tabs or a restarted app do not kill it), and polls the store.
The worker calls the same :func:`~bench.runs.execute.execute_run` as the command line.
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
from pathlib import Path

from bench.errors import BenchInputError
from bench.runs.execute import execute_run
from bench.runs.store import RunStore
from bench.vocabulary import RunStatus


def launch(store: RunStore, run_id: str, log_dir: Path | None = None) -> int:
    """Start the worker in its own session (it outlives the app's script run); returns its pid."""
    log_dir = log_dir or store.path.parent / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    with open(log_dir / f"{run_id}.log", "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "bench.runs.worker", run_id, "--db", str(store.path)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    store.set_status(run_id, "running", pid=process.pid)
    return process.pid


def interrupt_on_sigterm() -> None:
    """A stop signal ends a run like Ctrl-C does: marked interrupted, finished trials kept."""

    def handler(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Execute one stored run (started by the app).")
    parser.add_argument("run_id")
    parser.add_argument("--db", type=Path, default=None)
    args = parser.parse_args(argv)
    interrupt_on_sigterm()
    try:
        outcome = execute_run(RunStore(args.db), args.run_id)
    except BenchInputError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0 if outcome.status in (RunStatus.COMPLETED, RunStatus.CANCELLED) else 1


if __name__ == "__main__":
    sys.exit(main())
