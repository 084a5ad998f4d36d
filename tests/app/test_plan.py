"""The run form's plan in its words, from measured rates (pure: no probe), and the run that plans from them."""

import json
import math

import pytest

from bench.runs.request import RunRequest
from bench.train.check import ArmRate, MeasuredRates, Question, plan_check
from bench.train.config import TrialConfig
from bench.train.health import seconds_to_floor
from bench.vocabulary import ArmFamily
from finetune_or_scratch.app.plans import check_form_plan
from finetune_or_scratch.app.runs import plan_form

RATES = (
    ArmRate("linear_probe", ArmFamily.PROBE, 500.0, eval_images=400, fixed_seconds=3.0),
    ArmRate("scratch", ArmFamily.SCRATCH, 256.0, batch_size=64, epochs_to_converge=30),
)


def request(budget: float = 2.0, **changes) -> RunRequest:
    base = TrialConfig("digits", "linear_probe", examples=1000, budget_seconds=budget)
    return RunRequest("run", base, ("linear_probe", "scratch"), (0,), **changes)


def test_a_budget_too_short_names_the_arm_and_suggests_the_floors_seconds():
    plan = plan_form(request(2.0), MeasuredRates(RATES, 1000, 1169, 4.0))
    floor = seconds_to_floor(256.0 / 64, math.ceil(1000 / 64), RATES[1].train_share)  # the one formula
    assert plan.suggestion == floor and plan.accept == f"Use {floor:g} s per trial" and plan.field == "budget_seconds"
    scratch = next(line for line in plan.arms if line.arm == "scratch")
    assert not scratch.enough and "**Train from scratch**: about 6 steps" in scratch.text
    assert "Train from scratch cannot train enough" in plan.cannot
    enough = plan_form(request(floor), MeasuredRates(RATES, 1000, 1169, 4.0))  # the suggestion accepted
    assert enough.suggestion is None and enough.cannot is None and all(line.enough for line in enough.arms)


def test_a_check_that_cannot_measure_the_question_offers_the_minutes_that_would():
    question = Question(1.0, "cpu", 10_000)
    small = plan_check(question, RATES, 1000, 120.0, 5.0, "cpu")
    stored = json.loads(json.dumps(small.to_dict()))  # as the run panel reads it back from the store
    plan = check_form_plan(stored)
    minutes = small.verdict_question()["question_minutes"]
    assert plan.accept == f"Use a check of {minutes} minutes" and plan.suggestion == minutes
    assert plan.field == "check_minutes" and "cannot measure your question" in plan.cannot
    assert any("**Linear probe**: trained until converged" in line.text for line in plan.arms)
    enough = check_form_plan(plan_check(question, RATES, 1000, minutes * 60.0, 5.0, "cpu").to_dict())
    assert enough.accept is None and enough.measures.startswith("This check measures your question")


def test_a_bound_too_short_for_any_comparison_is_refused_with_one_click_to_the_bound_that_measures_it():
    question = Question(1.0, "cpu", 10_000)
    measured = MeasuredRates(RATES, 1000, 1169, 25.0)  # loading and measuring took most of the half minute
    plan = plan_form(request(question=question, check_minutes=0.5), measured)
    assert plan.error.startswith("Minutes for the whole check: expected a bound that trains at least two arms")
    minutes = plan_check(question, RATES, 1000, math.inf, 25.0, "cpu").verdict_question()["question_minutes"]
    assert plan.accept == f"Use a check of {minutes} minutes" and plan.suggestion == minutes


def test_a_hybrid_whose_smallest_pretraining_step_outlasts_its_share_is_named_before_the_run():
    rates = (*RATES, ArmRate("hybrid_scratch", ArmFamily.HYBRID, 256.0, pretrain_images_per_second=4.0))
    hybrid = RunRequest("run", TrialConfig("digits", "linear_probe", examples=1000, budget_seconds=5.0),
                        ("linear_probe", "scratch", "hybrid_scratch"), (0,))  # fmt: skip
    plan = plan_form(hybrid, MeasuredRates(rates, 1000, 1169, 4.0))
    line = next(line for line in plan.arms if line.arm == "hybrid_scratch")
    assert not line.enough and "cannot be measured in 5 s here: one pretraining step takes longer" in line.text
    assert plan.suggestion >= 65  # eight steps of 16 images at 4 images/s in half the budget


def test_a_stored_check_plan_says_what_curve_it_adds_to_reach_the_persons_labels_or_why_not():
    question = Question(1.0, "cpu", 10_000)
    roomy = plan_check(question, RATES, 1000, 3600.0, 5.0, "cpu", advised_arms=("linear_probe",))
    shown = check_form_plan(json.loads(json.dumps(roomy.to_dict())))  # as the run panel reads it back
    assert "It adds a learning curve for Linear probe and Train from scratch at 125, 250, 500 examples" in (
        shown.measures
    )
    tight = plan_check(question, RATES, 1000, 240.0, 5.0, "cpu", advised_arms=("linear_probe",))
    shown = check_form_plan(json.loads(json.dumps(tight.to_dict())))
    assert tight.curve is None and "No learning curve to project to your 10,000 labels" in shown.measures
    assert f"a check of {tight.curve_minutes} minutes would include one" in shown.measures


@pytest.mark.slow  # real training: one scratch trial on 200 digits for 1 s
def test_a_run_started_from_the_form_plans_from_the_forms_measurement_not_a_second_probe(tmp_path):
    from dataclasses import replace

    from bench.runs.execute import create_run, execute_run
    from bench.runs.store import RunStore
    from finetune_or_scratch.app.runs import measure_key, with_measurement

    base = TrialConfig("digits", "scratch", examples=200, budget_seconds=1.0, batch_size=16, scratch_resolution=16)
    form = RunRequest("run", base, ("scratch",), (0,))
    # A rate no probe here would measure (a million images a second): the run's plan can only come from it.
    measured = MeasuredRates((ArmRate("scratch", ArmFamily.SCRATCH, 1e6, batch_size=16),), 200, 1000, 3.0)
    shown = plan_form(form, measured).arms[0].text
    assert replace(form, arms=("scratch", "linear_probe")) == with_measurement(
        replace(form, arms=("scratch", "linear_probe")), (measure_key(form), measured)
    )  # other settings than the ones measured: the run measures again
    store = RunStore(tmp_path / "runs.db")
    outcome = execute_run(store, create_run(store, with_measurement(form, (measure_key(form), measured)), "test"))
    (ran,) = store.run(outcome.run_id).analyses["budget_plan"]
    assert ran["steps_per_second"] == 1e6 / 16 and f"about {ran['planned_steps']:,} steps" in shown
    assert store.run(outcome.run_id).config["measured"]["rates"][0]["images_per_second"] == 1e6  # stored with the run
