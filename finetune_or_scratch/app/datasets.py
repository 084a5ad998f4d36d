"""A dataset as the run form holds it: the choice a person made and the facts shown before a run.

Light on purpose (numpy and the split rule only): the questionnaire's "estimate from my data"
shows these on first paint, before any model or training module is imported.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from advisor.vocabulary import Modality
from bench.data.splits import make_splits
from bench.data.units import UNITS


@dataclass(frozen=True)
class DatasetChoice:
    """A dataset as the engine takes it (``source``: a name or a path) and as a person calls it (``label``)."""

    source: str
    label: str


@dataclass(frozen=True)
class DatasetFacts:
    """What the form shows and checks before a run: size, classes, the training pool after held-out splits."""

    images: int
    classes: int
    train_pool: int
    native_resolution: int | None
    skipped: int
    labels: np.ndarray
    modality: Modality = Modality.IMAGE

    def default_examples(self, cap: int = 1000) -> int:
        """The form's default: every training image up to ``cap``, never more than the dataset has."""
        return max(self.classes, min(cap, self.train_pool))

    def describe(self) -> str:
        unit = UNITS[self.modality].plural
        side = f", about {self.native_resolution} px a side" if self.native_resolution else ""
        skipped = f"; {self.skipped:,} {unit} left out (empty or unreadable)" if self.skipped else ""
        return (
            f"{self.images:,} {unit} in {self.classes} classes{side}: {self.train_pool:,} for training after "
            f"holding out validation and test {unit}{skipped}"
        )

    def measured_answers(self) -> dict[str, Any]:
        """The questionnaire answers this data settles: its kind, classes, labeled examples and image side."""
        answers: dict[str, Any] = {
            "modality": self.modality.value,  # a plain string: widgets compare options by type
            "num_classes": self.classes,
            "labeled_examples": self.images,
        }
        if self.native_resolution:
            answers["input_resolution"] = self.native_resolution
        return answers


def differences(answers: Mapping[str, Any], measured: Mapping[str, Any]) -> dict[str, tuple[Any, Any]]:
    """``{field: (answered, measured)}`` for every measured answer the questionnaire says otherwise.

    >>> differences({"num_classes": 10, "labeled_examples": 30}, {"num_classes": 3, "labeled_examples": 30})
    {'num_classes': (10, 3)}
    """
    return {field: (answers.get(field), value) for field, value in measured.items() if answers.get(field) != value}


def facts_of(
    labels: np.ndarray, native_resolution: int | None, skipped: int, split_seed: int = 0,
    modality: Modality = Modality.IMAGE,
) -> DatasetFacts:  # fmt: skip
    splits = make_splits(labels, split_seed)
    classes = len(np.unique(labels))
    return DatasetFacts(len(labels), classes, len(splits.train), native_resolution, skipped, labels, modality)
