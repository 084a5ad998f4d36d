"""The executors' names and settings, declared once; whether Ray is installed. Light: no torch."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from advisor.constraints import Constraint, FieldError, Interval, Options, check_field, check_fields
from bench.errors import BenchInputError, ConfigError

EXECUTORS = ("local", "ray")
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


def check_setting(name: str, value: Any) -> None:
    """Raise ConfigError naming the setting, what is accepted and what was given."""
    try:
        check_field(name, value, EXECUTOR_CONSTRAINTS[name])
    except FieldError as error:
        raise ConfigError(error.field, error.detail) from None


def check_settings(values: Any, names: Sequence[str]) -> None:
    """:func:`check_setting` for each of ``names``, read as attributes of ``values``."""
    try:
        check_fields(values, {name: EXECUTOR_CONSTRAINTS[name] for name in names})
    except FieldError as error:
        raise ConfigError(error.field, error.detail) from None


def import_ray():
    """Ray is an optional extra: imported only on the Ray path, with an install hint when absent."""
    try:
        import ray
    except ImportError:
        raise BenchInputError(MISSING_RAY) from None
    return ray
