"""The app's worker: ``python -m bench.runs.worker RUN_ID`` executes one stored run outside the app's process.

The app never trains in its script thread: it stores a run request, starts this worker in a
new session (so reruns, closed tabs or a restarted app do not kill it), and polls the store.
The worker calls the same :func:`~bench.runs.execute.execute_run` as the command line.

Importing torch, timm and the data stack takes a worker about 10 s on a 2-core CPU before it
does anything. So the app keeps one *standby* worker warm (:func:`warm`): started ahead of any
run, it imports everything and waits for a run id on its standard input; :func:`launch` hands
the next run to it and the run starts at once. The standby ends when the app does (its input
closes). ``FOS_WARM_WORKER=0`` turns this off, saving the standby's memory (about 0.9 GB).
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
from bench.runs.queue import any_holder
from bench.runs.store import ACTIVE, RunStore
from bench.vocabulary import RunStatus

STARTING_POLL_SECONDS = 0.25
CANCELLED_STARTING = "cancelled while its worker was starting; nothing ran"


WARM_SETTING = "FOS_WARM_WORKER"
_standby: dict[tuple[Path, Path], subprocess.Popen] = {}  # (store, log folder) -> the worker waiting for a run
_standby_lock = threading.Lock()


def warm_enabled() -> bool:
    return os.environ.get(WARM_SETTING, "1").strip() != "0"


def warm(store: RunStore, log_dir: Path | None = None) -> int | None:
    """Start a standby worker for ``store`` unless one is already waiting (or ``FOS_WARM_WORKER=0``); its pid.

    Not while a run holds a device: the standby's seconds of imports would come out of that run's budget.
    """
    if not warm_enabled() or any_holder(store.path.parent / "locks") is not None:
        return None
    log_dir = log_dir or store.path.parent / "logs"
    key = (store.path, log_dir)
    with _standby_lock:
        process = _standby.get(key)
        if process is not None and process.poll() is None:
            return process.pid
        log_dir.mkdir(parents=True, exist_ok=True)
        with open(log_dir / "standby.log", "ab") as log:
            _standby[key] = process = subprocess.Popen(
                [sys.executable, "-m", "bench.runs.worker", "--standby", "--db", str(store.path),
                 "--log-dir", str(log_dir)],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.PIPE, start_new_session=True,
            )  # fmt: skip
    return process.pid


def _hand_to_standby(key: tuple[Path, Path], run_id: str) -> int | None:
    """The standby's pid once it has the run; None when none waits (or it died: a fresh worker is started)."""
    with _standby_lock:
        process = _standby.pop(key, None)
    if process is None or process.poll() is not None:
        return None
    try:
        process.stdin.write(f"{run_id}\n".encode())
        process.stdin.close()
    except OSError:  # it ended between the poll and the write
        return None
    return process.pid


def launch(store: RunStore, run_id: str, log_dir: Path | None = None) -> int:
    """Start the run's worker in its own session (it outlives the app's script run); returns its pid.

    The standby worker takes the run when one is waiting (:func:`warm`); otherwise a new worker starts.
    """
    log_dir = log_dir or store.path.parent / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    pid = _hand_to_standby((store.path, log_dir), run_id)
    if pid is None:
        with open(log_dir / f"{run_id}.log", "ab") as log:
            pid = subprocess.Popen(
                [sys.executable, "-m", "bench.runs.worker", run_id, "--db", str(store.path)],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            ).pid
    # Only the pid: the run stays queued until its worker holds the device (execute_run marks it running),
    # so a run waiting behind another says so from the first poll.
    store.set_worker(run_id, pid)
    return pid


def _await_run(log_dir: Path) -> str | None:
    """A standby's wait: the run id the app hands over, with output moved to that run's log; None if the app ended."""
    line = sys.stdin.readline().strip()
    if not line:
        return None
    sys.stdout.flush()
    sys.stderr.flush()
    with open(log_dir / f"{line}.log", "ab") as log:
        os.dup2(log.fileno(), sys.stdout.fileno())
        os.dup2(log.fileno(), sys.stderr.fileno())
    return line


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


def warm_image_models() -> None:
    """Import the image models' library as well (bench.models.backbones defers it: 3.7 s that a compact
    scratch or a text trial does not need), so that a standby has nothing left to import for any run."""
    import timm  # noqa: F401  # deferred: a standby imports before it has a run


def interrupt_on_sigterm() -> None:
    """A stop signal ends a run like Ctrl-C does: marked interrupted, finished trials kept."""

    def handler(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Execute one stored run (started by the app).")
    parser.add_argument("run_id", nargs="?")
    parser.add_argument("--db", type=Path, default=None)
    parser.add_argument("--standby", action="store_true", help="import first, then read the run id on stdin")
    parser.add_argument("--log-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.standby == (args.run_id is not None):
        parser.error("give a run id, or --standby (and the run id on stdin)")
    interrupt_on_sigterm()
    store = RunStore(args.db)
    if args.standby:
        from bench.runs.execute import execute_run  # deferred: a standby imports before it has a run

        warm_image_models()

        run_id = _await_run(args.log_dir or store.path.parent / "logs")
        if run_id is None:  # the app ended before handing over a run
            return 0
        with cancel_while_starting(store, run_id):  # a cancel asked before the handover ends it here
            pass
    else:
        run_id = args.run_id
        with cancel_while_starting(store, run_id):
            from bench.runs.execute import execute_run  # deferred: seconds of imports, watched for a cancel

    record = store.run(run_id)
    if record is not None and record.status not in ACTIVE:  # cancelled while starting (or swept): nothing to run
        return 0
    try:
        outcome = execute_run(store, run_id)
    except BenchInputError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0 if outcome.status in (RunStatus.COMPLETED, RunStatus.CANCELLED) else 1


if __name__ == "__main__":
    sys.exit(main())
