"""The advisor's typed vocabulary: the few words that code compares, as enums.

Members are :class:`~enum.StrEnum`, so they compare equal to their strings and go into JSON,
the run store and saved profiles as those strings: ``Outcome("confirmed") is Outcome.CONFIRMED``.
Code compares members, never literals; front ends word them for people.

>>> Outcome("not_decided").decisive, Outcome.CONFIRMED.decisive
(False, True)
>>> Trainable.HEAD == "head"
True
"""

from __future__ import annotations

from enum import StrEnum


class StrategyName(StrEnum):
    """The five strategies the advisor ranks; benchmark arms name the one they measure."""

    LINEAR_PROBE = "linear_probe"
    PARTIAL_FINETUNE = "partial_finetune"
    FULL_FINETUNE = "full_finetune"
    SCRATCH = "scratch"
    HYBRID = "hybrid"


class Modality(StrEnum):
    """The kind of input the model sees (the questionnaire's ``modality``)."""

    IMAGE = "image"
    TEXT = "text"
    TABULAR = "tabular"
    AUDIO = "audio"
    OTHER = "other"


class Similarity(StrEnum):
    """How close the data is to the pretraining data (``domain_similarity``)."""

    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    UNKNOWN = "unknown"


class Compute(StrEnum):
    """The hardware tier available for training (``compute``), cheapest first."""

    CPU = "cpu"
    SINGLE_GPU = "single_gpu"
    MULTI_GPU = "multi_gpu"
    CLUSTER = "cluster"


class Trainable(StrEnum):
    """What a recipe trains: the head on cached features, the top blocks and head, or every layer."""

    HEAD = "head"
    TOP = "top"
    ALL = "all"


class Outcome(StrEnum):
    """What a measurement says of the advice (a verdict, a grid cell)."""

    CONFIRMED = "confirmed"
    CONTRADICTED = "contradicted"
    INCONCLUSIVE = "inconclusive"
    NOT_DECIDED = "not_decided"

    @property
    def decisive(self) -> bool:
        """Confirmed or contradicted: the paired test separated the advised arm from its best rival."""
        return self in (Outcome.CONFIRMED, Outcome.CONTRADICTED)

    @property
    def words(self) -> str:
        """``NOT DECIDED``: how a verdict's outcome is printed."""
        return self.value.replace("_", " ").upper()


def outcome_counts(outcomes: list[str] | tuple[str, ...]) -> dict[Outcome, int]:
    """How many of each outcome, every outcome listed (the one count the app, the CLI and the scripts show).

    >>> outcome_counts(["confirmed", "not_decided", "confirmed"])[Outcome.CONFIRMED]
    2
    """
    counts = dict.fromkeys(Outcome, 0)
    for outcome in outcomes:
        counts[Outcome(outcome)] += 1
    return counts
