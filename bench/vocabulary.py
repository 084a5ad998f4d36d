"""The benchmark's typed vocabulary: arm families, trial and run states, run kinds, device names.

Members are :class:`~enum.StrEnum`, so they compare equal to their strings and are stored in
the run store, results.json and reports as those strings. Code compares members, never literals.

>>> TrialStatus("completed") is TrialStatus.COMPLETED
True
>>> RunStatus.QUEUED.active, RunStatus.INTERRUPTED.active
(True, False)
>>> ArmFamily.PROBE.uses_pretraining, ArmFamily.SCRATCH.uses_pretraining
(True, False)
"""

from __future__ import annotations

from enum import StrEnum


class ArmFamily(StrEnum):
    """What kind of arm: verdicts and learning curves group arms by family, never by their names."""

    PROBE = "probe"
    FINETUNE = "finetune"
    SCRATCH = "scratch"
    HYBRID = "hybrid"

    @property
    def uses_pretraining(self) -> bool:
        """Does the family stand for transfer from pretraining (the other side of scratch)?"""
        return self in (ArmFamily.PROBE, ArmFamily.FINETUNE)


class Architecture(StrEnum):
    """Which network an arm builds: the pretrained backbone's, or the compact scratch model."""

    PRETRAINED = "pretrained"
    SCRATCH = "scratch"


class TrialStatus(StrEnum):
    """How a trial ended."""

    COMPLETED = "completed"
    CANCELLED = "cancelled"
    FAILED = "failed"


class RunStatus(StrEnum):
    """Where a stored run stands."""

    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"  # its worker died; finished trials are kept
    FAILED = "failed"

    @property
    def active(self) -> bool:
        """Queued or running: a worker owns it, and its results may still change."""
        return self in (RunStatus.QUEUED, RunStatus.RUNNING)

    @property
    def stopped_early(self) -> bool:
        """Cancelled, interrupted or failed: what it has is partial."""
        return self in (RunStatus.CANCELLED, RunStatus.INTERRUPTED, RunStatus.FAILED)


class RunKind(StrEnum):
    """A run compares arms at one size; a curve repeats that over several sizes."""

    RUN = "run"
    CURVE = "curve"


class DeviceName(StrEnum):
    """The device a config asks for (``--device``); ``cuda:N`` names one GPU of several."""

    AUTO = "auto"
    CPU = "cpu"
    CUDA = "cuda"
    MPS = "mps"


class FindingCode(StrEnum):
    """Why a trial's health check failed: the code a verdict reads (front ends word it)."""

    AT_CHANCE = "at_chance"  # test accuracy not above the chance level
    UNDER_FLOOR = "under_floor"  # fewer optimizer steps or epochs than a fair comparison needs
    PRETRAINING_OVERRAN = "pretraining_overran"  # a hybrid arm's pretraining outlasted its share of the budget
    RECORDED = "recorded"  # a reason stored in words by an older version


class CrossoverStatus(StrEnum):
    """What a learning curve says of where scratch catches up with fine-tuning."""

    CROSSOVER = "crossover"  # inside or beyond the measured sizes, with an interval
    NONE_IN_RANGE = "none_in_range"
    SCRATCH_AHEAD = "scratch_ahead"  # scratch already leads at the smallest size
    NOT_COMPUTED = "not_computed"


class CheckRegime(StrEnum):
    """Which question a check answers: the person's (their budget, scaled to the check) or a shorter one."""

    YOUR_BUDGET = "your_budget"  # every arm gets what the profile's budget buys it, scaled to the check's size
    DEMO = "demo"  # the check's bound is shorter than the person's question: equal seconds per arm
    FIXED = "fixed"  # the options set the budget (--budget-seconds, --until-converged), not the profile


class ArmRegime(StrEnum):
    """How one arm of a planned check trains."""

    CONVERGED = "converged"  # data-limited: its time to converge fits the budget; trained to early stopping
    BUDGET_LIMITED = "budget_limited"  # gets what the budget buys, then stops


class TaskEvent(StrEnum):
    """What a Ray task posts to the driver's board while its trial runs (sent as the plain value: the board's
    worker imports Ray only)."""

    START = "start"  # (START, index, node, device)
    PROGRESS = "progress"  # (PROGRESS, index, state)
    EPOCH = "epoch"  # (EPOCH, index, state, epoch record)
