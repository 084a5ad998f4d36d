"""The task side of a Ray sweep, run inside a Ray worker: one trial, and the board it reports to."""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

import torch
from torch import nn

from bench.data.image_data import ImageData
from bench.data.text_data import TextData
from bench.device import describe, resolve_device
from bench.models.backbones import get_backbone
from bench.train.cache import TrialCache
from bench.train.callbacks import Callback, TrialState
from bench.train.config import TrialConfig
from bench.train.result import EpochRecord, TrialResult
from bench.train.trial import run_trial
from bench.vocabulary import DeviceName, TaskEvent

PROGRESS_EVERY_SECONDS = 0.5  # a task sends at most this often to the board


def board_class() -> type:
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
        self.board.post.remote((TaskEvent.START.value, self.index, self.node, self.device))

    def on_progress(self, state: TrialState) -> None:
        if time.monotonic() - self.last >= PROGRESS_EVERY_SECONDS:
            self.last = time.monotonic()
            self.board.post.remote((TaskEvent.PROGRESS.value, self.index, _plain(state)))

    def on_epoch_end(self, state: TrialState, record: EpochRecord) -> None:
        self.board.post.remote((TaskEvent.EPOCH.value, self.index, _plain(state), asdict(record)))


def trial_task(
    index: int,
    config: TrialConfig,
    data: ImageData | TextData,
    model: nn.Module | None,
    board,
    cpus: int,
    cache_root: str | None,
) -> tuple[TrialResult, str]:
    """One trial in a Ray worker: exactly ``cpus`` torch threads, the GPU Ray assigned or the CPU.

    ``data`` (and ``model``, for a pretrained arm) are the driver's copies from the object store; the
    trial's cache is seeded with them, so the dataset's path is never read here.
    """
    import ray

    torch.set_num_threads(cpus)
    run_config = config
    if config.device == DeviceName.AUTO and not ray.get_gpu_ids():
        # No GPU was assigned to this task: "auto" must not pick one another task owns.
        run_config = replace(config, device="cpu")
    node = f"{ray.util.get_node_ip_address()} ({ray.get_runtime_context().get_node_id()[:8]})"
    reporter = _BoardReporter(board, index, node, describe(resolve_device(run_config.device)))
    with warnings.catch_warnings():
        # Arrays from the object store are read-only; the runner only reads them.
        warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
        result = run_trial(run_config, [reporter], _seeded_cache(cache_root, config, data, model))
    return replace(result, config=config), node


def _seeded_cache(
    root: str | None, config: TrialConfig, data: ImageData | TextData, model: nn.Module | None
) -> TrialCache:
    """A TrialCache holding what the driver put in the object store, under the keys the trial asks for."""
    cache = TrialCache(None if root is None else Path(root))
    cache.seed_dataset(data, config.dataset, config.image_size, config.train_limit,
                       text_columns=(config.text_column, config.label_column))  # fmt: skip
    if model is not None:
        cache.seed_pretrained(get_backbone(config.backbone), model)
    return cache
