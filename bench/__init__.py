"""Real fine-tune vs scratch trials on real data: datasets, backbones, arms, the trial runner.

>>> from bench import TrialConfig
>>> TrialConfig("digits", "linear_probe").budget_seconds
20.0
"""

from bench.data.catalog import DATASETS
from bench.data.datasets import load_dataset
from bench.errors import BenchInputError
from bench.models.backbones import BACKBONES
from bench.train.arms import ARMS
from bench.train.suite import SuiteConfig, run_suite
from bench.train.trial import Callback, TrialConfig, TrialResult, run_trial

__all__ = [
    "ARMS",
    "BACKBONES",
    "DATASETS",
    "BenchInputError",
    "Callback",
    "SuiteConfig",
    "TrialConfig",
    "TrialResult",
    "load_dataset",
    "run_suite",
    "run_trial",
]
