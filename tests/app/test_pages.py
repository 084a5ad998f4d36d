"""Each page headless with Streamlit's AppTest, against a real run store and real worker processes."""

import re
import time
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from advisor import example_profile
from bench.runs.store import RunStore

APP = str(Path(__file__).resolve().parents[2] / "app.py")


@pytest.fixture
def app(tmp_path, monkeypatch):
    monkeypatch.setenv("FOS_HOME", str(tmp_path))
    st.cache_resource.clear()  # the store is cached per process: point it at this test's folder
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    yield at
    st.cache_resource.clear()


def texts(at, kind):
    return [element.value for element in getattr(at, kind)]


def test_questionnaire_opens_with_the_sample_profile(app):
    assert app.title[0].value == "Fine-tune or train from scratch?"
    values = {w.key: w.value for w in app.number_input}
    assert values["field_labeled_examples"] == 1000 and values["field_num_classes"] == 10
    assert app.selectbox(key="field_domain_similarity").value == "medium"
    assert not app.exception


def test_questionnaire_help_gives_examples_only_where_a_value_is_typed(app):
    # The walkthrough: toggles read "Example: False." and Compute "Example: single_gpu." (a schema, not help).
    choices = {w.key: w.help for w in [*app.toggle, *app.selectbox] if w.key.startswith("field_")}
    assert len(choices) >= 6 and not [k for k, text in choices.items() if "Example:" in text], choices
    typed = {w.key: w.help for w in app.number_input}
    assert "Enter a whole number, 1 or more. Example: 2,000." in typed["field_labeled_examples"]


def test_invalid_answers_are_flagged_next_to_the_field_in_its_own_words(app):
    assert "Time budget (hours)" in [w.label for w in app.number_input]
    app.number_input(key="field_labeled_examples").set_value(0)
    app.number_input(key="field_time_budget_hours").set_value(-2.0)
    submit = next(b for b in app.button if b.label == "Get recommendation")
    submit.click().run()
    errors = texts(app, "error")
    assert any(e.startswith("Labeled examples: expected an integer >= 1") and "got 0" in e for e in errors), errors
    assert any(e.startswith("Time budget: expected a number") and "got -2" in e for e in errors), errors
    assert not any("1e+10" in e or "_" in e for e in errors), errors  # numbers and names for people
    assert not app.exception


def test_recommendation_page_renders_ranking_reasons_and_recipe(app):
    next(b for b in app.button if b.label == "Get recommendation").click().run()
    app.switch_page("finetune_or_scratch/app/pages/recommendation.py").run()
    assert app.title[0].value.startswith("Recommendation: ")
    headers = texts(app, "subheader")
    for heading in ("Ranking", "Why", "What would change the answer", "Nearest published cases"):
        assert heading in headers
    assert any(h.startswith("Recipe: ") for h in headers)
    cases = [m for m in texts(app, "markdown") if "· distance" in m]
    assert len(cases) == 3, cases  # the three closest published cases, each with outcome and source
    assert sum(c.startswith("Setting: ") and "Source: [" in c for c in texts(app, "caption")) == 3
    assert len(app.expander) >= 3  # one per reason
    ranking = app.table[0].value
    assert list(ranking.columns) == ["Rank", "Strategy", "Score (points)"]  # no empty note column
    assert not any("_" in e.label.split(" — ")[1] for e in app.expander)  # "Linear probe +0.90", not linear_probe
    # The sample's medium similarity fires rules for a similar and a different domain: one line says why.
    assert any("medium similarity counts as 60% similar" in c for c in texts(app, "caption"))
    assert not app.exception


def test_recommendation_ends_with_validate_this_advice(app):
    next(b for b in app.button if b.label == "Get recommendation").click().run()
    app.switch_page("finetune_or_scratch/app/pages/recommendation.py").run()
    app.button(key="validate_bottom").click().run()
    assert app.title[0].value == "Validation run"
    assert not app.exception


def test_recommendation_page_asks_for_answers_when_invalid(app):
    app.number_input(key="field_num_classes").set_value(1)
    next(b for b in app.button if b.label == "Get recommendation").click().run()
    app.switch_page("finetune_or_scratch/app/pages/recommendation.py").run()
    assert "Answer the questionnaire first" in texts(app, "info")[0]


def image_folder(root: Path, classes: int = 3, per_class: int = 10) -> Path:
    from PIL import Image

    for c in range(classes):
        (root / f"class{c}").mkdir(parents=True)
        for i in range(per_class):
            Image.new("RGB", (16, 16), (c * 80, i * 20, 0)).save(root / f"class{c}" / f"{i}.png")
    return root


def validation_page(app) -> AppTest:
    app.switch_page("finetune_or_scratch/app/pages/validation.py").run()
    return app


def start(app) -> None:
    next(b for b in app.button if b.label == "Start run").click().run()


def test_a_missing_folder_or_a_non_zip_file_is_refused_at_the_widget(app, tmp_path):
    validation_page(app)
    app.radio(key="run_kind").set_value("Folder on the server").run()
    app.text_input(key="run_path").set_value("/no/such/folder").run()
    assert any("/no/such/folder" in e and "no such file or folder" in e for e in texts(app, "error"))
    notes = tmp_path / "notes.txt"
    notes.write_text("not images")
    app.text_input(key="run_path").set_value(str(notes)).run()
    assert any("a file, but not a .zip" in e for e in texts(app, "error")), texts(app, "error")
    start(app)
    assert any(e.startswith("Dataset: choose a built-in dataset") for e in texts(app, "error"))
    assert RunStore(tmp_path / "runs.db").runs() == []  # never a failed run
    assert not app.exception


def test_the_form_adapts_to_a_small_dataset_and_checks_before_launch(app, tmp_path):
    folder = image_folder(tmp_path / "leaves")
    validation_page(app)
    app.radio(key="run_kind").set_value("Folder on the server").run()
    app.text_input(key="run_path").set_value(str(folder)).run()
    facts = next(c for c in texts(app, "caption") if c.startswith("**leaves**"))
    assert "30 images in 3 classes" in facts, facts
    examples = next(w for w in app.number_input if w.label == "Training examples")
    pool = examples.value
    assert 3 <= pool < 30 and f"{pool} for training" in facts  # the default: every training image, not 1000
    examples.set_value(1000)
    start(app)
    errors = texts(app, "error")
    assert any(e.startswith("Training examples: more than the") and f"accepted: 3..{pool}" in e for e in errors), errors
    assert not any("--examples" in e for e in errors)
    seeds = next(w for w in app.number_input if w.label == "Seeds")
    examples = next(w for w in app.number_input if w.label == "Training examples")
    examples.set_value(pool)
    seeds.set_value(0)
    start(app)
    assert any(e.startswith("Seeds: expected an integer in 1..20; got 0") for e in texts(app, "error"))
    assert RunStore(tmp_path / "runs.db").runs() == []
    assert not app.exception


def stored_run(tmp_path, status="cancelled", label="my-photos.zip", seeds=3, curve=None, examples=200) -> str:
    """A run in the store as the worker leaves it: one finished trial, one stopped by the cancel."""
    store = RunStore(tmp_path / "runs.db")
    config = {"kind": "run", "arms": ["linear_probe", "scratch"], "seeds": list(range(seeds)), "sizes": [],
              "advised": "linear_probe", "target_examples": 200, "dataset_label": label,
              "base": {"dataset": str(tmp_path / "uploads" / "c0b40f5c3ec8f2f5.zip"), "arm": "linear_probe",
                       "examples": examples, "budget_seconds": 2.0, "device": "auto", "seed": 0}}  # fmt: skip
    profile = store.save_profile({**example_profile().to_dict(), "labeled_examples": examples})
    run_id = store.create_run("run", config, session="s", profile_id=profile)
    done = {"trial_id": "t1", "config": {"arm": "linear_probe", "seed": 0}, "status": "completed",
            "test_accuracy": 0.8, "test_macro_f1": 0.79, "train_examples": 200, "time_train_s": 2.0,
            "images_per_second": 900.0, "device": "cpu (test)", "error": ""}  # fmt: skip
    stopped = {**done, "trial_id": "t2", "config": {"arm": "scratch", "seed": 0}, "status": "cancelled",
               "test_accuracy": None, "test_macro_f1": None}  # fmt: skip
    store.add_trial(run_id, done)
    if status == "cancelled":
        store.add_trial(run_id, stopped)
    store.add_analysis(run_id, "summary", [
        {"arm": "linear_probe", "trials": 1, "accuracy_mean": 0.8, "accuracy_std": None, "macro_f1_mean": 0.79,
         "train_seconds_mean": 2.0, "images_per_second_mean": 900.0},
        {"arm": "scratch", "trials": 0, "accuracy_mean": None, "accuracy_std": None, "macro_f1_mean": None,
         "train_seconds_mean": None, "images_per_second_mean": None},
    ])  # fmt: skip
    if curve:
        store.add_analysis(run_id, "curve", curve)
    store.set_verdict(run_id, {"outcome": "inconclusive", "summary": "the advised linear_probe (linear_probe) "
                               "could not be compared", "reason": "one seed", "a_new_key": 1e10})  # fmt: skip
    store.set_progress(run_id, {"done": 1, "total": 2 * seeds})
    store.set_status(run_id, status)
    return run_id


def open_page(tmp_path, file: str, run_id: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["run"] = run_id
    at.run()
    at.switch_page(f"finetune_or_scratch/app/pages/{file}").run()
    return at


def test_a_cancelled_run_shows_its_settings_and_no_verdict_link(app, tmp_path):
    run_id = stored_run(tmp_path)
    at = open_page(tmp_path, "validation.py", run_id)
    shown = " ".join(texts(at, "markdown"))
    for text in ("Dataset: **my-photos.zip**", "Arms: **Linear probe, Train from scratch**", "Seeds: **3**",
                 "Seconds of training per trial: **2 s**", "Training examples: **200**", "Device: **cpu (test)**"):  # fmt: skip
        assert text in shown, (text, shown)
    assert "c0b40f5c3ec8f2f5" not in shown
    assert any(w.startswith("Cancelled after 1 of 6 trials") for w in texts(at, "warning")), texts(at, "warning")
    trials = at.table[0].value
    assert len(trials) == 1  # the stopped trial is not an empty row
    assert {"Macro-F1", "Training s", "Images/s"} <= set(trials.columns)
    links = [link.label for link in at.get("page_link")]
    assert "See the verdict" not in links and any("partial results" in label for label in links), links
    assert not at.exception


def test_the_verdict_page_of_a_cancelled_run_has_no_empty_chart_and_reads_plainly(app, tmp_path):
    run_id = stored_run(tmp_path)
    at = open_page(tmp_path, "verdict.py", run_id)
    assert any("was cancelled" in w for w in texts(at, "warning"))
    outcome = texts(at, "warning")
    assert any(o.startswith("**INCONCLUSIVE**: the advised Linear probe could not") for o in outcome), outcome
    assert len(at.get("vega_lite_chart")) == 1  # one arm with a result: its bar; no empty chart
    assert list(at.table[0].value["Arm"]) == ["Linear probe"]
    links = {link.label: link for link in at.get("page_link")}
    assert "Download the report (HTML, Markdown, JSON)" in links
    assert at.query_params["run"] == [run_id] or at.query_params["run"] == run_id
    assert not at.exception


def test_history_filters_compares_deletes_and_loads_a_profile(app, tmp_path):
    first = stored_run(tmp_path, status="completed", label="leaves.zip", seeds=1, examples=100)
    second = stored_run(tmp_path, status="cancelled", label="my-photos.zip", seeds=3, examples=200)
    app.switch_page("finetune_or_scratch/app/pages/history.py").run()
    table = app.table[0].value
    assert set(table["Dataset"]) == {"leaves.zip", "my-photos.zip"} and "Duration" in table.columns
    assert any("Seeds: 3" in cell and "Training examples: 200" in cell for cell in table["Settings"])  # stacked
    app.multiselect[0].set_value(["leaves.zip"]).run()
    assert list(app.table[0].value["Run"]) == [first]
    app.multiselect[0].set_value([]).run()
    app.selectbox(key="compare_a").set_value(next(o for o in app.selectbox(key="compare_a").options if first in o))
    app.selectbox(key="compare_b").set_value(next(o for o in app.selectbox(key="compare_b").options if second in o))
    app.run()
    frames = [f.value for f in app.dataframe]
    settings = next(f for f in frames if "Setting" in f.columns)
    assert set(settings["Setting"]) == {"Dataset", "Seeds", "Training examples"}, settings
    answers = next(f for f in frames if "Question" in f.columns)
    assert list(answers["Question"]) == ["Labeled examples"]
    assert len(app.get("vega_lite_chart")) == 1  # both runs' accuracy on one axis
    # Delete the finished run.
    picker = next(s for s in app.selectbox if s.label == "Pick a run")
    picker.set_value(next(o for o in picker.options if first in o)).run()
    next(b for b in app.button if b.label == "Delete this run").click().run()
    assert RunStore(tmp_path / "runs.db").run(first) is not None  # one click only asks
    assert any(f"Delete run {first}" in w for w in texts(app, "warning"))
    next(b for b in app.button if b.label == "Yes, delete it").click().run()
    assert RunStore(tmp_path / "runs.db").run(first) is None
    # Load a saved profile back into the questionnaire.
    profile_picker = next(s for s in app.selectbox if s.label == "Pick a profile")
    profile_picker.set_value(next(o for o in profile_picker.options if "100 examples" in o)).run()
    next(b for b in app.button if b.label == "Load into questionnaire").click().run()
    assert app.title[0].value == "Fine-tune or train from scratch?"
    assert app.number_input(key="field_labeled_examples").value == 100
    assert not app.exception


def test_finished_workers_are_reaped(tmp_path):
    import os
    import sys

    from finetune_or_scratch.app.runs import reap_when_done

    pid = os.spawnv(os.P_NOWAIT, sys.executable, [sys.executable, "-c", "pass"])  # like launch: no handle kept
    reap_when_done(pid).join(timeout=60)
    assert not Path(f"/proc/{pid}").exists()  # gone, not defunct


@pytest.mark.slow
def test_a_tiny_run_completes_to_a_verdict(app, tmp_path):
    next(b for b in app.button if b.label == "Get recommendation").click().run()
    app.switch_page("finetune_or_scratch/app/pages/validation.py").run()
    app.selectbox(key="run_builtin").set_value("digits")
    labels = {w.label: w for w in app.number_input}
    labels["Training examples"].set_value(200)
    labels["Seconds of training per trial"].set_value(1.0)
    next(b for b in app.button if b.label == "Start run").click().run()
    assert not app.error, texts(app, "error")
    store = RunStore(tmp_path / "runs.db")
    (run,) = store.runs()
    deadline = time.time() + 180
    while store.run(run.id).status in ("queued", "running") and time.time() < deadline:
        time.sleep(0.5)
    assert store.run(run.id).status == "completed", store.run(run.id)
    app.switch_page("finetune_or_scratch/app/pages/verdict.py").run()
    outcome = texts(app, "success") + texts(app, "warning") + texts(app, "error")
    # A 1 s check is not the profile's question: the outcome says so ("... for this check, not your question").
    verdict = re.compile(
        r"^\*\*(CONFIRMED|CONTRADICTED|INCONCLUSIVE|NOT DECIDED) for this check, not your question\*\*"
    )
    assert any(verdict.match(o) for o in outcome), outcome
    assert len(app.table) >= 1
    app.switch_page("finetune_or_scratch/app/pages/history.py").run()
    assert run.id in app.table[0].value["Run"].tolist()
    app.switch_page("finetune_or_scratch/app/pages/report.py").run()
    assert any("Measured results" in m.value for m in app.markdown)


@pytest.mark.slow
def test_estimate_similarity_fills_the_field(app):
    app.selectbox(key="similarity_builtin").set_value("digits").run()
    next(b for b in app.button if b.label == "Estimate from my data").click().run()
    note = texts(app, "info")[0]
    # Digits (8 px) is scored at the 64 px the pretrained arms train it at: LogME's gain there says medium.
    assert "LogME" in note and "suggests similarity to the pretraining data = medium" in note
    assert app.selectbox(key="field_domain_similarity").value == "medium"
    assert "8 px" in note and app.number_input(key="field_input_resolution").value == 8
    # Every answer the data settles is filled and marked: digits has 1,797 images in 10 classes.
    assert app.number_input(key="field_num_classes").value == 10
    assert app.number_input(key="field_labeled_examples").value == 1797
    marks = [c for c in texts(app, "caption") if c.startswith("↳ filled from digits")]
    assert len(marks) >= 4, marks  # classes, labeled examples, image side, similarity (modality is unchanged)
    assert not app.exception


def test_the_run_form_checks_the_advice_for_the_data_chosen_and_says_what_differs(app, tmp_path):
    folder = image_folder(tmp_path / "leaves")  # 30 images in 3 classes; the sample profile says 1,000 in 10
    validation_page(app)
    app.radio(key="run_kind").set_value("Folder on the server").run()
    app.text_input(key="run_path").set_value(str(folder)).run()
    warning = next(w for w in texts(app, "warning") if "The advice checked is for" in w)
    assert (
        "Classes: **3** (questionnaire: 10)" in warning and "Labeled examples: **30** (questionnaire: 1000)" in warning
    )
    next(b for b in app.button if b.label == "Update the questionnaire and the advice with these").click().run()
    assert not any("The advice checked is for" in w for w in texts(app, "warning"))  # nothing differs now
    assert not app.exception


def test_how_it_decides_shows_published_scores_calibration_and_rule_versions(app):
    app.switch_page("finetune_or_scratch/app/pages/rules.py").run()
    assert not app.exception
    assert "Scored against published outcomes" in texts(app, "header")
    agreement = app.table[0].value
    assert list(agreement["part"])[:2] == ["tuning", "held-out"]
    assert any(column.startswith("agreement, baseline rules (f8c6cb48505f)") for column in agreement.columns)
    calibration = app.table[1].value
    assert {"tuning", "held-out", "measured grid"} <= set(calibration["part"])
    assert any("Measured cells by the rule table they were made under" in c for c in texts(app, "caption"))


def test_a_damaged_run_store_is_named_on_the_page_not_a_traceback(tmp_path, monkeypatch):
    # The attack pass: a store with the right version and no tables broke every command; the app too.
    import sqlite3

    with sqlite3.connect(tmp_path / "runs.db") as db:
        db.execute("PRAGMA user_version = 2")
    monkeypatch.setenv("FOS_HOME", str(tmp_path))
    st.cache_resource.clear()
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.switch_page("finetune_or_scratch/app/pages/history.py").run()  # History reads the store at once
    st.cache_resource.clear()
    assert not at.exception
    assert any(f"run store {tmp_path / 'runs.db'}" in e and "is missing" in e for e in texts(at, "error"))


def test_the_form_shows_only_the_chosen_modes_widgets(app):
    validation_page(app)
    inputs = lambda: [w.label for w in app.text_input] + [w.label for w in app.number_input]  # noqa: E731
    assert "Curve sizes" not in inputs() and "Seconds of training per trial" in inputs()
    app.radio(key="run_mode").set_value("Learning curve").run()
    assert "Curve sizes" in inputs()
    app.radio(key="run_mode").set_value("Planned from your time budget").run()
    assert "Minutes for the whole check" in inputs() and "Seconds of training per trial" not in inputs()
    assert "Curve sizes" not in inputs() and not app.exception


def test_a_budget_of_zero_is_refused_in_the_forms_words(app, tmp_path):
    validation_page(app)
    app.number_input(key="run_budget").set_value(0.0)
    start(app)
    errors = texts(app, "error")
    assert any(e.startswith("Seconds of training per trial: expected seconds in 1..86400; got 0") for e in errors), (
        errors
    )
    assert not any("until converged" in e for e in errors)  # the form has no such option
    assert RunStore(tmp_path / "runs.db").runs() == []


@pytest.mark.slow
def test_the_plan_says_what_each_arm_gets_and_one_click_sets_the_budget_that_would_measure_it(app, tmp_path):
    validation_page(app)
    app.selectbox(key="run_builtin").set_value("digits").run()
    app.multiselect[0].set_value(["linear_probe", "scratch"])
    next(w for w in app.number_input if w.label == "Training examples").set_value(200)
    app.number_input(key="run_budget").set_value(1.0)
    next(b for b in app.button if b.label == "Plan this run").click().run()
    assert not app.exception and not app.error, texts(app, "error")
    shown = " ".join(texts(app, "markdown"))
    assert "**Linear probe**: no steps to plan" in shown and "**Train from scratch**: about" in shown, shown
    assert "in 1 s" in shown and any("cannot train enough" in w for w in texts(app, "warning"))
    accept = next(b for b in app.button if re.fullmatch(r"Use \d+ s per trial", b.label or ""))
    seconds = float(re.search(r"\d+", accept.label).group())
    accept.click().run()
    assert app.number_input(key="run_budget").value == seconds  # the suggestion is in the widget
    shown = " ".join(texts(app, "markdown"))
    assert f"in {seconds:g} s." in shown  # re-planned from the same measurement, no second probe
    assert not any("cannot train enough" in w for w in texts(app, "warning"))
    assert RunStore(tmp_path / "runs.db").runs() == []  # planning stores nothing
    assert not app.exception


def test_the_run_panel_shows_the_plan_the_run_stored_before_training(app, tmp_path):
    from tests.app.store_writer import write_finished_run

    run_id = write_finished_run(tmp_path / "runs.db")
    at = open_page(tmp_path, "validation.py", run_id)
    assert "The plan, before training" in [e.label for e in at.expander]
    shown = " ".join(texts(at, "markdown"))
    assert "**Train from scratch**: about 17 steps (4.2 epochs) in 5 s: too few to be compared fairly" in shown, shown
    assert "10 s would train it enough" in shown
    assert {"Macro-F1", "Training s", "Images/s"} <= set(at.table[0].value.columns)
    assert not at.exception


def test_a_planned_check_of_this_profile_puts_its_measured_costs_beside_the_ranking_and_the_verdict(app, tmp_path):
    from advisor import load_profile, recommend
    from finetune_or_scratch.app.state import SAMPLE_PROFILE
    from tests.app.store_writer import write_planned_check

    profile = load_profile(SAMPLE_PROFILE)  # the questionnaire's answers when the app opens
    run_id = write_planned_check(tmp_path / "runs.db", profile.to_dict(), recommend(profile).to_dict())
    at = open_page(tmp_path, "recommendation.py", run_id)
    assert any("instead of the fixed CPU-to-GPU factor" in i for i in texts(at, "info"))  # changed or the same
    assert any(f"from the throughput run {run_id} measured on this machine" in c for c in texts(at, "caption"))
    costs = next(t.value for t in at.table if "Epochs your budget buys" in t.value.columns)
    assert "To converge on 1,000 labels here" in costs.columns and len(costs) == 2
    verdict = open_page(tmp_path, "verdict.py", run_id)
    assert "Cost at full scale" in texts(verdict, "subheader")
    assert any("Epochs your budget buys" in t.value.columns for t in verdict.table)
    assert not at.exception and not verdict.exception
