"""Trial health: the chance level, whether a trial learned, and whether its budget starved it.

A verdict must never rest on an arm that did not train. Every trial records:

* its chance level: the majority-class rate of its test split (what always guessing the
  commonest class scores);
* whether it learned: test accuracy above chance by an exact one-sided binomial test
  (``scipy.stats.binomtest``) at ``LEARNED_ALPHA``;
* whether gradient training had enough of a budget: at least ``MIN_STEPS`` optimizer steps
  and ``MIN_EPOCHS`` passes over the labeled examples. Why these floors: the schedule spends
  its first max(3, 5%) steps warming up, so under 30 steps most updates run at a fraction of
  the learning rate; and a model that has not seen every labeled example once has not been
  compared on the data it was given.

Per-example correctness is packed as bits (base64), so a 1,000-image test split costs 170
characters per trial in the run store.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bench.vocabulary import FindingCode

MIN_STEPS = 30
MIN_EPOCHS = 1.0
LEARNED_ALPHA = 0.01


@dataclass(frozen=True)
class Finding:
    """One reason a trial is not healthy: a code the verdict reads, and the numbers behind it.

    Front ends word it with :func:`describe`, naming options their own way (a flag on the
    command line, a widget label in the app).

    >>> describe(Finding(FindingCode.UNDER_FLOOR, {"steps": 9, "epochs": 0.5, "budget_seconds": 5}))
    'ran 9 optimizer steps (0.5 epochs) in 5 s; a fair comparison needs at least 30 steps and 1 epoch'
    """

    code: FindingCode
    params: dict[str, float] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | str) -> Finding:
        """Rebuild a stored finding; a reason stored as words by an older version keeps its words."""
        if isinstance(data, str):
            return cls(FindingCode.RECORDED, {"text": data})
        return cls(FindingCode(data["code"]), dict(data.get("params", {})))


def describe(finding: Finding, names: Mapping[str, str] | None = None) -> str:
    """A finding in words; ``names`` words the options it suggests (``{"pretrain_seconds": "--pretrain-seconds"}``)."""
    p, code = finding.params, finding.code
    if code == FindingCode.AT_CHANCE:
        return (
            f"test accuracy {p['accuracy']:.3f} is not above the chance level {p['chance']:.3f} "
            f"(p = {p['p_value']:.2g})"
        )
    if code == FindingCode.UNDER_FLOOR:
        within = f" in {p['budget_seconds']:g} s" if p.get("budget_seconds") is not None else ""
        return (
            f"ran {int(p['steps'])} optimizer steps ({p['epochs']:.2g} epochs){within}; a fair comparison needs at "
            f"least {MIN_STEPS} steps and {MIN_EPOCHS:g} epoch"
        )
    if code == FindingCode.PRETRAINING_OVERRAN:
        steps = int(p["steps"])
        if names is not None:  # a front end's names (the CLI's answer for any field: its flag)
            fix = f"set {names.get('pretrain_seconds')}, or raise {names.get('budget_seconds')}"
        else:
            fix = "give pretraining its own seconds, or a larger budget"
        return (
            f"pretraining took {p['seconds']:.0f} s for {steps} step{'s' if steps != 1 else ''}, over its "
            f"{p['share']:g} s share of the {p['budget_seconds']:g} s budget: not an equal-time comparison ({fix})"
        )
    return str(p.get("text", code))


def stored_findings(data: Mapping[str, Any]) -> tuple[Finding, ...]:
    """The findings of a stored trial health or verdict arm (older versions stored words under
    ``reasons`` or ``health``)."""
    stored = data.get("findings")
    if stored is None:
        stored = data.get("reasons", data.get("health")) or ()
    return tuple(f if isinstance(f, Finding) else Finding.from_dict(f) for f in stored)


@dataclass(frozen=True)
class TrialHealth:
    chance_accuracy: float  # majority-class rate of the test split
    learned: bool  # above chance by an exact binomial test
    learned_p_value: float
    undertrained: bool  # did not learn, ran under the step/epoch floor, or overran an equal-time budget
    findings: tuple[Finding, ...] = ()  # why

    @property
    def reasons(self) -> tuple[str, ...]:
        """The findings in the engine's words."""
        return tuple(describe(f) for f in self.findings)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrialHealth:
        """Rebuild stored health (an older version stored ``reasons`` as words)."""
        values = {k: v for k, v in data.items() if k not in ("findings", "reasons")}
        return cls(**values, findings=stored_findings(data))


def floor_steps(steps_per_epoch: float) -> int:
    """The optimizer steps a fair comparison needs: MIN_STEPS, and MIN_EPOCHS passes over the labels."""
    return max(MIN_STEPS, math.ceil(MIN_EPOCHS * steps_per_epoch))


# A budget suggested to reach the floor is this many times the bare estimate, rounded up to 5 s:
# a rate measured over a few steps varies, and a budget that lands just short of the floor wastes a run.
SUGGESTION_MARGIN = 2.0


def seconds_to_floor(steps_per_second: float, steps_per_epoch: float, train_share: float) -> float:
    """The budget that gives an arm the floor's steps and epochs: the one "give it N seconds" the plan,
    the verdict and the front ends all say.

    ``train_share``: the part of a budget that trains (evaluation passes and a hybrid arm's
    pretraining take the rest).

    >>> seconds_to_floor(2.0, 16, 0.85)  # 30 steps at 2 steps/s, 85% of the budget training
    40.0
    """
    bare = floor_steps(steps_per_epoch) / (steps_per_second * train_share)
    return float(5 * math.ceil(SUGGESTION_MARGIN * bare / 5))


def chance_accuracy(test_labels: np.ndarray) -> float:
    """The majority-class rate of a test split."""
    counts = np.bincount(np.asarray(test_labels, dtype=np.int64))
    return round(float(counts.max() / counts.sum()), 5)


def assess(
    correct: np.ndarray,
    chance: float,
    steps: int,
    epochs: float,
    gradient: bool,
    budget_seconds: float | None,
    unequal_time: Finding | None = None,
) -> TrialHealth:
    """Health of a finished trial from its per-example correctness and how much it trained.

    ``unequal_time``: the finding of a trial that did not keep to the run's equal wall-clock (a
    hybrid arm whose pretraining overran its share); such a trial is not compared either.
    """
    n, k = len(correct), int(np.sum(correct))
    # P(X >= k) for X ~ Binomial(n, chance): scipy.stats.binomtest's one-sided p-value, from the
    # distribution function it calls; scipy.special loads in a fifth of scipy.stats' second, in every trial.
    from scipy.special import bdtrc  # deferred: the light modules that read MIN_STEPS need no scipy

    p_value = float(bdtrc(k - 1, n, chance)) if n and k else 1.0
    learned = p_value < LEARNED_ALPHA
    findings = []
    if not learned:
        findings.append(
            Finding(FindingCode.AT_CHANCE, {"accuracy": k / max(n, 1), "chance": chance, "p_value": p_value})
        )
    if gradient and (steps < MIN_STEPS or epochs < MIN_EPOCHS):
        findings.append(
            Finding(FindingCode.UNDER_FLOOR, {"steps": steps, "epochs": epochs, "budget_seconds": budget_seconds})
        )
    if unequal_time:
        findings.append(unequal_time)
    return TrialHealth(chance, learned, round(p_value, 6), bool(findings), tuple(findings))


def pack_correct(correct: np.ndarray) -> str:
    """Per-example correctness as base64 of packed bits."""
    return base64.b64encode(np.packbits(np.asarray(correct, dtype=bool)).tobytes()).decode("ascii")


def unpack_correct(text: str, n: int) -> np.ndarray:
    bits = np.unpackbits(np.frombuffer(base64.b64decode(text), dtype=np.uint8))
    return bits[:n].astype(bool)
