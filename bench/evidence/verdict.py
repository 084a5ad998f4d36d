"""Does the measurement confirm the advice? Paired on seeds and test examples, never against a starved arm.

Outcomes:

* ``confirmed``: the advised arm has the best mean and beats the best healthy rival (p < 0.05);
* ``contradicted``: a healthy rival beats the advised arm (p < 0.05);
* ``inconclusive``: the difference is within what this run could detect, and the verdict says
  how large a difference it could have detected;
* ``not_decided``: the numbers cannot say: the advised arm or every rival did not train
  (undertrained: under the step/epoch floor, or not above chance), arms ran on different kinds
  of device, or fewer than two arms finished. The verdict says what is missing and what would fix it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np

from advisor.vocabulary import Outcome, StrategyName, Trainable
from bench.data.units import unit_for_dataset
from bench.device import device_kinds
from bench.evidence.question import projection_words, question_words
from bench.evidence.stats import (
    REPLICATES,
    RESOLVE_DIFFERENCE,
    PairedComparison,
    compare,
    p_words,
    seeds_to_detect,
)
from bench.evidence.summary import completed, summarise_arm
from bench.train.arms import ARMS, arm_label, arms_for_strategy
from bench.train.health import Finding, describe, floor_steps, seconds_to_floor, stored_findings
from bench.train.result import TrialResult
from bench.vocabulary import ArmFamily, CheckRegime, FindingCode

THROUGHPUT_SPREAD = 0.30  # images/s varying more than this across one arm's seeds is flagged


@dataclass(frozen=True)
class ArmEvidence:
    """An arm as the verdict weighs it: its statistics (from :func:`~bench.evidence.summary.summarise_arm`)
    and the verdict's own measures (time to the common target, accuracy per training second)."""

    arm: str
    seeds: int
    accuracy_mean: float
    accuracy_std: float | None
    train_seconds_mean: float
    time_to_target_s: float | None  # first validation pass at the common target accuracy (trained arms only)
    accuracy_per_train_second: float
    steps_mean: float = 0.0
    epochs_mean: float = 0.0
    chance_accuracy: float | None = None
    undertrained: bool = False
    findings: tuple[Finding, ...] = ()  # why it is undertrained
    throughput_spread: float | None = None  # (max - min) / mean images per second across seeds
    device: str = ""  # its kind (bench.device.device_kinds); two kinds joined with +: seeds on unlike devices
    time_to_target_note: str = ""  # why time_to_target_s is blank: did not train, no target above chance, not reached

    @property
    def health(self) -> tuple[str, ...]:
        """The findings in the engine's words."""
        return tuple(describe(f) for f in self.findings)


@dataclass(frozen=True)
class Verdict:
    advised: str
    measured_winner: str
    outcome: Outcome
    summary: str
    reason: str
    comparison: PairedComparison | None
    arms: tuple[ArmEvidence, ...]
    examples: int | None
    target_accuracy: float | None  # above chance, from the arms that trained; None: see target_note
    not_computed: tuple[str, ...] = field(default_factory=tuple)
    notes: tuple[str, ...] = field(default_factory=tuple)
    # The question the check answered (bench.train.check: regime, the profile's budget and compute, what
    # each arm got); None without a profile. Front ends word it with :func:`question_words`.
    question: dict[str, Any] | None = None
    target_note: str = ""  # why there is no target accuracy (no arm trained, or none got above chance)
    # The learning curve carried to the profile's labeled count when the check trained on fewer
    # (bench.evidence.curve.SizeProjection, as a dict), or why it cannot be; None when not asked.
    projection: dict[str, Any] | None = None

    @property
    def decided(self) -> bool:
        return Outcome(self.outcome).decisive or (self.outcome == Outcome.INCONCLUSIVE and self.comparison is not None)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _by_arm(results: list[TrialResult]) -> dict[str, dict[int, TrialResult]]:
    table: dict[str, dict[int, TrialResult]] = {}
    done = completed(results)
    for r in done:
        table.setdefault(r.config.arm, {})[r.config.seed] = r
    return table


def _time_to(target: float, result: TrialResult) -> float | None:
    return next((h.train_seconds for h in result.history if h.val_accuracy >= target), None)


def _evidence(arm: str, trials: dict[int, TrialResult]) -> ArmEvidence:
    runs = list(trials.values())
    stats = summarise_arm(arm, runs)
    return ArmEvidence(
        arm=arm,
        seeds=stats.trials,
        accuracy_mean=stats.accuracy_mean,
        accuracy_std=stats.accuracy_std,
        train_seconds_mean=round(stats.train_seconds_mean, 3),
        time_to_target_s=None,
        accuracy_per_train_second=round(stats.accuracy_mean / max(stats.train_seconds_mean, 1e-9), 5),
        steps_mean=round(stats.steps_mean, 1),
        epochs_mean=round(stats.epochs_mean, 3),
        chance_accuracy=stats.chance_accuracy,
        undertrained=stats.undertrained > 0,
        findings=stats.findings,
        throughput_spread=stats.throughput_spread,
        device=" + ".join(sorted(device_kinds(runs))),
    )


def common_target(evidence: Mapping[str, ArmEvidence], table: dict[str, dict[int, TrialResult]]):
    """(target accuracy, note): 90% of the lowest best validation accuracy among the arms that trained,
    if that is above chance; else (None, why). An arm that did not train sets no target."""
    trained = [arm for arm, e in evidence.items() if not e.undertrained]
    reached = [max(h.val_accuracy for h in t.history) for a in trained for t in table[a].values() if t.history]
    if not reached:
        return None, "no arm trained, so there is no common target accuracy"
    target = round(0.9 * min(reached), 4)
    chance = max((e.chance_accuracy for e in evidence.values() if e.chance_accuracy is not None), default=0.0)
    if target <= chance:
        return None, (f"no target above chance: 90% of the weakest trained arm's best validation accuracy "
                      f"({target:.3f}) is not above chance ({chance:.3f})")  # fmt: skip
    return target, ""


def _with_time_to(e: ArmEvidence, trials: dict[int, TrialResult], target: float | None, why: str) -> ArmEvidence:
    if e.undertrained:
        return replace(e, time_to_target_note="did not train")
    if target is None:
        return replace(e, time_to_target_note=why)
    times = [_time_to(target, t) for t in trials.values()]
    if any(t is None for t in times):
        return replace(e, time_to_target_note=f"did not reach {target:.3f} on validation in every seed")
    return replace(e, time_to_target_s=round(float(np.mean(times)), 3))


def _starved(evidence: ArmEvidence, trials: dict[int, TrialResult], planned: float | None = None) -> str:
    """'scratch did not train in 5 s (9 steps); give it at least 40 s' (or why it did not learn).

    ``planned``: the budget the run's plan suggested for this arm before training, from its throughput
    probe. The verdict says the same number, unless training ran slower than the probe measured: then
    the larger one, and why the two differ."""
    runs = list(trials.values())
    config = runs[0].config
    budget, steps = config.budget_seconds, int(evidence.steps_mean)
    first = describe(evidence.findings[0]) if evidence.findings else "did not train"
    if budget is None or ARMS[evidence.arm].trainable == Trainable.HEAD:  # no steps to give more of
        return f"{arm_label(evidence.arm)} did not learn: {first}"
    per_second = np.mean([t.steps / t.time_train_s for t in runs if t.time_train_s]) if steps else 0.0
    steps_per_epoch = max(1.0, steps / max(evidence.epochs_mean, 1e-9)) if evidence.epochs_mean else 1.0
    if per_second > 0 and steps < floor_steps(steps_per_epoch):
        measured = seconds_to_floor(per_second, steps_per_epoch, config.train_share)
        suggestion = max(measured, planned or 0.0)
        share = f" ({config.pretrain_share:.0%} of it pretrains)" if config.pretrain_share else ""
        differs = (f"; the plan before training said {planned:g} s, and training ran slower than its probe"
                   if planned and suggestion > planned else "")  # fmt: skip
        return (f"{arm_label(evidence.arm)} did not train in {budget:g} s ({steps} steps); give it at least {suggestion:g} s"
                f"{share}{differs}")  # fmt: skip
    overran = next((f for f in evidence.findings if f.code == FindingCode.PRETRAINING_OVERRAN), None)
    if overran is not None:  # trained, but on more wall-clock than the others
        return f"{arm_label(evidence.arm)} is not compared: {describe(overran)}"
    return f"{arm_label(evidence.arm)} did not learn in {budget:g} s ({steps} steps): {first}"


def planned_seconds(budget_plan: Sequence[Mapping[str, Any]]) -> dict[str, float]:
    """Per arm, the budget a run's plan suggested before training (``budget_plan`` as stored: a run's analysis,
    a results file's field): what the verdict's "give it N s" repeats, from the run or judged again later.

    >>> planned_seconds([{"arm": "scratch", "suggested_seconds": 40.0}, {"arm": "full_finetune", "suggested_seconds": None}])
    {'scratch': 40.0}
    """
    return {p["arm"]: float(p["suggested_seconds"]) for p in budget_plan if p.get("suggested_seconds")}


def make_verdict(
    advised: str,
    results: list[TrialResult],
    question: Mapping[str, Any] | None = None,
    curve: list[TrialResult] | None = None,
    planned_seconds: Mapping[str, float] | None = None,
) -> Verdict:
    """Compare the advisor's top strategy with the measured winner; only arms that trained count.

    ``question``: what the check measured (a planned check's ``CheckPlan.verdict_question()``), kept on the
    verdict so that no front end words a demo's outcome as the answer to the person's question.
    When the question's labeled count exceeds what the trials trained on, the verdict adds the learning
    curve's projection to that count from ``curve`` (every size's trials; default ``results``), or why
    there is none. ``planned_seconds``: per arm, the budget the run's plan suggested before training (the
    verdict's "give it N s" then agrees with it; see ``_starved``).
    """
    verdict = _judge(advised, results, planned_seconds or {})
    if question is None:
        return verdict
    verdict = replace(verdict, question=dict(question))
    labeled = question.get("labeled_examples")
    trained = max((r.train_examples for r in completed(results)), default=None)
    if labeled and trained and labeled > trained:
        from bench.evidence.curve import project_trials  # deferred: the curve module imports torch (trial cache)

        projection = project_trials(curve or results, int(labeled))
        if not projection.projected and question.get("curve_reason"):  # the plan left the curve out: its why
            projection = replace(
                projection, reason=question["curve_reason"], bound_minutes=question.get("curve_minutes")
            )
        verdict = replace(verdict, projection=projection.to_dict())
    return verdict


def _judge(advised: str, results: list[TrialResult], planned: Mapping[str, float]) -> Verdict:
    verdict = _decide(advised, results, planned)
    if verdict.target_accuracy is None and verdict.arms:
        target_note = common_target({e.arm: e for e in verdict.arms}, _by_arm(results))[1]
        return replace(verdict, target_note=target_note)
    return verdict


def _decide(advised: str, results: list[TrialResult], planned: Mapping[str, float]) -> Verdict:
    table = _by_arm(results)
    examples = next((r.config.examples for r in results), None)
    if len(table) < 2:
        return Verdict(advised, next(iter(table), "none"), Outcome.NOT_DECIDED, "fewer than two arms finished",
                       "run at least two arms", None, (), examples, None, ("comparison",))  # fmt: skip
    evidence = {arm: _evidence(arm, trials) for arm, trials in table.items()}
    target, target_note = common_target(evidence, table)
    evidence = {arm: _with_time_to(e, table[arm], target, target_note) for arm, e in evidence.items()}
    arms = tuple(sorted(evidence.values(), key=lambda e: -e.accuracy_mean))
    rate = unit_for_dataset(results[0].config.dataset).rate if results else "img/s"
    notes = [
        f"{arm_label(e.arm)}: throughput varied {e.throughput_spread:.0%} across seeds ({rate}); the budget bought unequal work"
        for e in arms
        if e.throughput_spread is not None and e.throughput_spread > THROUGHPUT_SPREAD
    ]
    healthy = {arm for arm, e in evidence.items() if not e.undertrained}
    starved = {arm: _starved(e, table[arm], planned.get(arm)) for arm, e in evidence.items() if e.undertrained}
    best = max(evidence, key=lambda a: evidence[a].accuracy_mean)

    def undecided(summary: str, reason: str, missing: str) -> Verdict:
        return Verdict(advised, best, Outcome.NOT_DECIDED, summary, reason, None, arms, examples, target, (missing,),
                       tuple(notes))  # fmt: skip

    advised_arms = [a for a in arms_for_strategy(advised) if a in table]
    if not advised_arms:
        return undecided(
            f"{arm_label(advised)} is not benchmarked in this run",
            f"add the arm for {arm_label(advised)}",
            "comparison with the advised arm",
        )
    if not healthy:
        return undecided("no arm trained above chance and past the floor; " + "; ".join(starved.values()),
                         "check the labels (random labels look like this), or give the arms more time",
                         "a healthy arm")  # fmt: skip
    healthy_advised = [a for a in advised_arms if a in healthy]
    if not healthy_advised:
        return undecided("; ".join(starved[a] for a in advised_arms),
                         "the advised arm must train before it can be judged", "a trained advised arm")  # fmt: skip
    rivals = [a for a in healthy if a not in advised_arms]
    untested = [starved[a] for a in evidence if a in starved and a not in advised_arms]
    if untested:
        notes.append("not compared (did not train): " + "; ".join(untested))
    if not rivals:
        return undecided("no rival arm trained; " + "; ".join(untested),
                         "give the rival arms the budget they need", "a trained rival")  # fmt: skip
    kinds = device_kinds(t for a in [*healthy_advised, *rivals] for t in table[a].values())
    if len(kinds) > 1:
        return undecided(f"arms ran on different kinds of device ({', '.join(sorted(kinds))})",
                         "compare arms measured on the same kind of device", "same-device comparison")  # fmt: skip
    best_advised = max(healthy_advised, key=lambda a: evidence[a].accuracy_mean)
    best_rival = max(rivals, key=lambda a: evidence[a].accuracy_mean)
    winner = max([best_advised, best_rival], key=lambda a: evidence[a].accuracy_mean)
    loser = best_rival if winner == best_advised else best_advised
    comparison = _compare(table[winner], table[loser], (winner, loser))
    if comparison is None:
        return undecided("no per-example test results to compare (results from an older version?)",
                         "re-run to record per-example predictions", "paired test")  # fmt: skip
    gap = f"{comparison.mean_difference:+.3f}"
    interval = (f"95% CI [{comparison.ci95[0]:+.3f}, {comparison.ci95[1]:+.3f}], {p_words(comparison.p_value, comparison.replicates)}, "
                f"over {comparison.over}")  # fmt: skip
    if comparison.decides_nothing:
        size = comparison.test_examples_to_detect()
        summary = (f"{arm_label(winner)} vs {arm_label(loser)}: {gap} accuracy ({interval}); {comparison.test_examples:,} test examples are "
                   f"too few to decide: they could not detect a difference under about {comparison.detectable:.2f}")  # fmt: skip
        reason = (f"a test split of about {size:,} examples would detect a difference of {RESOLVE_DIFFERENCE:.2f} "
                  "(more labeled examples, or a dataset with more of them)")  # fmt: skip
        return Verdict(advised, winner, Outcome.NOT_DECIDED, summary, reason, comparison, arms, examples, target,
                       (f"a test set large enough to decide (about {size:,} examples)",), tuple(notes))  # fmt: skip
    if not comparison.significant:
        more = seeds_to_detect(comparison.mean_difference, comparison)
        summary = (f"{arm_label(winner)} vs {arm_label(loser)}: {gap} accuracy ({interval}); this run could detect differences of about "
                   f"{comparison.detectable:.3f} or more")  # fmt: skip
        reason = "the gap is smaller than the run can resolve" + (
            f": about {more} seeds (or a larger test split) would resolve {abs(comparison.mean_difference):.3f}"
            if more
            else ""
        )
        return Verdict(advised, winner, Outcome.INCONCLUSIVE, summary, reason, comparison, arms, examples, target, (),
                       tuple(notes))  # fmt: skip
    if winner == best_advised:
        named = arm_label(advised) if winner == advised else f"{arm_label(advised)} ({arm_label(winner)})"
        summary = f"the advised {named} beat {arm_label(loser)} by {gap} accuracy ({interval})"
        return Verdict(advised, winner, Outcome.CONFIRMED, summary, "the measurement agrees with the advice", comparison,
                       arms, examples, target, (), tuple(notes))  # fmt: skip
    summary = f"{arm_label(winner)} beat the advised {arm_label(advised)} by {gap} accuracy ({interval})"
    return Verdict(advised, winner, Outcome.CONTRADICTED, summary, _likely_reason(advised, winner), comparison, arms,
                   examples, target, (), tuple(notes))  # fmt: skip


def _compare(better: dict[int, TrialResult], worse: dict[int, TrialResult], names) -> PairedComparison | None:
    seeds = sorted(set(better) & set(worse))
    a = [better[s].correct() for s in seeds]
    b = [worse[s].correct() for s in seeds]
    if not seeds or any(x is None for x in [*a, *b]) or len({len(x) for x in [*a, *b]}) != 1:
        return None
    return compare(names, np.stack(a), np.stack(b))


def _likely_reason(advised: str, winner: str) -> str:
    winner_family = ARMS[winner].family
    advised_family = ARMS[arms_for_strategy(advised)[0]].family
    if winner_family == ArmFamily.SCRATCH and advised_family.uses_pretraining:
        return ("training from scratch won: the data is probably less similar to the pretraining data than assumed, "
                "its images smaller than the profile's input_resolution (small inputs make scratch cheap), "
                "or the data large enough for scratch at this budget")  # fmt: skip
    if advised_family == ArmFamily.SCRATCH and winner_family.uses_pretraining:
        return ("pretrained features won: the data is closer to the pretraining data than assumed, or too small "
                "(or the budget too short) for scratch")  # fmt: skip
    if advised == StrategyName.LINEAR_PROBE:
        return "adapting the backbone beat frozen features: the data is less similar than assumed, or has enough labels"
    if winner_family == ArmFamily.PROBE:
        return "frozen features won: the data is closer than assumed, or too few labels or too little time to fine-tune"
    return f"{arm_label(winner)} beat {arm_label(advised)}: the budget or data size favours a different amount of fine-tuning"


def render_verdict(verdict: dict[str, Any], names: Mapping[str, str] | None = None) -> str:
    """A stored verdict (``Verdict.to_dict()``) in plain text: outcome, the paired numbers, one row per arm.

    ``names`` words the options a health finding suggests (the CLI passes its flags).
    """
    outcome = Outcome(verdict["outcome"]).words
    question = verdict.get("question")
    lines = [f"Verdict: {outcome}: {verdict['summary']}", f"  {verdict['reason']}"]
    if question:
        qualifier = "" if question["regime"] == CheckRegime.YOUR_BUDGET else " (for this check, not your question)"
        lines = [question_words(question, names), f"Verdict{qualifier}: {outcome}: {verdict['summary']}",
                 f"  {verdict['reason']}"]  # fmt: skip
    if verdict.get("projection"):
        lines.append(f"  {projection_words(verdict['projection'], names)}")
    c = verdict.get("comparison")
    if c is not None:
        lines.append(
            f"  {c['better']} - {c['worse']}: {c['mean_difference']:+.3f} test accuracy, 95% CI "
            f"[{c['ci95'][0]:+.3f}, {c['ci95'][1]:+.3f}], {p_words(c['p_value'], c.get('replicates', REPLICATES))} ({c['method']}); "
            f"detectable difference {c['detectable']:.3f}"
        )
        mcnemar = ", ".join(f"{p:.3g}" for p in c.get("mcnemar_p", ()))
        seed = c.get("seed_test")
        if seed and seed.get("ci95"):
            lines.append(
                f"  paired t over {seed['seeds']} seeds: {seed['mean_difference']:+.3f}, 95% CI "
                f"[{seed['ci95'][0]:+.3f}, {seed['ci95'][1]:+.3f}], p {seed['p_value']:.3g}; McNemar exact p per seed: {mcnemar}"
            )
        elif mcnemar:
            lines.append(f"  McNemar exact p per seed: {mcnemar}")
    target = f"{verdict['target_accuracy']:.3f}" if verdict.get("target_accuracy") is not None else "n/a"
    lines.append(
        f"  {'arm':<18} {'seeds':>5} {'test accuracy':>16} {'chance':>6} {'steps':>6} {'train s':>8} "
        f"{'to ' + target:>10}  health"
    )
    for e in verdict["arms"]:
        std = e["accuracy_std"]
        accuracy = f"{e['accuracy_mean']:.3f}" + (f" ± {std:.3f}" if std is not None else "")
        reach = f"{e['time_to_target_s']:.1f}s" if e["time_to_target_s"] is not None else _blank_time(e)
        chance = f"{e['chance_accuracy']:.2f}" if e.get("chance_accuracy") is not None else "n/a"
        health = (
            "UNDERTRAINED: " + "; ".join(describe(f, names) for f in stored_findings(e))
            if e.get("undertrained")
            else "ok"
        )
        lines.append(
            f"  {e['arm']:<18} {e['seeds']:>5} {accuracy:>16} {chance:>6} {e.get('steps_mean', 0):>6.0f} "
            f"{e['train_seconds_mean']:>8.1f} {reach:>10}  {health}"
        )
    if verdict.get("target_note"):
        lines.append(f"  seconds to target: {verdict['target_note']}")
    lines += [f"  note: {note}" for note in verdict.get("notes", ())]
    if verdict["not_computed"]:
        lines.append("  not computed: " + "; ".join(verdict["not_computed"]))
    return "\n".join(lines)


def _blank_time(arm: Mapping[str, Any]) -> str:
    """The time-to-target cell of an arm without one: why, in a word (the full reason is the verdict's)."""
    note = arm.get("time_to_target_note", "")
    if note == "did not train":
        return "untrained"
    return "not reached" if note.startswith("did not reach") else "n/a"
