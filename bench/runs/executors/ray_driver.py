"""The driver's side of a Ray sweep: one Ray task per trial, results streamed back to this process."""

from __future__ import annotations

import logging
import math
import os
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import torch

from bench.data.text_catalog import is_text_dataset
from bench.errors import BenchInputError, ConfigError
from bench.models.backbones import create_model, get_backbone
from bench.paths import cache_dir
from bench.runs.executors.progress import SweepProgress, Tally, notify
from bench.runs.executors.ray_task import board_class, trial_task
from bench.runs.executors.settings import check_settings, import_ray
from bench.train.arms import get_arm
from bench.train.cache import TrialCache
from bench.train.callbacks import Callback, TrialState
from bench.train.config import TrialConfig, validate_trial_config
from bench.train.result import EpochRecord, TrialResult
from bench.vocabulary import DeviceName, TaskEvent, TrialStatus

POLL_SECONDS = 0.5  # how often the driver collects results, progress and the cancel flag
CANCEL_WAIT_SECONDS = 10.0  # how long to wait for force-cancelled tasks to report back


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

    Used as ``RayExecutor(cpus_per_trial=1).run(configs, on_result=store_it)`` (a sweep starts a cluster,
    so tests/bench/test_executors.py runs it rather than a docstring example).
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
        self._tally = Tally(0)

    def validate(self) -> None:
        """Raise ConfigError naming the setting, what is accepted and what was given."""
        check_settings(self, ("cpus_per_trial", "gpus_per_trial", "max_retries", "num_cpus"))
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
        ray = import_ray()
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
        self._tally = Tally(len(configs))
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
        return (
            1.0
            if has_gpus and any(c.device == DeviceName.AUTO or c.device.startswith(DeviceName.CUDA) for c in configs)
            else 0.0
        )


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


def _data_key(config: TrialConfig) -> tuple:
    """What a trial asks its cache for: the dataset, its decoded size and limit, and a text dataset's columns."""
    return config.dataset, config.image_size, config.train_limit, config.text_column, config.label_column


def _image_backbone(config: TrialConfig) -> str | None:
    """The pretrained image backbone a trial copies (None: a scratch arm, or text: its task loads the encoder)."""
    return config.backbone if get_arm(config.arm).pretrained and not is_text_dataset(config.dataset) else None


def _stage(ray, configs: list[TrialConfig], cache: TrialCache) -> dict[str, dict]:
    """Load each dataset and pretrained backbone once in the driver and put it in the object store."""
    datasets = {_data_key(c) for c in configs}
    backbones = {name for name in map(_image_backbone, configs) if name is not None}
    return {
        "data": {key: ray.put(cache.dataset(*key[:3], text_columns=key[3:])) for key in sorted(datasets, key=str)},
        "models": {
            name: ray.put(create_model(get_backbone(name), None, pretrained=True)) for name in sorted(backbones)
        },
    }


class _RaySweep:
    """The driver's side of one Ray sweep: submit, poll, replay events to callbacks, cancel, collect."""

    def __init__(self, ray, executor: RayExecutor, callbacks: list[Callback], on_result, tally: Tally):
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
        self.board = ray.remote(board_class()).options(num_cpus=0, scheduling_strategy=pin).remote()
        task = ray.remote(trial_task)
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
                staged["data"][_data_key(c)],
                staged["models"].get(_image_backbone(c) or ""),
                self.board,
                int(item.resources["CPU"]),
                str(cache_root) if cache_root else None,
            )
            self.pending[ref] = item
        notify(self.callbacks, self.tally.snapshot())

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
            if kind == TaskEvent.START:
                node, device = payload
                self.devices[index] = device
                if index in self.results:
                    continue
                changed = True
                if self.tally.start(index, node) and index in configs:
                    for cb in self.callbacks:
                        cb.on_trial_start(TrialState(configs[index], "data"))
            elif index in configs and kind == TaskEvent.PROGRESS:
                for cb in self.callbacks:
                    cb.on_progress(TrialState(configs[index], **payload[0]))
            elif index in configs and kind == TaskEvent.EPOCH:
                for cb in self.callbacks:
                    cb.on_epoch_end(TrialState(configs[index], **payload[0]), EpochRecord(**payload[1]))
        if changed:
            notify(self.callbacks, self.tally.snapshot())

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
        notify(self.callbacks, self.tally.snapshot())

    def _failed(self, item: _Submitted, reason: str) -> TrialResult:
        return TrialResult(
            item.config, status=TrialStatus.FAILED, device=self.devices.get(item.index, ""), error=reason
        )

    def _cancelled(self, item: _Submitted) -> TrialResult:
        started = item.index in self.tally.node
        error = "cancelled by the user" if started else "cancelled by the user before it started"
        return TrialResult(
            item.config, status=TrialStatus.CANCELLED, device=self.devices.get(item.index, ""), error=error
        )

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
    ray = import_ray()
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


def cluster_resources(address: str | None = None) -> dict[str, Any]:
    """What a Ray sweep would run on: nodes alive, CPUs and GPUs; ``{}`` when Ray is not installed.

    Connected already: that cluster. ``address`` given: connects briefly to read it. Neither: this
    machine, as the local cluster a run would start (no cluster is started just to look).
    """
    try:
        ray = import_ray()
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
