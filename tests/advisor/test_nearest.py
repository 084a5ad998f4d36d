"""Nearest published cases: the documented distance on hand-made profiles, and the cases beside every answer."""

import importlib
import json
import math

import pytest
from typer.testing import CliRunner

from advisor import profile_from_mapping, recommend
from advisor.cli import app
from advisor.nearest import OTHER_MODALITY, case_distance, disagreement_note, nearest_cases
from advisor.published import validate_rows

BASE = {
    "modality": "image",
    "labeled_examples": 1000,
    "num_classes": 10,
    "domain_similarity": "high",
    "pretrained_available": True,
    "time_budget_hours": 1.0,
    "compute": "single_gpu",
}


def profile(**changes):
    return profile_from_mapping({**BASE, **changes})


def test_distance_is_zero_for_the_same_setting_and_symmetric():
    a, b = profile(), profile(labeled_examples=50, domain_similarity="low", compute="cpu", modality="text")
    assert case_distance(a, a) == 0.0
    assert case_distance(a, b) == pytest.approx(case_distance(b, a))


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"labeled_examples": 10_000}, 1.0),  # one decade of labels per class
        ({"labeled_examples": 10_000, "num_classes": 100}, 0.0),  # same labels per class
        ({"domain_similarity": "low"}, 1.0),  # high vs low
        ({"domain_similarity": "medium"}, 0.4),
        ({"time_budget_hours": 100.0}, 1.0),  # two decades of compute-hours
        ({"compute": "cpu", "time_budget_hours": 20.0}, 0.0),  # 20 CPU-hours = 1 GPU-hour
        ({"modality": "audio"}, OTHER_MODALITY),
        ({"input_resolution": 32, "unlabeled_examples": 10**6}, 0.0),  # not in the distance
    ],
)
def test_each_field_moves_the_distance_by_its_documented_unit(changes, expected):
    assert case_distance(profile(), profile(**changes)) == pytest.approx(expected)


def test_the_terms_add_as_a_euclidean_distance():
    far = profile(labeled_examples=10_000, domain_similarity="low", time_budget_hours=100.0, modality="text")
    assert case_distance(profile(), far) == pytest.approx(math.sqrt(1 + 1 + 1 + OTHER_MODALITY**2))


def row(row_id, results, winner, **changes):
    ordered = sorted(results.values(), reverse=True)
    return {
        "id": row_id,
        "study": f"Study {row_id}",
        "study_key": row_id.split("-")[0],
        "source": f"https://example.org/{row_id}",
        "where": "Table 1",
        "task": f"task {row_id}",
        "metric": "accuracy (%)",
        "higher_is_better": True,
        "profile": {**BASE, **changes},
        "results": results,
        "winner": winner,
        "margin": ordered[0] - ordered[1],
        "checked": True,
    }


HAND_MADE = validate_rows([
    row("same-a", {"linear_probe": 80, "full_finetune": 85}, "full_finetune"),
    row("decade-a", {"linear_probe": 80, "full_finetune": 75}, "linear_probe", labeled_examples=100),
    row("text-a", {"linear_probe": 60, "full_finetune": 70}, "full_finetune", modality="text"),
    row("far-a", {"scratch": 90, "full_finetune": 70}, "scratch", labeled_examples=10**6, domain_similarity="low"),
    row("scratchonly-a", {"scratch": 70, "hybrid": 75}, "hybrid", time_budget_hours=3.0),
])  # fmt: skip


def test_nearest_cases_are_the_closest_rows_in_order_with_their_verdict_on_the_advice():
    cases = nearest_cases(profile(), HAND_MADE, advised="linear_probe")
    assert [c.id for c in cases] == ["same-a", "scratchonly-a", "decade-a"]
    assert [c.distance for c in cases] == sorted(c.distance for c in cases)
    assert [c.agrees for c in cases] == [False, None, True]  # lost / not tested / won
    assert cases[0].outcome == "Full fine-tune won: 85 vs 80 for linear probe (accuracy (%))"
    assert cases[0].source == "https://example.org/same-a"
    note = disagreement_note("linear_probe", cases)
    assert note.startswith("The advice disagrees with 1 of the 2 closest published cases that tested linear probe")
    assert "full fine-tune won (same-a)" in note
    assert disagreement_note("full_finetune", nearest_cases(profile(), HAND_MADE, advised="full_finetune")) != ""
    assert disagreement_note("hybrid", cases) == ""  # won the one case that tested it
    assert disagreement_note("partial_finetune", cases) == ""  # never tested among these three


def test_every_recommendation_carries_three_published_cases():
    rec = recommend(profile(labeled_examples=400, num_classes=10, time_budget_hours=12.0))
    assert len(rec.nearest_cases) == 3
    data = rec.to_dict()
    assert [c["id"] for c in data["nearest_cases"]] == [c.id for c in rec.nearest_cases]
    assert all(c["source"] and c["outcome"] and c["distance"] >= 0 for c in data["nearest_cases"])
    assert "nearest_note" in data


def test_the_command_line_shows_the_cases_in_text_and_json():
    args = ["recommend", "--modality", "audio", "--labeled-examples", "5000", "--num-classes", "5",
            "--domain-similarity", "high", "--pretrained-available", "--time-budget-hours", "4",
            "--compute", "single_gpu"]  # fmt: skip
    text = CliRunner().invoke(app, args)
    assert text.exit_code == 0, text.output
    assert "Nearest published cases" in text.output
    data = json.loads(CliRunner().invoke(app, [*args, "--json"]).output)
    assert len(data["nearest_cases"]) == 3
    assert all(c["id"] in text.output for c in data["nearest_cases"])


def test_a_table_that_does_not_load_shows_no_cases_and_says_why(monkeypatch):
    module = importlib.import_module("advisor.recommend")  # the module, not the function advisor exports
    from advisor.published import PublishedRowError

    def broken():
        raise PublishedRowError("bad-row", "results.transfer", "unknown strategy")

    monkeypatch.setattr(module, "shipped_rows", broken)
    rec = module.recommend(profile())
    assert rec.nearest_cases == ()
    assert "bad-row" in rec.nearest_note and "results.transfer" in rec.nearest_note


def test_cases_of_the_profiles_own_modality_come_first_however_close_another_kind_is():
    rows = validate_rows([
        row("tabular-near", {"linear_probe": 60, "scratch": 70}, "scratch", modality="tabular"),
        row("text-far", {"linear_probe": 60, "full_finetune": 70}, "full_finetune", modality="text",
            labeled_examples=10**5),
        row("text-farther", {"linear_probe": 60, "full_finetune": 70}, "full_finetune", modality="text",
            labeled_examples=10**6),
    ])  # fmt: skip
    text = profile(modality="text")
    assert case_distance(text, rows[0].profile) < case_distance(text, rows[1].profile)  # the tabular row is nearer
    cases = nearest_cases(text, rows, advised="full_finetune", count=3)
    assert [c.id for c in cases] == ["text-far", "text-farther", "tabular-near"]  # another kind only fills in
    assert [c.id for c in nearest_cases(text, rows, advised="full_finetune", count=2)] == ["text-far", "text-farther"]
