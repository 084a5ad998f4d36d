"""What a trial returns: its numbers, its history, its health, and per-example test correctness."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

import numpy as np

from advisor.constraints import Constraint, FieldError, Interval, Options, check_field, excerpt
from bench.train.config import TRIAL_CONSTRAINTS, TrialConfig
from bench.train.health import TrialHealth, unpack_correct
from bench.vocabulary import FindingCode, TrialStatus


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
    # Feature extraction (images) or text encoding that ran for the trial (the probe's, SetFit's head's), apart from
    # time_train_s, so that "training seconds" are optimizer steps and fits for every arm; a cache hit counts in
    # time_data_s instead.
    time_features_s: float = 0.0
    # A budgeted gradient arm: its first (warm-up) step and its slowest later step, both inside time_train_s.
    # The budget is kept to one step: time_train_s <= budget + the slowest step (or the first, if it alone overran).
    time_first_step_s: float = 0.0
    time_slowest_step_s: float = 0.0
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
    time_pretrain_first_step_s: float = 0.0  # its warm-up step, inside time_pretrain_s (as time_first_step_s)
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
        """Rebuild a result saved by :meth:`to_dict` (older results without health or predictions load too).

        ``data`` is checked first (:func:`check_trial_record`): a results file or a stored row is
        not trusted, and a bad one raises :class:`~advisor.constraints.FieldError` naming the field.
        """
        check_trial_record(data)
        values = {k: v for k, v in data.items() if k != "trial_id"}
        values["config"] = TrialConfig(**values["config"])
        values["status"] = TrialStatus(values["status"])
        values["history"] = tuple(EpochRecord(**h) for h in values.get("history", ()))
        values["pretrain_notes"] = tuple(values.get("pretrain_notes", ()))
        if values.get("health"):
            values["health"] = TrialHealth.from_dict(values["health"])
        return cls(**values)


# What a stored trial's fields accept: a results.json or a run store row is read back through this
# table, so "abc", NaN or 7.5 as an accuracy is an error naming the field, not a number in a verdict.
STATUSES = tuple(TrialStatus)
_SHARE = Interval(float, 0, 1, none="not measured")
_AMOUNT = Interval(float, 0, None)
_COUNT = Interval(int, 0, None)
RECORD_CONSTRAINTS: dict[str, Constraint] = {
    "status": Options(STATUSES),
    "test_accuracy": _SHARE,
    "test_macro_f1": _SHARE,
    "val_accuracy": _SHARE,
    "epochs_run": _AMOUNT,
    "steps": _COUNT,
    "train_examples": _COUNT,
    "time_data_s": _AMOUNT,
    "time_train_s": _AMOUNT,
    "time_eval_s": _AMOUNT,
    "time_features_s": _AMOUNT,
    "time_first_step_s": _AMOUNT,
    "time_slowest_step_s": _AMOUNT,
    "images_per_second": _AMOUNT,
    "peak_memory_mb": _AMOUNT,
    "test_size": _COUNT,
    "time_pretrain_s": _AMOUNT,
    "pretrain_steps": _COUNT,
    "time_pretrain_first_step_s": _AMOUNT,
}
EPOCH_CONSTRAINTS: dict[str, Constraint] = {
    "epoch": _AMOUNT,
    "step": _COUNT,
    "train_loss": Interval(float, 0, None, none="not measured"),
    "val_accuracy": Interval(float, 0, 1),
    "train_seconds": _AMOUNT,
}
_TEXT = ("memory_kind", "device", "dataset_fingerprint", "error", "started_at", "finished_at", "test_correct")
_CONFIG_TEXT = ("dataset", "arm", "backbone", "scratch_backbone", "device", "pretrain_objective")


def check_trial_record(data: Any) -> None:
    """Check a trial as saved by :meth:`TrialResult.to_dict` before anything reads it.

    Raises :class:`~advisor.constraints.FieldError` naming the field (``test_accuracy``,
    ``config.seed``, ``history[2].val_accuracy``), what is accepted and what was given.

    >>> check_trial_record({"config": {"dataset": "digits", "arm": "scratch"}, "status": "completed",
    ...                     "test_accuracy": 7.5})
    Traceback (most recent call last):
    ...
    advisor.constraints.FieldError: test_accuracy: expected a number in 0..1, or not measured; got 7.5
    """
    _expect(data, dict, "", "a JSON object (one trial)")
    _known(data, {f.name for f in fields(TrialResult)} | {"trial_id"}, "")
    for name in ("config", "status"):
        if name not in data:
            raise FieldError(name, "missing; every trial has a config and a status")
    config = data["config"]
    _expect(config, dict, "config", "a JSON object of trial settings")
    _known(config, {f.name for f in fields(TrialConfig)}, "config.")
    for name in ("dataset", "arm"):
        if name not in config:
            raise FieldError(f"config.{name}", "missing; every trial config names its dataset and arm")
    for name in _CONFIG_TEXT:
        if name in config:
            _expect(config[name], str, f"config.{name}", "text")
    for name, constraint in TRIAL_CONSTRAINTS.items():  # the table that checks a new trial's settings
        if name in config:
            check_field(f"config.{name}", config[name], constraint)
    for name, constraint in RECORD_CONSTRAINTS.items():
        if name in data:
            check_field(name, data[name], constraint)
    for name in _TEXT:
        if name in data:
            _expect(data[name], str, name, "text")
    for index, epoch in enumerate(_list_of(data, "history")):
        where = f"history[{index}]"
        _expect(epoch, dict, where, "a JSON object (one evaluation)")
        _known(epoch, {f.name for f in fields(EpochRecord)}, f"{where}.")
        for name, constraint in EPOCH_CONSTRAINTS.items():
            if name not in epoch and name != "train_loss":
                raise FieldError(f"{where}.{name}", "missing")
            check_field(f"{where}.{name}", epoch.get(name), constraint)
    for index, note in enumerate(_list_of(data, "pretrain_notes")):
        _expect(note, str, f"pretrain_notes[{index}]", "text")
    versions = data.get("versions", {})
    _expect(versions, dict, "versions", "a JSON object of library versions")
    for name, version in versions.items():
        _expect(version, str, f"versions.{name}", "text")
    health = data.get("health")
    if health is not None:
        _expect(health, dict, "health", "a JSON object, or null")
        _known(health, {f.name for f in fields(TrialHealth)} | {"reasons"}, "health.")  # reasons: older words
        for name in ("chance_accuracy", "learned_p_value"):
            check_field(f"health.{name}", health.get(name), Interval(float, 0, 1))
        for name in ("learned", "undertrained"):
            _expect(health.get(name), bool, f"health.{name}", "true or false")
        for key in ("findings", "reasons"):
            for index, finding in enumerate(_list_of(health, key, "health.")):
                _check_finding(finding, f"health.{key}[{index}]")


def _check_finding(finding: Any, where: str) -> None:
    if isinstance(finding, str):  # an older version stored the words
        return
    _expect(finding, dict, where, "a finding (code and params) or text")
    check_field(f"{where}.code", finding.get("code"), Options(tuple(FindingCode)))
    _expect(finding.get("params", {}), dict, f"{where}.params", "a JSON object")


def _expect(value: Any, kind: type, where: str, accepted: str) -> None:
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        raise FieldError(where or "trial", f"expected {accepted}; got {excerpt(value)}")


def _known(data: dict, names: set[str], prefix: str) -> None:
    unknown = sorted(str(key) for key in data if key not in names)
    if unknown:
        raise FieldError(f"{prefix}{unknown[0]}", "unknown field (a results file from another program?)")


def _list_of(data: dict, name: str, prefix: str = "") -> list:
    value = data.get(name, [])
    if not isinstance(value, list | tuple):
        raise FieldError(f"{prefix}{name}", f"expected a JSON list; got {excerpt(value)}")
    return list(value)
