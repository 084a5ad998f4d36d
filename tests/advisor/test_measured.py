"""Measured costs replace the fixed CPU-to-GPU factor in the budget factors, and their reasons say so."""

from advisor import recommend
from advisor.measured import MeasuredCosts, StrategyCost, schedule_share
from advisor.profile import example_profile
from advisor.recipes import recipe_for
from advisor.scoring import score_profile

# The sample question of issue 18: 1,000 labels, one CPU-hour.
PROFILE = example_profile().replace(labeled_examples=1000, time_budget_hours=1.0, compute="cpu")


def measured(full_finetune: float, scratch: float, compute: str = "cpu") -> MeasuredCosts:
    return MeasuredCosts(
        (StrategyCost("full_finetune", full_finetune, compute), StrategyCost("scratch", scratch, compute))
    )


def reason(rec, rule):
    return next((r for r in rec.reasons if r.rule == rule), None)


def test_without_a_measurement_nothing_changes():
    assert score_profile(PROFILE, None) == score_profile(PROFILE)
    assert recommend(PROFILE, None) == recommend(PROFILE)
    only_probe = MeasuredCosts((StrategyCost("linear_probe", 1.0, "cpu"),))  # the budget factors read neither
    assert score_profile(PROFILE, only_probe).strengths == score_profile(PROFILE).strengths


def test_a_fast_measurement_lifts_the_tight_budget_and_says_why():
    fixed = score_profile(PROFILE).strengths
    assert fixed["tight_budget"] == 1.0  # one CPU-hour is 0.05 GPU-hours by the fixed factor
    # Full fine-tuning measured at 14 s per epoch of the 1,000 labels: one hour buys its schedule 5 times over.
    rec = recommend(PROFILE, measured(14.0, 4.0))
    assert score_profile(PROFILE, measured(14.0, 4.0)).strengths["tight_budget"] == 0.0
    epochs = recipe_for("full_finetune", PROFILE).epochs
    text = reason(rec, "tight_budget").text
    assert text.startswith("Does not apply once measured.")
    assert "Full fine-tune takes 14 s per epoch of your 1,000 labels" in text
    assert f"buys {3600 / (epochs * 14.0):.2g}x its {epochs}-epoch schedule" in text
    assert reason(recommend(PROFILE), "tight_budget").text.startswith("A small budget")


def test_a_slow_measurement_keeps_the_budget_tight_and_cites_the_measurement():
    rec = recommend(PROFILE, measured(2000.0, 900.0))  # the budget buys under 10% of either schedule
    strengths = score_profile(PROFILE, measured(2000.0, 900.0)).strengths
    assert strengths["tight_budget"] == 1.0 and strengths["tight_scratch_budget"] == 1.0
    text = reason(rec, "tight_budget").text
    assert text.startswith("A small budget") and "Measured: Full fine-tune takes 2,000 s per epoch" in text
    assert "Measured: Train from scratch takes 900 s per epoch" in reason(rec, "tight_scratch_budget").text


def test_a_measurement_on_other_compute_is_converted_by_the_fixed_factor_and_says_so():
    gpu = PROFILE.replace(compute="single_gpu")
    share = schedule_share(gpu, measured(100.0, 10.0), "full_finetune")  # measured on a CPU
    epochs = recipe_for("full_finetune", gpu).epochs
    assert share.converted and share.share == 3600 * 20.0 / (epochs * 100.0)  # a GPU-hour is 20 CPU-hours
    assert "on cpu, your single_gpu budget converted by the fixed factor" in share.words(gpu)
    assert not schedule_share(PROFILE, measured(100.0, 10.0), "full_finetune").converted
