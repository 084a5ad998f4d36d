"""The learning curve carried to the person's labeled count: the projection, its interval, or why there is none."""

import pytest

from bench.cli import FLAGS
from bench.evidence.curve import project_to_size
from bench.evidence.question import projection_words
from bench.evidence.verdict import make_verdict, render_verdict
from tests.bench.test_evidence import law, results, table_from, trial

SIZES = [100, 200, 400, 800]
# Frozen features saturate at 0.85; scratch climbs to 0.95 and passes them near 1,600 labels.
LAWS = {"linear_probe": law(0.85, 1.0, 0.7), "scratch": law(0.95, 2.0, 0.45)}


@pytest.mark.slow  # 400 bootstrap refits per arm (intervals and the crossover): 2-7 s
def test_projection_at_the_persons_size_with_intervals_and_the_crossover():
    projection = project_to_size(table_from(LAWS, SIZES), 5000)
    assert projection.projected and projection.reason == "" and projection.measured == tuple(SIZES)
    by_arm = {p.arm: p for p in projection.arms}
    for arm, truth in LAWS.items():
        assert by_arm[arm].accuracy == pytest.approx(truth(5000), abs=0.02)
        low, high = by_arm[arm].interval
        assert low <= by_arm[arm].accuracy <= high
    assert projection.leader == "scratch" and projection.arms[0].arm == "scratch"
    assert "overtakes Linear probe" in projection.crossover
    words = projection_words(projection.to_dict())
    assert words.startswith("At your 5,000 labels (projected from a curve at 100, 200, 400, 800 labels")
    assert "Train from scratch projected ahead" in words and "Linear probe 0." in words and "95% " in words


def test_one_seed_projects_without_an_interval_and_says_so():
    projection = project_to_size(table_from(LAWS, SIZES, seeds=1), 3000)
    assert projection.projected and all(p.interval is None for p in projection.arms)
    assert "one seed: no interval" in projection_words(projection.to_dict())


@pytest.mark.parametrize(
    ("sizes", "examples", "reason", "fix"),
    [
        ([1000], 5000, "measured at 1 size (1,000 labels)", "; a learning curve with 3 or more sizes would project"),
        ([100, 300], 5000, "measured at 2 sizes (100, 300 labels)", "; a learning curve with 3 or more sizes would project"),
        (SIZES, 800 * 31, "more than 30x the largest size the curve measured (800): too far to extrapolate", ""),
        (SIZES, 500, "the curve measured 800 labels: no projection needed", ""),
    ],
)  # fmt: skip
def test_no_projection_says_why(sizes, examples, reason, fix):
    projection = project_to_size(table_from(LAWS, sizes), examples)
    assert not projection.projected and projection.leader is None
    assert reason in projection.reason
    assert projection_words(projection.to_dict()) == (
        f"At your {examples:,} labels: no projection ({projection.reason}{fix})."
    )


QUESTION = {"regime": "your_budget", "budget_hours": 1, "compute": "cpu", "device_compute": "cpu",
            "labeled_examples": 20_000, "examples": 1000, "arms": {}, "left_out": []}  # fmt: skip


@pytest.mark.slow  # the bootstrap refits, as above
def test_the_verdict_adds_the_projection_when_the_person_has_more_labels():
    judged = results({"linear_probe": [0.82, 0.835], "scratch": [0.75, 0.76]})
    verdict = make_verdict("linear_probe", judged, QUESTION).to_dict()
    assert verdict["projection"]["sizes_needed"] == 3  # one size: says it cannot
    assert "At your 20,000 labels: no projection (measured at 1 size (1,000 labels)" in render_verdict(verdict)
    # Each front end names its own way to a curve: the command line a flag of another command, the app its field.
    assert "; the curve command's --sizes with 3 or more sizes would project)" in render_verdict(verdict, FLAGS)
    assert "; a learning curve with 3 or more sizes would project)" in projection_words(verdict["projection"])
    curve = [trial(arm, seed, LAWS[arm](n), examples=n) for n in SIZES for arm in LAWS for seed in range(2)]
    verdict = make_verdict("linear_probe", judged, QUESTION, curve=curve).to_dict()
    assert verdict["projection"]["leader"] == "scratch" and verdict["projection"]["examples"] == 20_000
    assert "At your 20,000 labels (projected from a curve" in render_verdict(verdict)
    assert make_verdict("linear_probe", judged, {**QUESTION, "labeled_examples": 1000}).projection is None
    assert make_verdict("linear_probe", judged).projection is None


@pytest.mark.slow  # real training: two arms on 200 digits, then the curve's four smaller trials (5 epochs of 8)
def test_a_planned_check_on_fewer_labels_than_the_profile_trains_its_curve_and_projects_to_them(tmp_path):
    from bench.runs.execute import create_run, execute_run
    from bench.runs.request import RunRequest
    from bench.runs.store import RunStore
    from bench.train.check import Question
    from bench.train.config import TrialConfig

    base = TrialConfig(
        "digits", "linear_probe", examples=200, max_epochs=5, batch_size=8, resolution=32, scratch_resolution=16
    )  # 8-px digits: 16 px is a quarter of the work of 32
    request = RunRequest("run", base, ("linear_probe", "scratch"), (0,), advised="linear_probe",
                         target_examples=1500, question=Question(1.0, "cpu", 1500), check_minutes=30.0)  # fmt: skip
    store = RunStore(tmp_path / "runs.db")
    outcome = execute_run(store, create_run(store, request, "test"))
    curve = outcome.analyses["check_plan"]["curve"]
    assert list(curve["arms"]) == ["linear_probe", "scratch"] and list(curve["sizes"]) == [50, 100]  # 25: too few
    assert sorted(t.train_examples for t in outcome.curve_trials) == [50, 50, 100, 100]
    assert {t.train_examples for t in outcome.trials} == {200}  # the verdict and the summary: the check's own
    assert [s["trials"] for s in outcome.analyses["summary"]] == [1, 1] and outcome.verdict["examples"] == 200
    assert len(store.trials(outcome.run_id)) == 6  # every trial is stored
    assert sorted({p["examples"] for p in outcome.analyses["curve"]["points"]}) == [50, 100, 200]
    projection = outcome.verdict["projection"]
    assert projection["examples"] == 1500 and list(projection["measured"]) == [50, 100, 200]
    assert projection["arms"] and projection["leader"] in ("linear_probe", "scratch"), projection
    assert "At your 1,500 labels (projected from a curve at 50, 100, 200 labels" in projection_words(projection)
