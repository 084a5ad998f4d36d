"""Per-arm summaries of finished trials: mean and spread over seeds, and a plain-text table."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from advisor.vocabulary import Trainable
from bench.data.units import IMAGES, ExampleUnit
from bench.train.arms import ARMS
from bench.train.health import Finding
from bench.train.result import TrialResult
from bench.vocabulary import TrialStatus


@dataclass(frozen=True)
class ArmSummary:
    """Per-arm statistics over seeds: the one place they are computed (tables, verdicts and reports read them)."""

    arm: str
    trials: int  # completed trials
    accuracy_mean: float | None
    accuracy_std: float | None  # sample standard deviation over seeds (None for one seed)
    macro_f1_mean: float | None
    train_seconds_mean: float | None
    images_per_second_mean: float | None
    failed: int = 0
    cancelled: int = 0
    undertrained: int = 0  # completed trials that did not learn or ran under the step/epoch floor
    steps_mean: float | None = None
    throughput_spread: float | None = None  # (max - min) / mean images per second across seeds
    test_examples: int = 0  # size of the test split the accuracy is measured on
    epochs_mean: float | None = None
    chance_accuracy: float | None = None
    findings: tuple[Finding, ...] = ()  # why trials of this arm are undertrained, each finding once
    # Text scratch: the classical baseline fitted on the same training texts (mean test accuracy over trials).
    baseline_accuracy_mean: float | None = None
    baseline: str = ""  # what it was, as the first trial that fitted it says
    # Feature extraction or text encoding (a probe's, SetFit's head's), apart from training: mean over the trials
    # that ran one (None: no trial of the arm encoded anything).
    features_seconds_mean: float | None = None


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 5) if values else None


def _std(values: list[float]) -> float | None:
    if len(values) < 2:
        return None
    mean = sum(values) / len(values)
    return round(math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1)), 5)


def _spread(values: list[float]) -> float | None:
    return round((max(values) - min(values)) / (sum(values) / len(values)), 3) if len(values) > 1 else None


def completed(results: Iterable[TrialResult]) -> list[TrialResult]:
    """The trials that finished with a test accuracy: the only ones any statistic is computed on."""
    return [t for t in results if t.status == TrialStatus.COMPLETED and t.test_accuracy is not None]


def summarise_arm(arm: str, trials: list[TrialResult]) -> ArmSummary:
    """One arm's statistics over its trials (failed and cancelled ones are counted, not averaged)."""
    done = completed(trials)
    # A probe's "throughput" is a closed-form fit on cached features: its spread says nothing about the budget.
    timed = arm in ARMS and ARMS[arm].trainable != Trainable.HEAD
    findings: dict[tuple, Finding] = {}  # each finding once, in the order trials report them
    for t in done:
        for finding in t.health.findings if t.health else ():
            findings.setdefault((finding.code, tuple(sorted(finding.params.items()))), finding)
    return ArmSummary(
        arm=arm,
        trials=len(done),
        accuracy_mean=_mean([t.test_accuracy for t in done]),
        accuracy_std=_std([t.test_accuracy for t in done]),
        macro_f1_mean=_mean([t.test_macro_f1 for t in done if t.test_macro_f1 is not None]),
        train_seconds_mean=_mean([t.time_train_s for t in done]),
        images_per_second_mean=_mean([t.images_per_second for t in done]),
        failed=sum(t.status == TrialStatus.FAILED for t in trials),
        cancelled=sum(t.status == TrialStatus.CANCELLED for t in trials),
        undertrained=sum(t.undertrained for t in done),
        steps_mean=_mean([t.steps for t in done]),
        throughput_spread=_spread([t.images_per_second for t in done if t.images_per_second and timed]),
        test_examples=max((t.test_size for t in done), default=0),
        epochs_mean=_mean([t.epochs_run for t in done]),
        chance_accuracy=next((t.health.chance_accuracy for t in done if t.health), None),
        findings=tuple(findings.values()),
        baseline_accuracy_mean=_mean([t.baseline_accuracy for t in done if t.baseline_accuracy is not None]),
        baseline=next((t.baseline for t in done if t.baseline), ""),
        features_seconds_mean=_mean([t.time_features_s for t in done if t.time_features_s]),
    )


def baseline_line(summaries: list[ArmSummary]) -> str:
    """The classical baselines reported beside text scratch arms, one line each, or '' when none was fitted.

    >>> baseline_line([ArmSummary("scratch", 2, 0.8, None, None, None, None, baseline_accuracy_mean=0.91,
    ...                            baseline="TF-IDF + logistic regression")])
    'baseline beside scratch: TF-IDF + logistic regression: test acc 0.910 (n=2)'
    """
    return "\n".join(
        f"baseline beside {s.arm}: {s.baseline}: test acc {s.baseline_accuracy_mean:.3f} (n={s.trials})"
        for s in summaries
        if s.baseline_accuracy_mean is not None
    )


def summarise(results: Iterable[TrialResult]) -> list[ArmSummary]:
    """One row per arm, in the order arms first appear, best mean accuracy not assumed."""
    by_arm: dict[str, list[TrialResult]] = {}
    for result in results:
        by_arm.setdefault(result.config.arm, []).append(result)
    return [summarise_arm(arm, trials) for arm, trials in by_arm.items()]


def render_table(summaries: list[ArmSummary], unit: ExampleUnit = IMAGES) -> str:
    """A plain-text table: test accuracy as mean ± std over seeds (``trials`` = seeds that finished);
    throughput and the test split in the data's ``unit`` (img/s, or sentences/s for text)."""
    test = max((s.test_examples for s in summaries), default=0)
    # Encoding (features) apart from training, in its own column when an arm encoded anything.
    encoded = any(s.features_seconds_mean is not None for s in summaries)
    header = (f"{'arm':<20} {'seeds':>6} {'test acc':>16} {'macro-F1':>9} {'steps':>6} {'train s':>8} "
              + (f"{'encode s':>9} " if encoded else "")
              + f"{unit.rate:>11}" + (f"   (test split: {test} {unit.plural})" if test else ""))  # fmt: skip
    lines = [header, "-" * len(header)]
    for s in summaries:
        if s.accuracy_mean is None:
            accuracy = "n/a"
        elif s.accuracy_std is None:
            accuracy = f"{s.accuracy_mean:.3f}"
        else:
            accuracy = f"{s.accuracy_mean:.3f} ± {s.accuracy_std:.3f}"
        f1 = f"{s.macro_f1_mean:.3f}" if s.macro_f1_mean is not None else "n/a"
        seconds = f"{s.train_seconds_mean:.1f}" if s.train_seconds_mean is not None else "n/a"
        speed = f"{s.images_per_second_mean:.0f}" if s.images_per_second_mean is not None else "n/a"
        steps = f"{s.steps_mean:.0f}" if s.steps_mean is not None else "n/a"
        flags = [f"{s.failed} failed"] * bool(s.failed) + [f"{s.cancelled} cancelled"] * bool(s.cancelled)
        flags += [f"{s.undertrained} UNDERTRAINED"] * bool(s.undertrained)
        if s.throughput_spread is not None and s.throughput_spread > 0.3:
            flags.append(f"throughput varied {s.throughput_spread:.0%} across seeds")
        problems = f"  ({', '.join(flags)})" if flags else ""
        features = "" if not encoded else f"{s.features_seconds_mean or 0.0:>9.1f} "
        lines.append(
            f"{s.arm:<20} {s.trials:>6} {accuracy:>16} {f1:>9} {steps:>6} {seconds:>8} {features}{speed:>11}{problems}"
        )
    return "\n".join(lines)
