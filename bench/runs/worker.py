"""The app's worker: ``python -m bench.runs.worker RUN_ID`` executes one stored run outside the app's process.

The app never trains in its script thread: it stores a run request, starts this worker in a
new session (so reruns, closed tabs or a restarted app do not kill it), and polls the store.
The worker calls the same :func:`~bench.runs.execute.execute_run` as the command line.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.errors import BenchInputError
from bench.runs.store import ACTIVE, RunStore
from bench.vocabulary import RunStatus

STARTING_POLL_SECONDS = 0.25
CANCELLED_STARTING = "cancelled while its worker was starting; nothing ran"


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
    # Only the pid: the run stays queued until its worker holds the device (execute_run marks it running),
    # so a run waiting behind another says so from the first poll.
    store.set_worker(run_id, process.pid)
    return process.pid


@contextmanager
def cancel_while_starting(
    store: RunStore, run_id: str, end: Callable[[int], None] = os._exit, poll: float = STARTING_POLL_SECONDS
) -> Iterator[None]:
    """Watch the cancel flag while the worker starts (importing torch and the data stack takes seconds).

    A cancel then marks the run cancelled and ends the process at once (``end(0)``); the worker is the only
    writer of its run's status, so no other process can mark it cancelled while it goes on to train. On
    leaving the ``with`` the watch stops: from there execute_run's own checks (in the queue, between the
    phases, in the trial loop) take over.
    """
    lock, done = threading.Lock(), threading.Event()

    def end_if_cancelled() -> None:
        with lock:
            if not done.is_set() and store.cancel_requested(run_id):
                store.set_status(run_id, RunStatus.CANCELLED, error=CANCELLED_STARTING)
                end(0)
                done.set()  # ``end`` returned (a test's): stop watching

    def watch() -> None:
        while not done.wait(poll):
            end_if_cancelled()

    end_if_cancelled()
    thread = threading.Thread(target=watch, name=f"cancel-watch-{run_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        with lock:
            done.set()
        thread.join()


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
    store = RunStore(args.db)
    with cancel_while_starting(store, args.run_id):
        from bench.runs.execute import execute_run  # deferred: seconds of imports, watched for a cancel

    record = store.run(args.run_id)
    if record is not None and record.status not in ACTIVE:  # cancelled while starting (or swept): nothing to run
        return 0
    try:
        outcome = execute_run(store, args.run_id)
    except BenchInputError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0 if outcome.status in (RunStatus.COMPLETED, RunStatus.CANCELLED) else 1


if __name__ == "__main__":
    sys.exit(main())
