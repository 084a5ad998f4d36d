"""One run per device at a time: a second run waits, queued, behind the one that holds the device.

Two runs on the same device would each measure contention, and equal budgets would stop being
equal compute. A run holds an exclusive ``flock`` on ``<run store folder>/locks/<device>.lock``
for as long as it trains; the lock file names the run that holds it. The kernel releases the
lock when the holder's process ends, however it ends, so a crashed run never blocks the queue.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

POLL_SECONDS = 0.5
# A held lock whose file is empty: its holder is between taking the lock and writing its id, or between
# clearing the id and releasing. Only after this many such polls in a row is it named "another run".
UNNAMED_POLLS = 3
PLAN_HOLDER = "plan"  # the name in the lock while the run form's plan probes the device's throughput


class QueueCancelled(Exception):
    """The run was cancelled while it waited for the device."""


def _lock_path(folder: Path, device_key: str) -> Path:
    return folder / f"{device_key.replace(':', '-')}.lock"


def slot_holder(folder: Path, device_key: str) -> str | None:
    """The run that holds the device now (its id, as the lock file names it), or None when the device is free.

    A glance, not a claim: the answer may change the moment after; a run that then waits says so itself.
    """
    path = _lock_path(folder, device_key)
    if not path.exists():
        return None
    fd = os.open(path, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return path.read_text().strip() or "another run"
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def any_holder(folder: Path) -> str | None:
    """The run holding any device in ``folder`` now (a glance, as :func:`slot_holder`), or None when all are free."""
    for path in sorted(folder.glob("*.lock")) if folder.is_dir() else ():
        holder = slot_holder(folder, path.stem)
        if holder is not None:
            return holder
    return None


@contextmanager
def device_slot(
    folder: Path,
    device_key: str,
    run_id: str,
    on_wait: Callable[[str], None] = lambda holder: None,
    should_stop: Callable[[], bool] = lambda: False,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[None]:
    """Hold the device for the body of the ``with``; while another run holds it, call ``on_wait(holder)``."""
    folder.mkdir(parents=True, exist_ok=True)
    path = _lock_path(folder, device_key)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        last_holder, unnamed = None, 0
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                named = path.read_text().strip()
                unnamed = 0 if named else unnamed + 1
                holder = named or ("another run" if unnamed >= UNNAMED_POLLS else None)
                if holder is not None and holder != last_holder:
                    on_wait(holder)
                    last_holder = holder
                if should_stop():
                    raise QueueCancelled from None
                sleep(POLL_SECONDS)
        os.ftruncate(fd, 0)
        os.pwrite(fd, run_id.encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
