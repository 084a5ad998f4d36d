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
from dataclasses import dataclass

import numpy as np
from scipy import stats

MIN_STEPS = 30
MIN_EPOCHS = 1.0
LEARNED_ALPHA = 0.01


@dataclass(frozen=True)
class TrialHealth:
    chance_accuracy: float  # majority-class rate of the test split
    learned: bool  # above chance by an exact binomial test
    learned_p_value: float
    undertrained: bool  # did not learn, ran under the step/epoch floor, or overran an equal-time budget
    reasons: tuple[str, ...] = ()  # why, in words


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
    unequal_time: str | None = None,
) -> TrialHealth:
    """Health of a finished trial from its per-example correctness and how much it trained.

    ``unequal_time``: why the trial did not keep to the run's equal wall-clock (a hybrid arm whose
    pretraining overran its share); such a trial is not compared either.
    """
    n, k = len(correct), int(np.sum(correct))
    p_value = float(stats.binomtest(k, n, chance, alternative="greater").pvalue) if n else 1.0
    learned = p_value < LEARNED_ALPHA
    reasons = []
    if not learned:
        reasons.append(
            f"test accuracy {k / max(n, 1):.3f} is not above the chance level {chance:.3f} (p = {p_value:.2g})"
        )
    if gradient and (steps < MIN_STEPS or epochs < MIN_EPOCHS):
        within = f" in {budget_seconds:g} s" if budget_seconds is not None else ""
        reasons.append(
            f"ran {steps} optimizer steps ({epochs:.2g} epochs){within}; a fair comparison needs at least "
            f"{MIN_STEPS} steps and {MIN_EPOCHS:g} epoch"
        )
    if unequal_time:
        reasons.append(unequal_time)
    return TrialHealth(chance, learned, round(p_value, 6), bool(reasons), tuple(reasons))


def pack_correct(correct: np.ndarray) -> str:
    """Per-example correctness as base64 of packed bits."""
    return base64.b64encode(np.packbits(np.asarray(correct, dtype=bool)).tobytes()).decode("ascii")


def unpack_correct(text: str, n: int) -> np.ndarray:
    bits = np.unpackbits(np.frombuffer(base64.b64decode(text), dtype=np.uint8))
    return bits[:n].astype(bool)
