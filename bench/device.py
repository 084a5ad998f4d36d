"""Device selection, clocks, memory and comparability: the only place that knows CUDA, MPS and CPU apart.

Light: torch is imported by the functions that use it, so a record (``TrialConfig``) or the
verdict can import this module without paying for torch.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import platform
import resource
import sys
import time
from collections.abc import Callable, Iterable
from importlib.metadata import version
from typing import TYPE_CHECKING

from bench.errors import ConfigError
from bench.vocabulary import DeviceName, TrialStatus

if TYPE_CHECKING:
    import torch

    from bench.train.result import TrialResult

DEVICES = tuple(DeviceName)


def resolve_device(name: str) -> torch.device:
    """``auto`` picks CUDA, then MPS, then CPU; an explicit device that is absent is an error."""
    import torch

    if name not in DEVICES and not name.startswith("cuda:"):
        raise ConfigError("device", f"expected one of {', '.join(DEVICES)} (or cuda:N)", given=repr(name))
    if name == DeviceName.AUTO:
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name.startswith(DeviceName.CUDA) and not torch.cuda.is_available():
        raise ConfigError("device", "CUDA is not available on this machine; use {device} auto or cpu", given=name)
    if name == DeviceName.MPS and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ConfigError("device", "MPS is not available on this machine; use {device} auto or cpu", given=name)
    return torch.device(name)


def synchronize(device: torch.device) -> None:
    import torch

    if device.type == DeviceName.CUDA:
        torch.cuda.synchronize(device)
    elif device.type == DeviceName.MPS:
        torch.mps.synchronize()


def now(device: torch.device) -> float:
    """A wall clock read after the device has finished its queued work."""
    synchronize(device)
    return time.perf_counter()


def autocast(device: torch.device):
    """bf16 autocast on CUDA (tensor cores); plain fp32 elsewhere.

    On CPU, bf16 autocast trained EfficientNet-Lite0 at 0.58x the fp32 speed even on a CPU with
    AVX512-BF16 (2 cores, 64 px, batch 64), so the runner stays in fp32 there.
    """
    import torch

    if device.type == DeviceName.CUDA:
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def prefers_channels_last(device: torch.device) -> bool:
    """NHWC is faster for convolutions on CUDA tensor cores and on CPU (oneDNN): measured 2-3x for
    EfficientNet-Lite0 training on a 2-core CPU (`python -m bench perf`). MPS gains nothing."""
    return device.type in (DeviceName.CUDA, DeviceName.CPU)


def reset_peak_memory(device: torch.device) -> None:
    import torch

    if device.type == DeviceName.CUDA:
        torch.cuda.reset_peak_memory_stats(device)


def peak_memory_mb(device: torch.device) -> tuple[float, str]:
    """(peak MB, what was measured): CUDA allocator peak, else the process's peak resident set."""
    import torch

    if device.type == DeviceName.CUDA:
        return torch.cuda.max_memory_allocated(device) / 2**20, "cuda_max_allocated"
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports kilobytes, macOS bytes.
    return (peak / 2**20 if sys.platform == "darwin" else peak / 1024), "process_peak_rss"


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):  # not glibc (musl has no malloc_trim)
        return None


def release_freed_host_memory() -> None:
    """Hand the C heap's free pages back to the system (glibc's ``malloc_trim``); a no-op elsewhere.

    Called between phases (after a trial, a throughput probe, a feature extraction), never per step.
    glibc keeps what tensors free in its per-thread arenas; the next phase's allocations did not reuse
    most of it, so peaks added up across trials: on a 50,000-file run a linear probe's trial left
    190 MB of freed activations resident, and the scratch trial after it peaked 190 MB higher than alone
    (``scripts/bench_memory.py``). Trimming costs a few milliseconds; trimming on every free
    (``MALLOC_TRIM_THRESHOLD_=0``) cost 30% of a run's time.
    """
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


def describe(device: torch.device) -> str:
    import torch

    if device.type == DeviceName.CUDA:
        return f"cuda ({torch.cuda.get_device_name(device)})"
    if device.type == DeviceName.MPS:
        return "mps (Apple GPU)"
    return f"cpu ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"


def library_versions() -> dict[str, str]:
    """Versions that decide a trial's numbers, as installed (read from package metadata, nothing imported)."""
    import torch

    names = ("torch", "torchvision", "timm", "numpy", "scikit-learn")
    return {"python": platform.python_version(), **{name: version(name) for name in names},
            "cuda": torch.version.cuda or "none"}  # fmt: skip


def device_kinds(results: Iterable[TrialResult]) -> set[str]:
    """The kinds of device the completed trials ran on, as recorded (``"cuda (NVIDIA H100 ...)"``).

    A kind is the whole description :func:`describe` recorded: the CPU kind keeps its thread count,
    because a budget on 1 thread and on 8 is not the same compute. Trials without a recorded device
    (not started, or stored by an old version) say nothing about it and are left out.

    >>> device_kinds([])
    set()
    """
    return {r.device for r in results if r.status == TrialStatus.COMPLETED and r.device}


def same_device_kind(results: Iterable[TrialResult]) -> bool:
    """True when every completed trial ran on one kind of device, so budgeted arms may be compared.

    >>> same_device_kind([])
    True
    """
    return len(device_kinds(results)) <= 1
