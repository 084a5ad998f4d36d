"""Choosing an executor: ``make_executor`` checks its settings (and that Ray is installed) before any work.

Light: the executor's own module (torch, the trial runner) is imported when one is made, so a
:class:`~bench.runs.request.RunRequest` can check its executor without importing torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bench.errors import ConfigError
from bench.runs.executors.settings import check_setting, import_ray

if TYPE_CHECKING:
    from bench.runs.executors.local import LocalExecutor
    from bench.runs.executors.ray_driver import RayExecutor


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
    check_setting("executor", name)
    if name == "local":
        if address:
            raise ConfigError("address", f"only used with --executor ray; got {address!r}")
        from bench.runs.executors.local import LocalExecutor  # deferred: the trial runner imports torch

        return LocalExecutor()
    from bench.runs.executors.ray_driver import RayExecutor  # deferred: the trial runner imports torch

    executor = RayExecutor(address, cpus_per_trial, gpus_per_trial, max_retries, num_cpus)
    executor.validate()
    import_ray()
    return executor
