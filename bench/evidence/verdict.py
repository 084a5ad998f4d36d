"""Does the measurement confirm the advice? A paired comparison across seeds, in plain language."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from scipy import stats

from bench.train.trial import TrialResult

# Which measured arms stand for each advised strategy.
STRATEGY_ARMS: dict[str, tuple[str, ...]] = {
    "linear_probe": ("linear_probe",),
    "partial_finetune": ("partial_finetune",),
    "full_finetune": ("full_finetune",),
    "scratch": ("scratch", "scratch_same_arch"),
    "hybrid": (),
}
FINETUNE_ARMS = ("linear_probe", "partial_finetune", "full_finetune")
ALPHA = 0.05  # two-sided significance level of the paired test
POWER_Z = 1.96 + 0.84  # z for alpha = 0.05 two-sided plus 80% power


@dataclass(frozen=True)
class ArmEvidence:
    arm: str
    seeds: int
    accuracy_mean: float
    accuracy_std: float | None
    train_seconds_mean: float
    time_to_target_s: float | None  # first validation pass at the common target accuracy
    accuracy_per_train_second: float


@dataclass(frozen=True)
class PairedComparison:
    better: str
    worse: str
    seeds: int
    mean_difference: float  # accuracy points, better minus worse
    ci95: tuple[float, float] | None  # bootstrap over seeds
    p_value: float | None  # paired t-test
    effect_size: float | None  # Cohen's d_z: mean difference / sd of differences
    note: str = ""


@dataclass(frozen=True)
class Verdict:
    advised: str
    measured_winner: str
    outcome: str  # confirmed | contradicted | inconclusive
    summary: str
    reason: str
    comparison: PairedComparison | None
    arms: tuple[ArmEvidence, ...]
    examples: int | None
    target_accuracy: float | None
    not_computed: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _by_arm(results: list[TrialResult]) -> dict[str, dict[int, TrialResult]]:
    table: dict[str, dict[int, TrialResult]] = {}
    for r in results:
        if r.status == "completed" and r.test_accuracy is not None:
            table.setdefault(r.config.arm, {})[r.config.seed] = r
    return table


def _time_to(target: float, result: TrialResult) -> float | None:
    return next((h.train_seconds for h in result.history if h.val_accuracy >= target), None)


def _evidence(arm: str, trials: dict[int, TrialResult], target: float) -> ArmEvidence:
    accuracies = [t.test_accuracy for t in trials.values()]
    seconds = [t.time_train_s for t in trials.values()]
    times = [_time_to(target, t) for t in trials.values()]
    reached = [t for t in times if t is not None]
    mean_accuracy, mean_seconds = float(np.mean(accuracies)), float(np.mean(seconds))
    return ArmEvidence(
        arm=arm,
        seeds=len(accuracies),
        accuracy_mean=round(mean_accuracy, 5),
        accuracy_std=round(float(np.std(accuracies, ddof=1)), 5) if len(accuracies) > 1 else None,
        train_seconds_mean=round(mean_seconds, 3),
        time_to_target_s=round(float(np.mean(reached)), 3) if len(reached) == len(times) else None,
        accuracy_per_train_second=round(mean_accuracy / max(mean_seconds, 1e-9), 5),
    )


def paired_comparison(better: dict[int, TrialResult], worse: dict[int, TrialResult], names: tuple[str, str]):
    """Paired over shared seeds (same seed = same training subsample). None-valued fields say what could not be computed."""
    seeds = sorted(set(better) & set(worse))
    diffs = np.array([better[s].test_accuracy - worse[s].test_accuracy for s in seeds])
    mean = round(float(diffs.mean()), 5) if len(diffs) else float("nan")
    if len(diffs) < 2:
        return PairedComparison(*names, len(diffs), mean, None, None, None, "one shared seed: no paired test (run 3+)")
    sd = float(diffs.std(ddof=1))
    if sd < 1e-12:  # identical differences: the t statistic is undefined
        return PairedComparison(*names, len(diffs), mean, (mean, mean), 0.0 if mean else 1.0, None, "identical diffs")
    rng = np.random.default_rng(0)
    boots = diffs[rng.integers(0, len(diffs), (2000, len(diffs)))].mean(1)
    ci = (round(float(np.percentile(boots, 2.5)), 5), round(float(np.percentile(boots, 97.5)), 5))
    p_value = float(
        stats.ttest_rel([better[s].test_accuracy for s in seeds], [worse[s].test_accuracy for s in seeds]).pvalue
    )
    return PairedComparison(*names, len(diffs), mean, ci, round(p_value, 5), round(mean / sd, 3))


def _seeds_to_settle(comparison: PairedComparison, sd: float | None) -> str:
    if comparison.seeds < 2 or sd is None or comparison.mean_difference == 0:
        return "run at least 3 seeds per arm for a paired test"
    needed = math.ceil((POWER_Z * sd / abs(comparison.mean_difference)) ** 2)
    return f"about {max(needed, comparison.seeds + 1)} seeds would settle a {abs(comparison.mean_difference):.3f} difference"


def _likely_reason(advised: str, winner: str) -> str:
    if winner.startswith("scratch") and advised in FINETUNE_ARMS:
        return ("training from scratch won: the data is probably less similar to the pretraining data than assumed, "
                "its images smaller than the profile's input_resolution (small inputs make scratch cheap), "
                "or the data large enough for scratch at this budget")  # fmt: skip
    if advised == "scratch" and winner in FINETUNE_ARMS:
        return ("pretrained features won: the data is closer to the pretraining data than assumed, or too small "
                "(or the budget too short) for scratch")  # fmt: skip
    if advised == "linear_probe":
        return "adapting the backbone beat frozen features: the data is less similar than assumed, or has enough labels"
    if winner == "linear_probe":
        return "frozen features won: the data is closer than assumed, or too few labels or too little time to fine-tune"
    return f"{winner} beat {advised}: the budget or data size favours a different amount of fine-tuning"


def make_verdict(advised: str, results: list[TrialResult]) -> Verdict:
    """Compare the advisor's top strategy with the measured winner (by mean test accuracy)."""
    table = _by_arm(results)
    not_computed: list[str] = []
    examples = next((r.config.examples for r in results), None)
    if len(table) < 2:
        return Verdict(advised, next(iter(table), "none"), "inconclusive", "fewer than two arms completed",
                       "run at least two arms", None, (), examples, None, ("comparison",))  # fmt: skip
    target = round(0.9 * min(max(h.val_accuracy for h in t.history) for trials in table.values()
                             for t in trials.values() if t.history), 4)  # fmt: skip
    evidence = {arm: _evidence(arm, trials, target) for arm, trials in table.items()}
    winner = max(evidence, key=lambda a: evidence[a].accuracy_mean)
    advised_arms = [a for a in STRATEGY_ARMS.get(advised, ()) if a in table]
    arms = tuple(sorted(evidence.values(), key=lambda e: -e.accuracy_mean))
    if not advised_arms:
        why = (
            "hybrid is not benchmarked in a quick run"
            if advised == "hybrid"
            else f"the advised arm {advised} was not run"
        )
        return Verdict(advised, winner, "inconclusive", f"cannot check the advice: {why}", f"add the arm for {advised}",
                       None, arms, examples, target, ("comparison with the advised arm",))  # fmt: skip
    best_advised = max(advised_arms, key=lambda a: evidence[a].accuracy_mean)
    if winner in advised_arms:
        rival = max((a for a in evidence if a not in advised_arms), key=lambda a: evidence[a].accuracy_mean)
        comparison = paired_comparison(table[winner], table[rival], (winner, rival))
    else:
        comparison = paired_comparison(table[winner], table[best_advised], (winner, best_advised))
    diffs_sd = _sd_of_differences(table[comparison.better], table[comparison.worse])
    if comparison.p_value is None:
        not_computed.append(f"paired test ({comparison.note})")
    significant = comparison.p_value is not None and comparison.p_value < ALPHA and comparison.mean_difference > 0
    gap = f"{comparison.mean_difference:+.3f}"
    if not significant:
        outcome = "inconclusive"
        summary = f"{comparison.better} vs {comparison.worse}: {gap} accuracy, within noise"
        reason = _seeds_to_settle(comparison, diffs_sd) + " (or more examples per arm)"
    elif winner in advised_arms:
        outcome = "confirmed"
        summary = (
            f"the advised {advised} ({winner}) beat {comparison.worse} by {gap} accuracy (p = {comparison.p_value:.3g})"
        )
        reason = "the measurement agrees with the advice"
    else:
        outcome = "contradicted"
        summary = f"{winner} beat the advised {advised} by {gap} accuracy (p = {comparison.p_value:.3g})"
        reason = _likely_reason(advised, winner)
    return Verdict(advised, winner, outcome, summary, reason, comparison, arms, examples, target, tuple(not_computed))


def _sd_of_differences(a: dict[int, TrialResult], b: dict[int, TrialResult]) -> float | None:
    seeds = sorted(set(a) & set(b))
    if len(seeds) < 2:
        return None
    return float(np.std([a[s].test_accuracy - b[s].test_accuracy for s in seeds], ddof=1))


def render_verdict(verdict: dict[str, Any]) -> str:
    """A stored verdict (``Verdict.to_dict()``) in plain text: outcome, the paired numbers, one row per arm."""
    lines = [f"Verdict: {verdict['outcome'].upper()}: {verdict['summary']}", f"  {verdict['reason']}"]
    c = verdict["comparison"]
    if c is not None:
        ci = f"[{c['ci95'][0]:+.3f}, {c['ci95'][1]:+.3f}]" if c["ci95"] else "not computed"
        p = f"{c['p_value']:.3g}" if c["p_value"] is not None else "not computed"
        d = f"{c['effect_size']:.2f}" if c["effect_size"] is not None else "not computed"
        lines.append(
            f"  paired over {c['seeds']} seeds: difference {c['mean_difference']:+.3f}, 95% CI {ci}, p {p}, d_z {d}"
        )
    target = f"{verdict['target_accuracy']:.3f}" if verdict["target_accuracy"] is not None else "n/a"
    lines.append(f"  {'arm':<18} {'seeds':>5} {'accuracy':>16} {'train s':>8} {'to ' + target:>10} {'acc/s':>8}")
    for e in verdict["arms"]:
        std = e["accuracy_std"]
        accuracy = f"{e['accuracy_mean']:.3f}" + (f" ± {std:.3f}" if std is not None else "")
        reach = f"{e['time_to_target_s']:.1f}s" if e["time_to_target_s"] is not None else "not reached"
        lines.append(
            f"  {e['arm']:<18} {e['seeds']:>5} {accuracy:>16} {e['train_seconds_mean']:>8.1f} {reach:>10} "
            f"{e['accuracy_per_train_second']:>8.4f}"
        )
    if verdict["not_computed"]:
        lines.append("  not computed: " + "; ".join(verdict["not_computed"]))
    return "\n".join(lines)
