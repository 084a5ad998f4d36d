"""Where a sweep's trials run: one after the other in this process, or fanned out over a Ray cluster.

``make_executor("local" | "ray", address)`` returns an object with one method,
``run(configs, callbacks, on_result, cache) -> list[TrialResult]``, that both doors call the same way.

Why Ray *tasks* and not Ray Tune: the trials of a curve or a grid are independent (no search,
no early termination between trials), and we already own the parts Tune would bring: the budget
clock (``run_trial`` plans its own schedule), the result store (the driver is its only writer) and
progress/cancel (our callbacks). Tune would add its own trial runner, checkpointing and result
logging that we would only work around. One task per trial, ``ray.wait`` to stream results back,
``ray.cancel`` to stop them, Ray's ``max_retries`` to re-run the ones a lost node took with it.

Rules the Ray executor keeps:

* **Fair budgets.** A budgeted trial (``budget_seconds`` set) never shares a device: it asks Ray for
  whole GPUs, or for ``cpus_per_trial`` cores and runs torch on exactly that many threads. An
  until-converged trial may share a GPU (``gpus_per_trial=0.5``): only its accuracy is compared.
* **Data once.** Each dataset is loaded in the driver and ``ray.put`` once, and so is each pretrained
  backbone; tasks seed their own :class:`TrialCache` from the object store. Linear-probe features
  stay cached on disk by fingerprint (``FOS_CACHE_DIR``: shared by the tasks of one machine).
* **One writer.** Results come back to the driver as they finish; each is handed to ``on_result``
  at once (the caller stores it), so a lost node loses only its running trials, which Ray re-runs.
* **Trial start, progress, per-node counts.** A tiny actor (the board, no CPU, on the driver's node)
  receives "started on node X" and throttled progress from the tasks; the driver polls it every
  ``POLL_SECONDS`` and replays the events to the callbacks, so a progress bar or the run store
  sees the same hooks as with the local executor.
"""

from __future__ import annotations

import logging
import math
import os
import socket
import threading
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

import torch
from torch import nn

from advisor.constraints import Constraint, FieldError, Interval, Options, check_field, check_fields
from bench.data.image_data import ImageData
from bench.device import describe, resolve_device
from bench.errors import BenchInputError, ConfigError
from bench.models.backbones import create_model, get_backbone
from bench.paths import cache_dir
from bench.train.arms import get_arm
from bench.train.cache import TrialCache
from bench.train.callbacks import Callback, TrialState
from bench.train.config import TrialConfig, validate_trial_config
from bench.train.result import EpochRecord, TrialResult
from bench.train.suite import run_trials
from bench.train.trial import run_trial

EXECUTORS = ("local", "ray")
POLL_SECONDS = 0.5  # how often the driver collects results, progress and the cancel flag
CANCEL_WAIT_SECONDS = 10.0  # how long to wait for force-cancelled tasks to report back
PROGRESS_EVERY_SECONDS = 0.5  # a task sends at most this often to the board
MISSING_RAY = (
    "--executor ray: Ray is not installed; pip install 'finetune-or-scratch[ray]' "
    "(or pip install ray==2.60.0), or use --executor local"
)

# One declarative table for the executor's settings; the front ends word the field (a flag, a widget).
EXECUTOR_CONSTRAINTS: dict[str, Constraint] = {
    "executor": Options(EXECUTORS),
    "cpus_per_trial": Interval(int, 1, 1024),
    "gpus_per_trial": Interval(float, 0, 64, none="auto: 1 when the cluster has GPUs, else 0"),
    "max_retries": Interval(int, 0, 20),
    "num_cpus": Interval(int, 1, 4096, none="all of this machine's cores"),
}


# ---- progress ---------------------------------------------------------------------------------


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


class _Tally:
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


def _notify(callbacks: Iterable[Callback], progress: SweepProgress) -> None:
    for callback in callbacks:
        if isinstance(callback, SweepCallback):
            callback.on_sweep_progress(progress)


# ---- fairness across machines ----------------------------------------------------------------


def device_kinds(results: Iterable[TrialResult]) -> set[str]:
    """The kinds of device the completed trials ran on, as recorded (``"cuda (NVIDIA H100 ...)"``).

    The CPU kind includes its thread count: a budget on 1 thread and on 8 is not the same compute.

    >>> device_kinds([])
    set()
    """
    return {r.device for r in results if r.status == "completed" and r.device}


def same_device_kind(results: Iterable[TrialResult]) -> bool:
    """True when every completed trial ran on one kind of device, so budgeted arms may be compared.

    >>> same_device_kind([])
    True
    """
    return len(device_kinds(results)) <= 1


# ---- the local executor ----------------------------------------------------------------------


class LocalExecutor:
    """Today's behaviour: the trials one after the other in this process; stops after a cancel.

    >>> LocalExecutor().run([TrialConfig("digits", "linear_probe", examples=100)])  # doctest: +SKIP
    """

    name = "local"

    def __init__(self) -> None:
        self._tally = _Tally(0)

    def progress(self) -> SweepProgress:
        return self._tally.snapshot()

    def run(
        self,
        configs: Sequence[TrialConfig],
        callbacks: Sequence[Callback] | None = None,
        on_result: Callable[[TrialResult], None] = lambda result: None,
        cache: TrialCache | None = None,
    ) -> list[TrialResult]:
        self._tally = _Tally(len(configs))
        callbacks = list(callbacks or [])
        tracker = _LocalTracker(self._tally, callbacks)
        return run_trials(list(configs), [tracker, *callbacks], on_result, cache or TrialCache())


class _LocalTracker(Callback):
    """Counts trials as ``run_trials`` starts and ends them, for ``progress()`` and SweepCallbacks."""

    def __init__(self, tally: _Tally, callbacks: list[Callback]):
        self.tally, self.callbacks, self.index = tally, callbacks, -1

    def on_trial_start(self, state: TrialState) -> None:
        self.index += 1
        self.tally.start(self.index, "local")
        _notify(self.callbacks, self.tally.snapshot())

    def on_trial_end(self, result: TrialResult) -> None:
        self.tally.finish(self.index, "local")
        _notify(self.callbacks, self.tally.snapshot())


# ---- the Ray executor ------------------------------------------------------------------------


def _import_ray():
    """Ray is an optional extra: imported only on the Ray path, with an install hint when absent."""
    try:
        import ray
    except ImportError:
        raise BenchInputError(MISSING_RAY) from None
    return ray


@dataclass(frozen=True)
class _Submitted:
    index: int
    config: TrialConfig
    resources: dict[str, float]


class RayExecutor:
    """One Ray task per trial; results stream back to this process, which is the only writer.

    ``address``: a running cluster (``"ray://head:10001"``, ``"head:6379"`` or ``"auto"``); None starts a
    local cluster for the run (``num_cpus`` cores, default all) and shuts it down afterwards. An
    already connected Ray session (``ray.is_initialized()``) is used as it is and left running.
    ``gpus_per_trial=None`` asks for 1 GPU per trial when the cluster has GPUs, else none.

    >>> RayExecutor(cpus_per_trial=1).run(configs, on_result=store_it)  # doctest: +SKIP
    """

    name = "ray"

    def __init__(
        self,
        address: str | None = None,
        cpus_per_trial: int = 1,
        gpus_per_trial: float | None = None,
        max_retries: int = 2,
        num_cpus: int | None = None,
    ):
        self.address = address
        self.cpus_per_trial = cpus_per_trial
        self.gpus_per_trial = gpus_per_trial
        self.max_retries = max_retries
        self.num_cpus = num_cpus
        self._tally = _Tally(0)

    def validate(self) -> None:
        """Raise ConfigError naming the setting, what is accepted and what was given."""
        _check(self, ("cpus_per_trial", "gpus_per_trial", "max_retries", "num_cpus"))
        gpus = self.gpus_per_trial
        if gpus is not None and gpus > 1 and gpus != int(gpus):
            raise ConfigError("gpus_per_trial", f"expected a fraction up to 1 or a whole number; got {gpus:g}")

    def progress(self) -> SweepProgress:
        """Trials queued, and running and finished per node (safe to call from another thread)."""
        return self._tally.snapshot()

    def resources(self, config: TrialConfig, gpus_per_trial: float) -> dict[str, float]:
        """What one trial asks Ray for: budgeted trials get whole GPUs (or fixed cores), never a share."""
        gpus = gpus_per_trial
        if gpus > 0 and config.budget_seconds is not None:
            gpus = max(1, math.ceil(gpus))
        return {"CPU": self.cpus_per_trial, "GPU": gpus}

    def run(
        self,
        configs: Sequence[TrialConfig],
        callbacks: Sequence[Callback] | None = None,
        on_result: Callable[[TrialResult], None] = lambda result: None,
        cache: TrialCache | None = None,
    ) -> list[TrialResult]:
        """Run every trial as a Ray task; ``on_result`` gets each result as it lands (completion order).

        Returns the results in the order of ``configs``. A callback's ``should_stop`` cancels the
        queued and running tasks; they come back as ``status="cancelled"``. ``on_result`` sees every
        returned result exactly once.
        """
        self.validate()
        for config in configs:
            # CUDA is checked against the cluster (_gpus), not against this driver machine.
            validate_trial_config(replace(config, device="auto") if config.device.startswith("cuda") else config)
        ray = _import_ray()
        started_here = self._connect(ray)
        try:
            return self._sweep(ray, list(configs), list(callbacks or []), on_result, cache or TrialCache())
        finally:
            if started_here:
                ray.shutdown()

    def _connect(self, ray) -> bool:
        """Connect (or start a local cluster); True when this call did, so the run ends it."""
        if ray.is_initialized():
            return False
        quiet = {"include_dashboard": False, "log_to_driver": False, "logging_level": logging.WARNING}
        if self.address:
            _check_reachable(self.address)
        try:
            if self.address:
                ray.init(address=self.address, **quiet)
            else:
                ray.init(address="local", num_cpus=self.num_cpus or os.cpu_count() or 1, **quiet)
        except (ConnectionError, RuntimeError, ValueError) as error:
            where = f"--address {self.address}" if self.address else "--executor ray"
            raise BenchInputError(f"{where}: could not start or reach a Ray cluster ({error})") from None
        return True

    def _sweep(self, ray, configs, callbacks, on_result, cache: TrialCache) -> list[TrialResult]:
        gpus = self._gpus(ray, configs)
        submitted = [_Submitted(i, c, self.resources(c, gpus)) for i, c in enumerate(configs)]
        _check_feasible(ray, submitted)
        self._tally = _Tally(len(configs))
        sweep = _RaySweep(ray, self, callbacks, on_result, self._tally)
        root = cache.root or (cache_dir() if self.address is None else None)
        try:
            sweep.submit(submitted, _stage(ray, configs, cache), root)
            return sweep.collect()
        finally:
            sweep.stop()  # Ctrl-C or a failing callback: nothing keeps running on the cluster

    def _gpus(self, ray, configs: list[TrialConfig]) -> float:
        if self.gpus_per_trial is not None:
            wants_cuda = [c.device for c in configs if c.device.startswith("cuda")]
            if wants_cuda and self.gpus_per_trial == 0:
                raise ConfigError("gpus_per_trial", f"trials ask for --device {wants_cuda[0]}; expected > 0; got 0")
            return float(self.gpus_per_trial)
        has_gpus = ray.cluster_resources().get("GPU", 0) > 0
        wants_cuda = [c.device for c in configs if c.device.startswith("cuda")]
        if wants_cuda and not has_gpus:
            raise BenchInputError(f"--device {wants_cuda[0]}: the Ray cluster has no GPUs; use --device auto or cpu")
        return 1.0 if has_gpus and any(c.device == "auto" or c.device.startswith("cuda") for c in configs) else 0.0


def _check_reachable(address: str, timeout: float = 5.0) -> None:
    """Fail fast on a ``host:port`` nobody listens on: ``ray.init`` itself retries for minutes."""
    host, _, port = address.rpartition(":")
    if address == "auto" or "://" in address or not host or not port.isdigit():
        return
    try:
        socket.create_connection((host, int(port)), timeout=timeout).close()
    except OSError as error:
        raise BenchInputError(
            f"--address {address}: no Ray cluster answers there ({error}); start one with `ray start --head` "
            "and pass the address it prints, or leave --address out for a local cluster"
        ) from None


def _check(values: Any, fields: Sequence[str]) -> None:
    try:
        check_fields(values, {name: EXECUTOR_CONSTRAINTS[name] for name in fields})
    except FieldError as error:
        raise ConfigError(error.field, error.detail) from None


def _check_feasible(ray, submitted: list[_Submitted]) -> None:
    """Refuse a sweep no node can run, instead of waiting forever for resources that never come."""
    nodes = [n["Resources"] for n in ray.nodes() if n.get("Alive")]
    for kind, name in (("CPU", "cpus_per_trial"), ("GPU", "gpus_per_trial")):
        needed = max((s.resources[kind] for s in submitted), default=0)
        largest = max((n.get(kind, 0) for n in nodes), default=0)
        if needed > largest:
            raise ConfigError(
                name, f"expected at most {largest:g}, the most {kind}s one node of the cluster has; got {needed:g}"
            )


def _stage(ray, configs: list[TrialConfig], cache: TrialCache) -> dict[str, dict]:
    """Load each dataset and pretrained backbone once in the driver and put it in the object store."""
    datasets = {(c.dataset, c.image_size) for c in configs}
    backbones = {c.backbone for c in configs if get_arm(c.arm).pretrained}
    return {
        "data": {key: ray.put(cache.dataset(*key)) for key in sorted(datasets)},
        "models": {
            name: ray.put(create_model(get_backbone(name), None, pretrained=True)) for name in sorted(backbones)
        },
    }


class _RaySweep:
    """The driver's side of one Ray sweep: submit, poll, replay events to callbacks, cancel, collect."""

    def __init__(self, ray, executor: RayExecutor, callbacks: list[Callback], on_result, tally: _Tally):
        self.ray, self.executor, self.callbacks, self.on_result, self.tally = ray, executor, callbacks, on_result, tally
        self.pending: dict[Any, _Submitted] = {}  # ObjectRef -> trial
        self.results: dict[int, TrialResult] = {}
        self.devices: dict[int, str] = {}  # trial index -> device it reported at start
        self.board = None
        self.drain_ref = None  # the board's answer still on its way: polled, never waited for

    def submit(self, submitted: list[_Submitted], staged: dict[str, dict], cache_root) -> None:
        ray = self.ray
        here = ray.get_runtime_context().get_node_id()
        pin = ray.util.scheduling_strategies.NodeAffinitySchedulingStrategy(here, soft=True)
        self.board = ray.remote(_board_class()).options(num_cpus=0, scheduling_strategy=pin).remote()
        task = ray.remote(_trial_task)
        for item in submitted:
            c = item.config
            ref = task.options(
                num_cpus=item.resources["CPU"],
                num_gpus=item.resources["GPU"],
                max_retries=self.executor.max_retries,
                retry_exceptions=False,  # a trial's own errors are a failed result already; retry only lost workers
                name=f"trial {item.index}: {c.arm} seed {c.seed} n={c.examples or 'all'}",
            ).remote(
                item.index,
                c,
                staged["data"][(c.dataset, c.image_size)],
                staged["models"].get(c.backbone) if get_arm(c.arm).pretrained else None,
                self.board,
                int(item.resources["CPU"]),
                str(cache_root) if cache_root else None,
            )
            self.pending[ref] = item
        _notify(self.callbacks, self.tally.snapshot())

    def collect(self) -> list[TrialResult]:
        while self.pending:
            ready, _ = self.ray.wait(list(self.pending), num_returns=len(self.pending), timeout=POLL_SECONDS)
            self._drain_board()
            for ref in ready:
                self._finish(self.pending.pop(ref), ref)
            if self.pending and any(cb.should_stop() for cb in self.callbacks):
                self._cancel()
        return [self.results[i] for i in sorted(self.results)]

    def stop(self) -> None:
        """Force-cancel whatever is still pending (after an error or Ctrl-C in the driver)."""
        for ref in self.pending:
            self.ray.cancel(ref, force=True)
        if self.board is not None:
            self.ray.kill(self.board)

    def _drain_board(self, wait: float = 0.0) -> None:
        """Replay the events the board has collected; never blocks the poll loop on a slow board."""
        if self.board is None:
            return
        if self.drain_ref is None:
            self.drain_ref = self.board.drain.remote()
        ready, _ = self.ray.wait([self.drain_ref], timeout=wait)
        if not ready:
            return  # the board is still starting or busy: next poll
        try:
            events = self.ray.get(self.drain_ref)
        except self.ray.exceptions.RayError:  # a convenience only: trials still finish and are stored without it
            self.board = self.drain_ref = None
            return
        self.drain_ref = self.board.drain.remote()
        configs = {item.index: item.config for item in self.pending.values()}
        changed = False
        for kind, index, *payload in events:
            if kind == "start":
                node, device = payload
                self.devices[index] = device
                if index in self.results:
                    continue
                changed = True
                if self.tally.start(index, node) and index in configs:
                    for cb in self.callbacks:
                        cb.on_trial_start(TrialState(configs[index], "data"))
            elif index in configs and kind == "progress":
                for cb in self.callbacks:
                    cb.on_progress(TrialState(configs[index], **payload[0]))
            elif index in configs and kind == "epoch":
                for cb in self.callbacks:
                    cb.on_epoch_end(TrialState(configs[index], **payload[0]), EpochRecord(**payload[1]))
        if changed:
            _notify(self.callbacks, self.tally.snapshot())

    def _finish(self, item: _Submitted, ref) -> None:
        node = None
        try:
            result, node = self.ray.get(ref)
        except self.ray.exceptions.TaskCancelledError:
            result = self._cancelled(item)
        except self.ray.exceptions.RayTaskError as error:  # raised outside run_trial's guard: not retried
            cause = getattr(error, "cause", None) or error
            result = self._failed(item, f"{cause.__class__.__name__}: {_first_line(cause)}")
        except self.ray.exceptions.RayError as error:  # system failures, after Ray's retries
            result = self._failed(item, _lost_reason(error, self.executor.max_retries))
        self._record(item, result, node)

    def _record(self, item: _Submitted, result: TrialResult, node: str | None) -> None:
        started = item.index in self.tally.node
        if not started and node is not None:  # the start event is still on its way: announce it now
            self.tally.start(item.index, node)
            for cb in self.callbacks:
                cb.on_trial_start(TrialState(item.config, "data"))
            started = True
        self.results[item.index] = result
        self.tally.finish(item.index, node)
        self.on_result(result)
        if started:
            for cb in self.callbacks:
                cb.on_trial_end(result)
        _notify(self.callbacks, self.tally.snapshot())

    def _failed(self, item: _Submitted, reason: str) -> TrialResult:
        return TrialResult(item.config, status="failed", device=self.devices.get(item.index, ""), error=reason)

    def _cancelled(self, item: _Submitted) -> TrialResult:
        started = item.index in self.tally.node
        error = "cancelled by the user" if started else "cancelled by the user before it started"
        return TrialResult(item.config, status="cancelled", device=self.devices.get(item.index, ""), error=error)

    def _cancel(self) -> None:
        """Stop queued and running tasks; trials that finished meanwhile keep their real result."""
        for ref in self.pending:
            self.ray.cancel(ref, force=True)
        ready, _ = self.ray.wait(list(self.pending), num_returns=len(self.pending), timeout=CANCEL_WAIT_SECONDS)
        self._drain_board(wait=POLL_SECONDS)
        for ref in ready:
            item = self.pending.pop(ref)
            try:
                result, node = self.ray.get(ref)
                self._record(item, result, node)
            except self.ray.exceptions.RayError:  # cancelled, or its worker was killed by the cancel
                self._record(item, self._cancelled(item), None)
        for item in list(self.pending.values()):  # not confirmed in time: recorded as cancelled anyway
            self._record(item, self._cancelled(item), None)
        self.pending.clear()


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else error.__class__.__name__


def _lost_reason(error: Exception, max_retries: int) -> str:
    """Why a task failed after Ray's retries, in words: a lost node, a dead worker, or Ray's own message."""
    ray = _import_ray()
    attempts = max_retries + 1
    times = f"{attempts} time{'s' if attempts > 1 else ''}"
    text = str(error).lower()
    if isinstance(error, ray.exceptions.NodeDiedError) or ("node" in text and ("died" in text or "dead" in text)):
        return f"lost its node {times} (max_retries={max_retries})"
    if isinstance(error, ray.exceptions.OutOfMemoryError):
        return f"killed for memory {times} (max_retries={max_retries}): {_first_line(error)}"
    if isinstance(error, ray.exceptions.WorkerCrashedError):
        return f"its worker process died {times} (max_retries={max_retries}): {_first_line(error)}"
    return f"{error.__class__.__name__}: {_first_line(error)}"


# ---- the task side (runs in a Ray worker) ----------------------------------------------------


class _SeededCache(TrialCache):
    """A TrialCache pre-filled with what the driver put in the object store (data and weights)."""

    def __init__(self, root: str | None, config: TrialConfig, data: ImageData, model: nn.Module | None):
        super().__init__(None if root is None else Path(root))
        self._datasets[(config.dataset, config.image_size)] = data
        if model is not None:
            self._models[get_backbone(config.backbone).name] = model


def _board_class() -> type:
    """The board actor's class, built in a function so Ray ships it by value: its worker imports Ray only,
    not this module's torch, and is up in a fraction of a second while the trial workers are starting."""

    class Board:
        """A no-CPU actor on the driver's node: tasks post start and progress events, the driver drains them."""

        def __init__(self) -> None:
            self.events: list[tuple] = []

        def post(self, event: tuple) -> None:
            self.events.append(event)

        def drain(self) -> list[tuple]:
            events, self.events = self.events, []
            return events

    return Board


def _plain(state: TrialState) -> dict[str, Any]:
    # Events carry builtins only: the board must not import torch to unpickle a TrialState.
    return {f.name: getattr(state, f.name) for f in fields(state) if f.name != "config"}


@dataclass
class _BoardReporter(Callback):
    """Inside a task: forwards the trial's start, throttled progress and epoch ends to the board."""

    board: Any
    index: int
    node: str
    device: str
    last: float = -math.inf

    def on_trial_start(self, state: TrialState) -> None:
        self.board.post.remote(("start", self.index, self.node, self.device))

    def on_progress(self, state: TrialState) -> None:
        if time.monotonic() - self.last >= PROGRESS_EVERY_SECONDS:
            self.last = time.monotonic()
            self.board.post.remote(("progress", self.index, _plain(state)))

    def on_epoch_end(self, state: TrialState, record: EpochRecord) -> None:
        self.board.post.remote(("epoch", self.index, _plain(state), asdict(record)))


def _trial_task(
    index: int,
    config: TrialConfig,
    data: ImageData,
    model: nn.Module | None,
    board,
    cpus: int,
    cache_root: str | None,
) -> tuple[TrialResult, str]:
    """One trial in a Ray worker: exactly ``cpus`` torch threads, the GPU Ray assigned or the CPU."""
    import ray

    torch.set_num_threads(cpus)
    run_config = config
    if config.device == "auto" and not ray.get_gpu_ids():
        # No GPU was assigned to this task: "auto" must not pick one another task owns.
        run_config = replace(config, device="cpu")
    node = f"{ray.util.get_node_ip_address()} ({ray.get_runtime_context().get_node_id()[:8]})"
    reporter = _BoardReporter(board, index, node, describe(resolve_device(run_config.device)))
    with warnings.catch_warnings():
        # Arrays from the object store are read-only; the runner only reads them.
        warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
        result = run_trial(run_config, [reporter], _SeededCache(cache_root, config, data, model))
    return replace(result, config=config), node


# ---- choosing an executor, and what the cluster has -----------------------------------------


def make_executor(
    name: str,
    address: str | None = None,
    *,
    cpus_per_trial: int = 1,
    gpus_per_trial: float | None = None,
    max_retries: int = 2,
    num_cpus: int | None = None,
) -> LocalExecutor | RayExecutor:
    """The executor a sweep runs on; checks its settings (and that Ray is installed) before any work.

    >>> make_executor("local").name
    'local'
    """
    _check_field("executor", name)
    if name == "local":
        if address:
            raise ConfigError("address", f"only used with --executor ray; got {address!r}")
        return LocalExecutor()
    executor = RayExecutor(address, cpus_per_trial, gpus_per_trial, max_retries, num_cpus)
    executor.validate()
    _import_ray()
    return executor


def _check_field(name: str, value: Any) -> None:
    try:
        check_field(name, value, EXECUTOR_CONSTRAINTS[name])
    except FieldError as error:
        raise ConfigError(error.field, error.detail) from None


def ray_available() -> bool:
    """Whether the Ray executor can be offered (the app shows the choice only then)."""
    try:
        _import_ray()
    except BenchInputError:
        return False
    return True


def cluster_resources(address: str | None = None) -> dict[str, Any]:
    """What a Ray sweep would run on: nodes alive, CPUs and GPUs; ``{}`` when Ray is not installed.

    Connected already: that cluster. ``address`` given: connects briefly to read it. Neither: this
    machine, as the local cluster a run would start (no cluster is started just to look).
    """
    try:
        ray = _import_ray()
    except BenchInputError:
        return {}
    if ray.is_initialized():
        return _describe_cluster(ray, "connected")
    if address:
        RayExecutor(address)._connect(ray)
        try:
            return _describe_cluster(ray, address)
        finally:
            ray.shutdown()
    gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
    cpus = os.cpu_count() or 1
    return {"cluster": "local (started for each run)", "nodes": 1, "CPUs": cpus, "GPUs": gpus,
            "per_node": [{"node": "this machine", "CPUs": cpus, "GPUs": gpus}]}  # fmt: skip


def _describe_cluster(ray, where: str) -> dict[str, Any]:
    alive = [n for n in ray.nodes() if n.get("Alive")]
    per_node = [
        {
            "node": f"{n['NodeManagerAddress']} ({n['NodeID'][:8]})",
            "CPUs": n["Resources"].get("CPU", 0),
            "GPUs": n["Resources"].get("GPU", 0),
        }
        for n in alive
    ]
    return {
        "cluster": where,
        "nodes": len(alive),
        "CPUs": sum(n["CPUs"] for n in per_node),
        "GPUs": sum(n["GPUs"] for n in per_node),
        "per_node": per_node,
    }
