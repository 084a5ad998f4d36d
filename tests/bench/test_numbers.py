"""Numbers that say what they rest on: intervals over what, a detectable difference never 0, a method
label that is the method used, seconds to target only for arms that trained, honest learning curves.

Pure: constructed results and stored analyses, no training.
"""

from dataclasses import replace

import numpy as np

from bench.evidence.stats import compare
from bench.evidence.verdict import make_verdict, render_verdict
from bench.train.config import TrialConfig
from bench.train.health import assess, pack_correct
from bench.train.result import EpochRecord, TrialResult
from finetune_or_scratch.reports.charts import curve_chart
from finetune_or_scratch.reports.report import comparison_sentence


def trial(arm, correct, best_val=0.9, steps=200, chance=0.1, seed=0):
    correct = np.asarray(correct, bool)
    health = assess(correct, chance, steps, 2.0, gradient=arm != "linear_probe", budget_seconds=5.0)
    history = (EpochRecord(1.0, 10, 0.5, best_val * 0.8, 2.0), EpochRecord(2.0, 20, 0.3, best_val, 4.0))
    return TrialResult(
        TrialConfig("digits", arm, seed=seed, examples=100, budget_seconds=5.0), "completed",
        test_accuracy=float(correct.mean()), time_train_s=4.0, history=history, steps=steps, epochs_run=2.0,
        health=health, test_correct=pack_correct(correct), test_size=len(correct), train_examples=100,
        device="cpu (x86_64, 2 threads)",
    )  # fmt: skip


def test_twelve_identical_test_examples_decide_nothing_and_say_what_size_would():
    same = np.array([True] * 10 + [False] * 2)
    verdict = make_verdict("linear_probe", [trial("linear_probe", same), trial("full_finetune", same)])
    c = verdict.comparison
    assert c.detectable > 0.6 and c.spread_detectable == 0.0  # never 0: 12 examples cannot see less than ~0.65
    assert c.decides_nothing and c.examples_to_detect == 79  # 7.85 / 0.10
    assert verdict.outcome == "not_decided"
    assert "over 12 test examples, one seed" in verdict.summary
    assert "12 test examples are too few to decide" in verdict.summary
    assert "could detect differences of about 0.000" not in verdict.summary
    assert "about 79 examples would detect a difference of 0.10" in verdict.reason
    sentence = comparison_sentence(verdict.to_dict()["comparison"])
    assert "paired bootstrap over 12 test examples, one seed" in sentence and "t-test" not in sentence
    assert "too few to decide: no difference under about 65 points" in sentence
    assert "about 79 test examples would detect 10 points" in sentence
    assert "paired bootstrap over 12 test examples" in render_verdict(verdict.to_dict())


def test_a_large_test_set_states_its_detectable_difference_and_method_over_seeds():
    rng = np.random.default_rng(0)
    a, b = rng.random((3, 400)) < 0.8, rng.random((3, 400)) < 0.78
    c = compare(("scratch", "linear_probe"), a, b)
    assert not c.decides_nothing and 0 < c.detectable < 0.25
    assert c.method.startswith("two-way bootstrap over 3 seeds and 400 test examples") and c.over.startswith("3 seeds")
    sentence = comparison_sentence(c.__dict__)
    assert f"it could detect differences of about {c.detectable * 100:.1f} points or more" in sentence


def test_seconds_to_target_only_for_arms_that_trained():
    rng = np.random.default_rng(1)
    good = rng.random(300) < 0.9
    at_chance = rng.random(300) < 0.1  # not above chance: did not train
    verdict = make_verdict(
        "linear_probe", [trial("linear_probe", good, best_val=0.9), trial("scratch", at_chance, best_val=0.12)]
    )
    arms = {e.arm: e for e in verdict.arms}
    assert arms["scratch"].undertrained and arms["scratch"].time_to_target_s is None
    assert arms["scratch"].time_to_target_note == "did not train"
    assert verdict.target_accuracy == 0.81  # from the trained arm alone, not 0.9 x 0.12
    assert arms["linear_probe"].time_to_target_s == 4.0
    assert "untrained" in render_verdict(verdict.to_dict())


def test_no_seconds_to_target_for_a_target_at_or_below_chance():
    rng = np.random.default_rng(2)
    # Both arms learned on test (above a 0.1 chance), but one's best validation accuracy is 0.1: 0.9 x 0.1 < chance.
    verdict = make_verdict(
        "linear_probe",
        [trial("linear_probe", rng.random(300) < 0.9, best_val=0.9), trial("scratch", rng.random(300) < 0.6, 0.1)],
    )
    assert verdict.target_accuracy is None
    assert "not above chance (0.100)" in verdict.target_note
    assert all(e.time_to_target_s is None and "chance" in e.time_to_target_note for e in verdict.arms)


def curve(untrained_at_100=1):
    points = [
        {"arm": "scratch", "examples": 100, "seeds": 1, "mean": 0.1, "std": None, "ci95": None,
         "untrained": untrained_at_100},
        {"arm": "scratch", "examples": 300, "seeds": 1, "mean": 0.7, "std": None, "ci95": None, "untrained": 0},
        {"arm": "linear_probe", "examples": 100, "seeds": 1, "mean": 0.6, "std": None, "ci95": None, "untrained": 0},
        {"arm": "linear_probe", "examples": 300, "seeds": 1, "mean": 0.8, "std": None, "ci95": None, "untrained": 0},
    ]  # fmt: skip
    return {"points": points, "fits": [], "crossover": {"status": "not_enough_sizes"}}


def test_the_curve_chart_spans_the_measured_sizes_and_marks_untrained_points():
    spec = curve_chart(curve()).to_dict()
    layers = spec["layer"]
    scales = [layer["encoding"]["x"]["scale"] for layer in layers]
    assert all(s["domain"] == [100, 300] and s["nice"] is False for s in scales)  # not to 1,000
    datasets = spec["datasets"]
    line, crosses = layers[0], layers[-1]
    line_rows = datasets[line["data"]["name"]]
    assert sorted(r["examples"] for r in line_rows) == [100, 300, 300]  # the untrained scratch point is off the line
    assert all(r["trained"] == "trained" for r in line_rows)
    assert crosses["mark"]["shape"] == "cross"
    cross_rows = datasets[crosses["data"]["name"]]
    assert [(r["examples"], r["trained"]) for r in cross_rows] == [(100, "did not train")]


def test_untrained_curve_points_are_counted_and_left_out_of_the_fits():
    from bench.evidence.curve import CurveConfig, analyse_curve

    rng = np.random.default_rng(3)
    trials = []
    for n, acc, steps in [(100, 0.1, 5), (300, 0.7, 200), (1000, 0.8, 200)]:
        result = trial("scratch", rng.random(300) < acc, steps=steps)
        trials.append(replace(result, config=TrialConfig("digits", "scratch", examples=n), train_examples=n))
    config = CurveConfig(TrialConfig("digits", "scratch"), ("scratch",), (100, 300, 1000), (0,))
    analysis = analyse_curve(config, trials, {}, [])
    assert [p.untrained for p in analysis.points] == [1, 0, 0]
    assert any(
        "did not train, left out of the fits" in note and "Train from scratch at 100" in note for note in analysis.notes
    )


def test_the_learned_p_value_is_the_one_sided_binomial_test():
    from scipy import stats

    for k, n, chance in [(0, 12, 0.1), (3, 12, 0.1), (40, 359, 0.1), (52, 359, 0.1), (359, 359, 0.5), (7, 20, 1 / 3)]:
        correct = np.array([True] * k + [False] * (n - k))
        health = assess(correct, chance, 200, 2.0, gradient=True, budget_seconds=None)
        exact = stats.binomtest(k, n, chance, alternative="greater").pvalue
        assert health.learned_p_value == round(exact, 6), (k, n, chance)
    assert assess(np.array([], bool), 0.1, 200, 2.0, gradient=True, budget_seconds=None).learned_p_value == 1.0
