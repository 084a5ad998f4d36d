"""Real fine-tune vs scratch trials on real data: datasets, backbones, arms, the trial runner.

The names below load on first use (PEP 562), so ``import bench.data`` or the command line's
checks do not pay for importing torch.

>>> from bench import TrialConfig
>>> TrialConfig("digits", "linear_probe").budget_seconds
20.0
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "ARMS": "bench.train.arms",
    "BACKBONES": "bench.models.backbones",
    "DATASETS": "bench.data.catalog",
    "load_dataset": "bench.data.datasets",
    "BenchInputError": "bench.errors",
    "SuiteConfig": "bench.train.suite",
    "run_suite": "bench.train.suite",
    "Callback": "bench.train.callbacks",
    "TrialConfig": "bench.train.config",
    "TrialResult": "bench.train.result",
    "run_trial": "bench.train.trial",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'bench' has no attribute {name!r}")
