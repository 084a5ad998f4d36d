"""The check planned from the profile's question: pure plans from given rates (no training)."""

from dataclasses import replace

import pytest

from advisor import example_profile, recommend
from bench.errors import ConfigError
from bench.evidence.question import render_costs
from bench.train.check import CHECK_MARGIN, ArmRate, Question, full_scale_costs, measured_costs, plan_check
from bench.vocabulary import ArmFamily, ArmRegime, CheckRegime

# Rates measured in the default run on the 2-core CPU (issue 18): probe 1,266, scratch 247, full fine-tune 68 img/s.
RATES = (
    ArmRate("linear_probe", ArmFamily.PROBE, 1266.0, eval_images=2000, fixed_seconds=2.0),
    ArmRate("full_finetune", ArmFamily.FINETUNE, 68.0, epochs_to_converge=30, fixed_seconds=3.0),
    ArmRate("scratch", ArmFamily.SCRATCH, 247.0, epochs_to_converge=30, fixed_seconds=1.0),
)


def total(plan):
    return plan.spent_seconds + plan.seeds * sum(s.projected_seconds for s in plan.arms)


def test_fashion_mnist_at_3000_labels_and_one_cpu_hour_is_planned_until_converged():
    plan = plan_check(
        Question(1.0, "cpu", 3000), RATES, 3000, bound_seconds=3600, spent_seconds=30, device_compute="cpu"
    )
    assert plan.regime == CheckRegime.YOUR_BUDGET and plan.answers_question
    assert {s.arm: s.regime for s in plan.arms} == dict.fromkeys(("linear_probe", "full_finetune", "scratch"),
                                                                 ArmRegime.CONVERGED)  # fmt: skip
    assert all(b is None for b in plan.budgets().values())  # every arm until converged
    assert total(plan) <= plan.bound_seconds
    assert "This check measures your question" in plan.lines[-1]


def test_an_arm_whose_convergence_does_not_fit_the_budget_gets_what_the_budget_buys_scaled_to_the_check():
    # 100,000 labels and one hour: on the 1,000 checked the same budget buys the same epochs in 36 s.
    plan = plan_check(Question(1.0, "cpu", 100_000), RATES, 1000, bound_seconds=600, spent_seconds=20,
                      device_compute="cpu")  # fmt: skip
    schedules = {s.arm: s for s in plan.arms}
    assert plan.regime == CheckRegime.YOUR_BUDGET
    assert schedules["linear_probe"].regime == ArmRegime.CONVERGED
    for arm in ("full_finetune", "scratch"):
        assert schedules[arm].regime == ArmRegime.BUDGET_LIMITED and schedules[arm].budget_seconds == 36.0
    # The decision is the one at the person's size: 1 hour buys full fine-tuning under one epoch of 100,000 labels.
    assert schedules["full_finetune"].epochs_in_budget == pytest.approx(3600 * 68 * 0.85 / 100_000, abs=0.01)
    assert total(plan) <= plan.bound_seconds


def test_a_bound_shorter_than_the_question_gives_a_demo_within_the_bound_and_names_the_bound_that_would_not():
    plan = plan_check(Question(1.0, "cpu", 1000), RATES, 1000, bound_seconds=180, spent_seconds=25,
                      device_compute="cpu")  # fmt: skip
    assert plan.regime == CheckRegime.DEMO and not plan.answers_question
    assert total(plan) <= plan.bound_seconds
    budgets = plan.budgets()
    assert budgets["full_finetune"] == budgets["scratch"] == plan.per_arm_seconds  # equal seconds per gradient arm
    for rate in RATES[1:]:
        assert plan.per_arm_seconds >= rate.floor_seconds(1000)  # every compared arm passes the health floor
    assert plan.question_seconds > plan.bound_seconds
    assert f"a check of {-(-int(plan.question_seconds) // 60)} minutes would" in plan.lines[-1]
    assert 50 <= plan.examples_that_fit < 1000 and f"about {plan.examples_that_fit:,} examples would" in plan.lines[-1]
    assert "a demo, not your budget" in plan.lines[-1]


def test_an_arm_that_cannot_pass_the_floor_within_the_bound_is_left_out_not_run_starved():
    plan = plan_check(Question(1.0, "cpu", 1000), RATES, 1000, bound_seconds=75, spent_seconds=25,
                      device_compute="cpu")  # fmt: skip
    assert [arm for arm, _ in plan.left_out] == ["full_finetune"]
    assert set(plan.budgets()) == {"linear_probe", "scratch"}
    assert total(plan) <= plan.bound_seconds


def test_a_bound_too_small_for_any_comparison_is_refused_naming_the_option():
    with pytest.raises(ConfigError) as error:
        plan_check(Question(1.0, "cpu", 1000), RATES, 1000, bound_seconds=30, spent_seconds=25, device_compute="cpu")
    assert error.value.field == "check_minutes" and "would measure your question" in error.value.detail


def test_a_profile_budget_smaller_than_the_probes_cost_is_refused():
    with pytest.raises(ConfigError) as error:
        plan_check(Question(0.0001, "cpu", 1000), RATES, 1000, bound_seconds=180, spent_seconds=10,
                   device_compute="cpu")  # fmt: skip
    assert error.value.field == "time_budget_hours" and "linear_probe" in error.value.detail


def test_a_gpu_profile_checked_on_a_cpu_is_scaled_and_says_so():
    plan = plan_check(Question(1.0, "single_gpu", 1000), RATES, 1000, bound_seconds=180, spent_seconds=10,
                      device_compute="cpu")  # fmt: skip
    assert plan.scaled and plan.budget_here_seconds == 20 * 3600
    assert any("not measured" in note for note in plan.notes)
    assert all(c.scaled for c in plan.costs)
    assert "(scaled)" in render_costs(plan.costs)


def test_fewer_images_than_the_profile_says_is_noted():
    plan = plan_check(Question(1.0, "cpu", 5000), RATES, 3000, bound_seconds=3600, spent_seconds=10,
                      device_compute="cpu", available_examples=3000)  # fmt: skip
    assert any("fewer than the profile's 5,000" in note for note in plan.notes)


def test_the_cost_at_full_scale_comes_from_the_measured_throughput():
    costs = {c.arm: c for c in full_scale_costs(Question(1.0, "cpu", 60_000), RATES, "cpu")}
    assert costs["scratch"].converge_seconds_here == pytest.approx(30 * 60_000 / 247 / 0.85 + 1.0, abs=0.1)
    assert costs["full_finetune"].fits_budget is False and costs["linear_probe"].fits_budget is True
    assert costs["scratch"].epochs_in_budget == pytest.approx(3600 * 247 * 0.85 / 60_000, abs=0.01)
    assert not costs["scratch"].scaled
    table = render_costs(list(costs.values()))
    assert "60,000 labels" in table and "full_finetune" in table


def test_a_check_plan_converts_into_the_advisors_measured_costs():
    question = Question(1.0, "cpu", 3000)
    rates = (*RATES, ArmRate("scratch_same_arch", ArmFamily.SCRATCH, 900.0, epochs_to_converge=30))
    plan = plan_check(question, rates, 3000, bound_seconds=3600, spent_seconds=30, device_compute="cpu")
    measured = measured_costs(plan)
    assert {c.strategy for c in measured.costs} == {"linear_probe", "full_finetune", "scratch"}
    assert measured.get("full_finetune").seconds_per_epoch == pytest.approx(3000 / 68.0, rel=0.01)
    assert measured.get("scratch").seconds_per_epoch == pytest.approx(3000 / 247.0, rel=0.01)  # its own-named arm
    assert all(c.compute == "cpu" for c in measured.costs)
    profile = example_profile().replace(labeled_examples=3000, time_budget_hours=1.0, compute="cpu")
    rec = recommend(profile, measured)
    assert "Measured: Full fine-tune takes 44 s per epoch of your 3,000 labels" in " ".join(r.text for r in rec.reasons)


def planned_total(plan):
    """Every trial the plan runs, the curve's included, and what loading and probing spent."""
    return total(plan) + (plan.curve.seconds if plan.curve else 0.0)


def test_a_check_on_fewer_examples_than_the_profile_adds_a_curve_when_the_bound_allows():
    # 10,000 labels, 1,000 checked: the arms take about 9 min, a curve of the probe and scratch about 2.5 more.
    plan = plan_check(Question(1.0, "cpu", 10_000), RATES, 1000, bound_seconds=900, spent_seconds=20,
                      device_compute="cpu", advised_arms=("linear_probe",), classes=10)  # fmt: skip
    curve = plan.curve
    assert curve is not None and not plan.curve_reason
    assert curve.arms == ("linear_probe", "scratch")  # the advised arm and its rival across the crossover
    assert curve.sizes == (125, 250, 500) and curve.seeds == plan.seeds
    budgets = {(arm, size): budget for arm, size, budget in curve.budgets}
    assert set(budgets.values()) == {None}  # both converge at the check's size, so at the curve's too
    assert planned_total(plan) <= plan.spent_seconds + (plan.bound_seconds - plan.spent_seconds) * CHECK_MARGIN
    assert plan.trials() == 3 + 2 * 3
    assert "A learning curve at sizes 125, 250, 500 (and the check's 1,000) for arms linear_probe, scratch" in (
        "\n".join(plan.lines)
    )
    assert "curve_reason" not in plan.verdict_question()  # there is a curve: nothing to explain


def test_a_budget_limited_rival_keeps_its_epochs_at_the_curve_sizes():
    # Scratch advised; full fine-tuning is budget-limited at 360 s on the 1,000 checked: 10x fewer examples
    # get 10x fewer seconds (the same epochs); sizes under its health floor are dropped.
    plan = plan_check(Question(1.0, "cpu", 10_000), RATES, 1000, bound_seconds=3600, spent_seconds=20,
                      device_compute="cpu", advised_arms=("scratch",))  # fmt: skip
    assert plan.curve.arms == ("scratch", "linear_probe")  # the first pretrained arm listed
    rates = {r.arm: r for r in RATES}
    plan = plan_check(  # listed scratch, then full fine-tuning: that is the rival
Question(1.0, "cpu", 10_000), (RATES[2], RATES[1]), 1000, bound_seconds=3600,
                      spent_seconds=20, device_compute="cpu", advised_arms=("scratch",))  # fmt: skip
    assert plan.curve.arms == ("scratch", "full_finetune")
    budgets = {(arm, size): budget for arm, size, budget in plan.curve.budgets}
    for size in plan.curve.sizes:
        assert budgets[("full_finetune", size)] == pytest.approx(360 * size / 1000, abs=0.1)
        assert budgets[("full_finetune", size)] >= rates["full_finetune"].floor_seconds(size)
        assert budgets[("scratch", size)] is None


def test_no_curve_when_the_bound_leaves_no_room_and_the_plan_names_the_bound_that_would():
    plan = plan_check(Question(1.0, "cpu", 10_000), RATES, 1000, bound_seconds=600, spent_seconds=20,
                      device_compute="cpu", advised_arms=("linear_probe",))  # fmt: skip
    assert plan.regime == CheckRegime.YOUR_BUDGET and plan.curve is None
    assert "the bound leaves" in plan.curve_reason and plan.curve_minutes is not None
    assert planned_total(plan) <= plan.bound_seconds
    line = next(line for line in plan.lines if "No learning curve" in line)
    assert f"a check of {plan.curve_minutes} minutes would include one" in line
    question = plan.verdict_question()
    assert question["curve_reason"] == plan.curve_reason and question["curve_minutes"] == plan.curve_minutes
    # The bound it names does include the curve.
    wider = plan_check(Question(1.0, "cpu", 10_000), RATES, 1000, bound_seconds=plan.curve_minutes * 60,
                       spent_seconds=20, device_compute="cpu", advised_arms=("linear_probe",))  # fmt: skip
    assert wider.curve is not None
    assert planned_total(wider) <= wider.bound_seconds


def test_a_demo_leaves_no_room_for_a_curve_and_says_which_check_would_include_one():
    plan = plan_check(Question(1.0, "cpu", 10_000), RATES, 1000, bound_seconds=180, spent_seconds=25,
                      device_compute="cpu", advised_arms=("linear_probe",))  # fmt: skip
    assert plan.regime == CheckRegime.DEMO and plan.curve is None
    assert plan.curve_minutes > plan.question_seconds / 60  # the question and the curve
    assert planned_total(plan) <= plan.bound_seconds


def test_no_curve_when_the_check_is_too_small_or_the_profile_too_far():
    few = plan_check(Question(1.0, "cpu", 3000), RATES, 150, bound_seconds=3600, spent_seconds=20,
                     device_compute="cpu", advised_arms=("linear_probe",))  # fmt: skip
    assert few.curve is None and "too few for two curve sizes" in few.curve_reason and few.curve_minutes is None
    far = plan_check(Question(10.0, "cpu", 100_000), RATES, 1000, bound_seconds=3600, spent_seconds=20,
                     device_compute="cpu", advised_arms=("linear_probe",))  # fmt: skip
    assert far.curve is None and "more than 30x" in far.curve_reason
    # Scratch capped at 5 epochs: on 250 of the 1,000 checked that is 20 steps, under the health floor.
    capped = (RATES[0], replace(RATES[2], epochs_to_converge=5))
    floor = plan_check(Question(1.0, "cpu", 10_000), capped, 1000, bound_seconds=3600, spent_seconds=20,
                       device_compute="cpu", advised_arms=("linear_probe",))  # fmt: skip
    assert floor.curve is None and "Train from scratch cannot pass the health floor" in floor.curve_reason
    same = plan_check(Question(1.0, "cpu", 1000), RATES, 1000, bound_seconds=3600, spent_seconds=20,
                      device_compute="cpu", advised_arms=("linear_probe",))  # fmt: skip
    assert same.curve is None and not same.curve_reason  # every label checked: nothing to project
    assert "curve_reason" not in same.verdict_question()
