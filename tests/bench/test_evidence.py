"""Curves, power-law fits, crossover and verdicts on constructed results with known answers."""

from dataclasses import replace

import numpy as np
import pytest

from bench.errors import BenchInputError
from bench.evidence.curve import CurveConfig, PowerLaw, estimate_crossover, fit_power_law, validate_sizes
from bench.evidence.verdict import make_verdict, render_verdict
from bench.train.config import TrialConfig
from bench.train.health import Finding, assess, pack_correct
from bench.train.result import EpochRecord, TrialResult
from bench.vocabulary import FindingCode


def law(a, b, c):
    return lambda n: a - b * n ** (-c)


def table_from(laws: dict, sizes, seeds=3, noise=0.003, seed=0):
    rng = np.random.default_rng(seed)
    return {
        arm: {n: {s: float(f(n) + noise * rng.normal()) for s in range(seeds)} for n in sizes}
        for arm, f in laws.items()
    }


def fits_for(table):
    return {
        arm: fit_power_law(arm, sorted(t), [float(np.mean(list(t[n].values()))) for n in sorted(t)])
        for arm, t in table.items()
    }


def test_power_law_recovers_parameters_and_backtests():
    sizes = [100, 300, 1000, 3000]
    truth = law(0.9, 2.0, 0.5)
    fit = fit_power_law("scratch", sizes, [truth(n) for n in sizes])
    assert fit.a == pytest.approx(0.9, abs=0.01) and fit.c == pytest.approx(0.5, abs=0.05)
    assert abs(fit.backtest_error) < 0.005
    assert fit.note == ""


def test_falling_curve_is_flagged():
    fit = fit_power_law("scratch", [100, 300, 1000], [0.8, 0.7, 0.6])
    assert "accuracy falls" in fit.note


def test_crossover_found_with_an_interval():
    sizes = [100, 300, 1000, 3000]
    # Fine-tuning saturates at 0.85; scratch climbs to 0.95 and passes it near n ~ 2,000.
    table = table_from({"full_finetune": law(0.85, 1.0, 0.7), "scratch": law(0.95, 2.0, 0.45)}, sizes)
    expected = ((2.0 - 0) / (0.95 - 0.85)) ** (1 / 0.45)  # ignores the small fine-tune term
    crossover = estimate_crossover(table, fits_for(table), sizes)
    assert crossover.status == "crossover"
    assert 0.5 * expected < crossover.examples < 1.5 * expected
    low, high = crossover.interval
    assert low <= crossover.examples <= high
    assert "beyond 3,000 it is an extrapolation" in crossover.text


def test_no_crossover_when_scratch_stays_below():
    sizes = [100, 300, 1000, 3000]
    table = table_from({"linear_probe": law(0.9, 1.0, 0.5), "scratch": law(0.7, 3.0, 0.5)}, sizes)
    crossover = estimate_crossover(table, fits_for(table), sizes)
    assert crossover.status == "none_in_range"
    assert crossover.examples is None and "does not overtake" in crossover.text


def test_an_early_lead_that_fine_tuning_takes_back_is_not_a_crossover():
    sizes = [100, 300, 1000, 3000]
    # Scratch ahead at 100 (0.73 vs 0.71), then frozen features pull ahead: the Fashion-MNIST shape.
    table = table_from({"linear_probe": law(0.84, 7.0, 0.87), "scratch": law(0.76, 3e4, 3.0)}, sizes, noise=0.0005)
    crossover = estimate_crossover(table, fits_for(table), sizes)
    assert crossover.status == "none_in_range" and crossover.examples is None
    assert "then the fine-tuning arms lead" in crossover.text


def test_scratch_ahead_everywhere_is_said_so():
    sizes = [100, 300, 1000, 3000]
    table = table_from({"linear_probe": law(0.7, 1.0, 0.5), "scratch": law(0.95, 1.0, 0.5)}, sizes)
    crossover = estimate_crossover(table, fits_for(table), sizes)
    assert crossover.status == "scratch_ahead" and "ahead across the whole range" in crossover.text


def test_crossover_needs_three_sizes_and_both_families():
    sizes = [100, 300]
    table = table_from({"linear_probe": law(0.9, 1.0, 0.5), "scratch": law(0.7, 3.0, 0.5)}, sizes)
    assert estimate_crossover(table, {}, sizes).status == "not_computed"


def test_sizes_are_checked():
    config = CurveConfig(TrialConfig("digits", "scratch"), ("scratch",), (100, 50000), (0,))
    with pytest.raises(BenchInputError, match="50000 larger than the 1,169 training examples"):
        validate_sizes(config, 1169, 10)
    with pytest.raises(BenchInputError, match="distinct sizes in increasing order"):
        validate_sizes(CurveConfig(config.base, ("scratch",), (300, 100, 200)), 1169, 10)
    notes = validate_sizes(CurveConfig(config.base, ("scratch",), (100, 300), (0,)), 1169, 10)
    assert any("no power-law fit" in n for n in notes) and any("one seed" in n for n in notes)


TEST_SIZE = 500
DIFFICULTY = np.random.default_rng(7).permutation(TEST_SIZE)  # shared: easy examples are easy for every arm


def correctness(accuracy: float, seed: int) -> np.ndarray:
    """Per-example correctness with the given accuracy; arms agree on easy examples, seeds jitter a little."""
    score = DIFFICULTY + np.random.default_rng(seed).normal(0, 15, TEST_SIZE)
    return np.argsort(np.argsort(score)) < round(accuracy * TEST_SIZE)


def trial(arm, seed, accuracy, seconds=5.0, examples=1000, steps=200, learned=True):
    history = (EpochRecord(1.0, 10, 0.5, accuracy * 0.8, seconds / 2), EpochRecord(2.0, 20, 0.3, accuracy, seconds))
    correct = correctness(accuracy, seed)
    health = assess(correct, 0.1, steps, 2.0, gradient=arm != "linear_probe", budget_seconds=seconds)
    return TrialResult(
        TrialConfig("digits", arm, seed=seed, examples=examples, budget_seconds=seconds), "completed",
        test_accuracy=float(correct.mean()), test_macro_f1=accuracy, time_train_s=seconds, history=history,
        train_examples=examples, steps=steps, epochs_run=2.0, health=health, test_correct=pack_correct(correct),
        test_size=TEST_SIZE, images_per_second=steps * 64 / seconds, device="cpu (x86_64, 2 threads)",
    )  # fmt: skip


def results(scores: dict[str, list[float]], **kwargs):
    return [trial(arm, seed, acc, **kwargs) for arm, accs in scores.items() for seed, acc in enumerate(accs)]


def test_verdict_confirmed():
    verdict = make_verdict(
        "linear_probe", results({"linear_probe": [0.82, 0.835, 0.81], "scratch": [0.75, 0.76, 0.745]})
    )
    assert verdict.outcome == "confirmed" and verdict.measured_winner == "linear_probe"
    assert verdict.comparison.p_value < 0.05 and verdict.comparison.effect_size > 1
    assert verdict.comparison.ci95[0] > 0


def test_verdict_contradicted_names_a_likely_reason():
    verdict = make_verdict(
        "full_finetune", results({"full_finetune": [0.70, 0.71, 0.69], "scratch": [0.80, 0.82, 0.81]})
    )
    assert verdict.outcome == "contradicted" and verdict.measured_winner == "scratch"
    assert "less similar to the pretraining data than assumed" in verdict.reason


def test_verdict_inconclusive_says_what_the_run_could_detect():
    verdict = make_verdict(
        "linear_probe", results({"linear_probe": [0.80, 0.78, 0.82], "scratch": [0.79, 0.80, 0.795]})
    )
    assert verdict.outcome == "inconclusive" and verdict.decided
    assert "could detect differences of about" in verdict.summary
    assert verdict.comparison.ci95[0] <= 0 <= verdict.comparison.ci95[1] and verdict.comparison.p_value >= 0.05
    assert "seeds (or a larger test split) would resolve" in verdict.reason


def test_a_single_seed_is_decided_on_the_test_set_never_called_noise():
    verdict = make_verdict("linear_probe", results({"linear_probe": [0.68], "scratch": [0.50]}))
    assert verdict.outcome == "confirmed"
    assert verdict.comparison.seed_test is None and "over 500 test examples" in verdict.comparison.method
    assert verdict.comparison.p_value < 0.05 and verdict.comparison.ci95[0] > 0
    assert "p " in render_verdict(verdict.to_dict())


def test_hybrid_advice_cannot_be_checked_without_the_hybrid_arm():
    verdict = make_verdict("hybrid", results({"linear_probe": [0.8, 0.8], "scratch": [0.7, 0.7]}))
    assert (
        verdict.outcome == "not_decided"
        and "Hybrid (in-domain pretraining, then fine-tune) is not benchmarked" in verdict.summary
    )


def test_scratch_advice_counts_either_scratch_arm():
    verdict = make_verdict(
        "scratch", results({"scratch_same_arch": [0.9, 0.91, 0.92], "linear_probe": [0.7, 0.72, 0.71]})
    )
    assert verdict.outcome == "confirmed" and verdict.measured_winner == "scratch_same_arch"


def test_a_starved_rival_is_never_the_one_confirmed_against():
    trials = [
        *results({"linear_probe": [0.8, 0.81, 0.8]}),
        *results({"scratch": [0.1, 0.1, 0.1]}, steps=9, seconds=5.0),
    ]
    verdict = make_verdict("linear_probe", trials)
    assert verdict.outcome == "not_decided"
    assert "Train from scratch did not train in 5 s (9 steps); give it at least" in verdict.summary
    scratch = next(e for e in verdict.arms if e.arm == "scratch")
    assert scratch.undertrained and any("30 steps" in h for h in scratch.health)


def test_a_starved_hybrid_arm_is_told_to_count_its_pretraining_in_the_budget():
    # Both trained 9 steps in 5 s of training proper; the hybrid arm's budget also paid for pretraining.
    verdict = make_verdict("scratch", results({"scratch": [0.1, 0.1], "hybrid": [0.1, 0.1]}, steps=9))
    # One computation of "give it N seconds" (bench.train.health.seconds_to_floor), the plan's: twice the bare
    # estimate of 30 steps at the measured rate with 85% of the budget training, half of that for the hybrid arm.
    assert "Train from scratch did not train in 5 s (9 steps); give it at least 40 s" in verdict.summary
    assert (
        "Hybrid (in-domain pretraining, then fine-tune) did not train in 5 s (9 steps); give it at least 80 s (50% of it pretrains)"
        in verdict.summary
    )


def test_the_verdict_repeats_the_plans_budget_and_says_why_when_training_ran_slower():
    # The walkthrough: the run's plan said 20 s for an arm, its verdict 15 s. The plan's number stands; a
    # larger one from the trial's own rate (40 s here) is given with the plan's beside it.
    starved = results({"linear_probe": [0.8, 0.8], "scratch": [0.1, 0.1]}, steps=9)
    agrees = make_verdict("linear_probe", starved, planned_seconds={"scratch": 60.0})
    assert "Train from scratch did not train in 5 s (9 steps); give it at least 60 s" in agrees.summary
    assert "the plan before training said" not in agrees.summary
    slower = make_verdict("linear_probe", starved, planned_seconds={"scratch": 20.0})
    assert ("give it at least 40 s; the plan before training said 20 s, and training ran slower than its probe"
            in slower.summary)  # fmt: skip
    assert "give it at least 40 s" in make_verdict("linear_probe", starved).summary  # no plan: the trial's own rate


def test_a_hybrid_arm_whose_pretraining_overran_its_share_is_not_compared():
    finding = Finding(FindingCode.PRETRAINING_OVERRAN, {"seconds": 40, "steps": 1, "share": 10, "budget_seconds": 20})
    overran = "pretraining took 40 s for 1 step, over its 10 s share of the 20 s budget: not an equal-time comparison"
    hybrid = [
        replace(t, health=replace(t.health, undertrained=True, findings=(*t.health.findings, finding)))
        for t in results({"hybrid": [0.95, 0.96]})
    ]
    verdict = make_verdict("linear_probe", [*results({"linear_probe": [0.8, 0.81]}), *hybrid])
    assert verdict.outcome == "not_decided" and verdict.measured_winner == "hybrid"
    assert f"Hybrid (in-domain pretraining, then fine-tune) is not compared: {overran}" in verdict.summary


def test_a_starved_advised_arm_is_not_decided():
    trials = [*results({"scratch": [0.5, 0.5]}, steps=9), *results({"linear_probe": [0.8, 0.8]})]
    verdict = make_verdict("scratch", trials)
    assert verdict.outcome == "not_decided" and "Train from scratch did not train" in verdict.summary


def test_arms_at_chance_give_no_verdict():
    trials = [
        *results({"linear_probe": [0.1, 0.11]}),
        *results({"full_finetune": [0.1, 0.09]}),
    ]
    verdict = make_verdict("linear_probe", trials)
    assert verdict.outcome == "not_decided" and "no arm trained above chance" in verdict.summary


def test_arms_on_different_kinds_of_device_are_not_compared():
    trials = results({"linear_probe": [0.9, 0.9], "scratch": [0.6, 0.6]})
    trials = [replace(t, device="cuda (NVIDIA H100)") if t.config.arm == "scratch" else t for t in trials]
    verdict = make_verdict("linear_probe", trials)
    assert verdict.outcome == "not_decided" and "different kinds of device" in verdict.summary


def test_arms_on_cpus_with_different_thread_counts_are_not_compared():
    """One notion of comparable (bench.device.device_kinds): a budget on 2 threads and on 8 is not the same compute."""
    trials = results({"linear_probe": [0.9, 0.9], "scratch": [0.6, 0.6]})
    assert make_verdict("linear_probe", trials).outcome != "not_decided"  # same CPU, same threads: compared
    trials = [replace(t, device="cpu (x86_64, 8 threads)") if t.config.arm == "scratch" else t for t in trials]
    verdict = make_verdict("linear_probe", trials)
    assert verdict.outcome == "not_decided" and "different kinds of device" in verdict.summary
    assert "cpu (x86_64, 2 threads)" in verdict.summary and "cpu (x86_64, 8 threads)" in verdict.summary
    assert {e.arm: e.device for e in verdict.arms}["scratch"] == "cpu (x86_64, 8 threads)"


def test_power_law_predict_is_monotone():
    fit = PowerLaw("x", 0.9, 1.0, 0.5)
    assert fit.predict(100) < fit.predict(1000) < 0.9


def planned_question(regime, bound_seconds, budget_hours=1.0):
    from bench.train.check import ArmRate, Question, plan_check
    from bench.vocabulary import ArmFamily

    rates = (ArmRate("linear_probe", ArmFamily.PROBE, 1266.0, eval_images=2000, fixed_seconds=2.0),
             ArmRate("scratch", ArmFamily.SCRATCH, 247.0, epochs_to_converge=30, fixed_seconds=1.0))  # fmt: skip
    plan = plan_check(Question(budget_hours, "cpu", 1000), rates, 1000, bound_seconds, 20, "cpu")
    assert plan.regime == regime
    return plan.verdict_question()


def test_the_verdict_states_the_question_it_answered_per_regime():
    from bench.vocabulary import CheckRegime

    scores = {"linear_probe": [0.82, 0.835, 0.81], "scratch": [0.75, 0.76, 0.745]}
    flags = {"check_minutes": "--check-minutes"}
    yours = make_verdict("linear_probe", results(scores), planned_question(CheckRegime.YOUR_BUDGET, 600)).to_dict()
    text = render_verdict(yours, flags)
    assert text.startswith("At your budget (1 hour on this CPU) on 1,000 examples: every arm trained until converged.")
    assert "\nVerdict: CONFIRMED: the advised Linear probe beat Train from scratch" in text

    demo = make_verdict("linear_probe", results(scores), planned_question(CheckRegime.DEMO, 90)).to_dict()
    text = render_verdict(demo, flags)
    first, second = text.splitlines()[:2]
    assert "(a demo, not your budget of 1 hour on this CPU; --check-minutes" in first and "would measure it" in first
    # A check shorter than the person's budget never says CONFIRMED about their question without saying so.
    assert second.startswith("Verdict (for this check, not your question): CONFIRMED")
    assert demo["question"]["regime"] == CheckRegime.DEMO and demo["outcome"] == "confirmed"

    fixed = {"regime": CheckRegime.FIXED, "budget_hours": 1, "compute": "cpu", "device_compute": "cpu",
             "per_arm_seconds": 20.0, "examples": 1000, "labeled_examples": 1000}  # fmt: skip
    text = render_verdict(make_verdict("linear_probe", results(scores), fixed).to_dict())
    assert text.startswith("At 20 s per arm (set by the options, not your budget of 1 hour on this CPU)")
    assert "not your question): CONFIRMED" in text
    assert "question" not in make_verdict("linear_probe", results(scores)).to_dict() or (
        make_verdict("linear_probe", results(scores)).question is None
    )
