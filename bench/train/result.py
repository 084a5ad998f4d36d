"""What a trial returns: its numbers, its history, its health, and per-example test correctness."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from bench.train.config import TrialConfig
from bench.train.health import TrialHealth, unpack_correct
from bench.vocabulary import TrialStatus


@dataclass(frozen=True)
class EpochRecord:
    epoch: float  # fractional in budget mode when the plan ends mid-epoch
    step: int
    train_loss: float | None  # None for the linear probe (a closed-form fit)
    val_accuracy: float
    train_seconds: float


@dataclass(frozen=True)
class TrialResult:
    config: TrialConfig
    status: TrialStatus
    test_accuracy: float | None = None
    test_macro_f1: float | None = None
    val_accuracy: float | None = None
    epochs_run: float = 0.0
    steps: int = 0
    train_examples: int = 0
    time_data_s: float = 0.0
    time_train_s: float = 0.0
    time_eval_s: float = 0.0
    images_per_second: float = 0.0
    peak_memory_mb: float = 0.0
    memory_kind: str = ""
    device: str = ""
    dataset_fingerprint: str = ""
    feature_cache_hit: bool | None = None
    history: tuple[EpochRecord, ...] = ()
    versions: dict[str, str] = field(default_factory=dict)
    error: str = ""
    started_at: str = ""
    finished_at: str = ""
    health: TrialHealth | None = None  # chance level, did it learn, was it starved (None if it never trained)
    test_correct: str = ""  # per-example correctness on the test split, packed (see bench.train.health)
    test_size: int = 0
    time_pretrain_s: float = 0.0  # hybrid arms: self-supervised pretraining, separate from training
    pretrain_steps: int = 0
    pretrain_notes: tuple[str, ...] = ()  # the pool and how it was fitted to the labeled data
    # Text scratch arms: a classical baseline fitted on the same training texts, reported beside the arm.
    baseline_accuracy: float | None = None
    baseline: str = ""  # what the baseline was (TF-IDF + logistic regression, its C)

    @property
    def trial_id(self) -> str:
        c = self.config
        return f"{c.arm}-seed{c.seed}-n{c.examples or 'all'}"

    @property
    def undertrained(self) -> bool:
        return self.health is not None and self.health.undertrained

    def correct(self) -> np.ndarray | None:
        """Per-example test correctness (bool, in test-split order), or None when not recorded."""
        return unpack_correct(self.test_correct, self.test_size) if self.test_correct else None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["trial_id"] = self.trial_id
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrialResult:
        """Rebuild a result saved by :meth:`to_dict` (older results without health or predictions load too)."""
        fields = {k: v for k, v in data.items() if k != "trial_id"}
        fields["config"] = TrialConfig(**fields["config"])
        fields["status"] = TrialStatus(fields["status"])
        fields["history"] = tuple(EpochRecord(**h) for h in fields.get("history", ()))
        fields["pretrain_notes"] = tuple(fields.get("pretrain_notes", ()))
        if fields.get("health"):
            fields["health"] = TrialHealth.from_dict(fields["health"])
        return cls(**fields)
