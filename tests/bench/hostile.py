"""Hostile inputs the attack tests write (tests/bench/test_cli.py) and scripts/attack_pass.py reruns."""

from __future__ import annotations

import os
from pathlib import Path


def stored_trial(**changes) -> dict:
    """A trial as the program stores it (a completed digits scratch trial), with ``changes`` over it."""
    from bench.train.config import TrialConfig  # deferred: torch-free callers build the folder only
    from bench.train.result import TrialResult  # deferred: as above

    return {**TrialResult(TrialConfig("digits", "scratch"), "completed", test_accuracy=0.5).to_dict(), **changes}


def write_results(folder: Path, text: str | None = None, link: str | None = None, fifo: bool = False) -> Path:
    """A results folder whose results.json is ``text``, a symlink to ``link``, or a FIFO."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "results.json"
    if link:
        path.symlink_to(link)
    elif fifo:
        os.mkfifo(path)
    else:
        path.write_text(text)
    return folder
