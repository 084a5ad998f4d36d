"""What a progress bar shows of a sweep: trials queued, and running and finished per node."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from bench.train.callbacks import Callback


@dataclass(frozen=True)
class NodeProgress:
    node: str  # "address (short node id)"; "local" for the local executor
    running: int
    finished: int


@dataclass(frozen=True)
class SweepProgress:
    """Counts a progress bar can show: trials not started yet, and running and finished per node."""

    total: int
    queued: int  # submitted, not started on any node yet
    nodes: tuple[NodeProgress, ...] = ()
    retried: int = 0  # trials started more than once (their node or worker was lost)

    @property
    def running(self) -> int:
        return sum(n.running for n in self.nodes)

    @property
    def finished(self) -> int:
        return sum(n.finished for n in self.nodes)

    def to_dict(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "queued": self.queued,
            "running": self.running,
            "finished": self.finished,
            "retried": self.retried,
            "nodes": [{"node": n.node, "running": n.running, "finished": n.finished} for n in self.nodes],
        }


class SweepCallback(Callback):
    """A callback that also wants the sweep's per-node counts whenever they change."""

    def on_sweep_progress(self, progress: SweepProgress) -> None: ...


class Tally:
    """Per-trial bookkeeping behind :class:`SweepProgress`: where each trial is, and how often it started."""

    def __init__(self, total: int):
        self.total = total
        self.node: dict[int, str] = {}  # trial index -> node it runs or ran on
        self.done: set[int] = set()
        self.starts: Counter[int] = Counter()
        self.lock = threading.Lock()  # the app may read progress() from another thread

    def start(self, index: int, node: str) -> bool:
        """Record a start; True the first time this trial starts."""
        with self.lock:
            self.node[index] = node
            self.starts[index] += 1
            return self.starts[index] == 1

    def finish(self, index: int, node: str | None) -> None:
        with self.lock:
            if node is not None:
                self.node[index] = node
            self.node.setdefault(index, "(never started)")
            self.done.add(index)

    def snapshot(self) -> SweepProgress:
        running, finished = Counter(), Counter()
        with self.lock:
            for index, node in self.node.items():
                (finished if index in self.done else running)[node] += 1
            queued = self.total - len(self.node)
            retried = sum(1 for n in self.starts.values() if n > 1)
        names = sorted(set(running) | set(finished))
        nodes = tuple(NodeProgress(name, running[name], finished[name]) for name in names)
        return SweepProgress(self.total, queued, nodes, retried)


def notify(callbacks: Iterable[Callback], progress: SweepProgress) -> None:
    for callback in callbacks:
        if isinstance(callback, SweepCallback):
            callback.on_sweep_progress(progress)
