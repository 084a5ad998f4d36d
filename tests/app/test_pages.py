"""Each page headless with Streamlit's AppTest, against a real run store and real worker processes."""

import time
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

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


def test_invalid_answers_are_flagged_next_to_the_field(app):
    app.number_input(key="field_labeled_examples").set_value(0)
    app.number_input(key="field_time_budget_hours").set_value(-2.0)
    submit = next(b for b in app.button if b.label == "Get recommendation")
    submit.click().run()
    errors = texts(app, "error")
    assert any(e.startswith("labeled_examples: expected an integer >= 1") and "got 0" in e for e in errors), errors
    assert any(e.startswith("time_budget_hours: expected a number > 0") for e in errors), errors
    assert not app.exception


def test_recommendation_page_renders_ranking_reasons_and_recipe(app):
    next(b for b in app.button if b.label == "Get recommendation").click().run()
    app.switch_page("finetune_or_scratch/app/pages/recommendation.py").run()
    assert app.title[0].value.startswith("Recommendation: ")
    headers = texts(app, "subheader")
    for heading in ("Ranking", "Why", "What would change the answer"):
        assert heading in headers
    assert any(h.startswith("Recipe: ") for h in headers)
    assert len(app.expander) >= 3  # one per reason
    assert not app.exception


def test_recommendation_page_asks_for_answers_when_invalid(app):
    app.number_input(key="field_num_classes").set_value(1)
    next(b for b in app.button if b.label == "Get recommendation").click().run()
    app.switch_page("finetune_or_scratch/app/pages/recommendation.py").run()
    assert "Answer the questionnaire first" in texts(app, "info")[0]


def test_validation_rejects_a_missing_folder_with_a_message(app):
    app.switch_page("finetune_or_scratch/app/pages/validation.py").run()
    app.radio(key="run_kind").set_value("Folder on the server").run()
    app.text_input(key="run_path").set_value("/no/such/folder")
    next(b for b in app.button if b.label == "Start run").click().run()
    assert "dataset /no/such/folder: no such file or folder" in texts(app, "error")
    assert not app.exception


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
    assert any(o.startswith(("**CONFIRMED**", "**CONTRADICTED**", "**INCONCLUSIVE**")) for o in outcome), outcome
    assert len(app.dataframe) >= 1
    app.switch_page("finetune_or_scratch/app/pages/history.py").run()
    assert run.id in app.dataframe[0].value["run"].tolist()
    app.switch_page("finetune_or_scratch/app/pages/report.py").run()
    assert "Measured results" in app.markdown[-1].value


@pytest.mark.slow
def test_estimate_similarity_fills_the_field(app):
    app.selectbox(key="similarity_builtin").set_value("digits").run()
    next(b for b in app.button if b.label == "Estimate from my data").click().run()
    note = texts(app, "info")[0]
    assert "LogME" in note and "suggests domain_similarity = low" in note
    assert app.selectbox(key="field_domain_similarity").value == "low"
    assert "8 px" in note and app.number_input(key="field_input_resolution").value == 8
    assert not app.exception
