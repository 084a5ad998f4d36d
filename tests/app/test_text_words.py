"""A text run reads in text words everywhere a person looks: tables, plans, reports and the app's facts (pure)."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np

from advisor import example_profile, recommend
from bench.data.units import IMAGES, TEXTS, unit_for_dataset, unit_of
from bench.evidence.question import render_costs
from bench.evidence.summary import baseline_line, render_table, summarise
from bench.train.check import ArmRate, Question, full_scale_costs
from bench.train.config import TrialConfig
from bench.train.health import assess
from bench.train.result import TrialResult
from bench.vocabulary import ArmFamily
from finetune_or_scratch.app.datasets import facts_of
from finetune_or_scratch.app.views import trials_table
from finetune_or_scratch.reports.report import build_report, render
from finetune_or_scratch.reports.words import cost_rows, run_settings


def text_trials() -> list[TrialResult]:
    return [
        TrialResult(TrialConfig("fortunes", arm, seed=0, examples=200), "completed", test_accuracy=acc,
                    test_macro_f1=acc, time_train_s=2.0, images_per_second=410.0, test_size=220, train_examples=200,
                    **baseline)
        for arm, acc, baseline in (("linear_probe", 0.7, {}),
                                   ("scratch", 0.5, {"baseline_accuracy": 0.61, "baseline": "TF-IDF + LR"}))
    ]  # fmt: skip


def test_units_follow_the_dataset_and_the_stored_modality():
    assert unit_for_dataset("code-snippets") is TEXTS and unit_for_dataset("digits") is IMAGES
    assert unit_of("text") is TEXTS and unit_of("image") is IMAGES and unit_of(None) is IMAGES


def test_the_cli_table_reads_sentences_per_second_for_text():
    table = render_table(summarise(text_trials()), TEXTS)
    assert "sentences/s" in table and "(test split: 220 texts)" in table
    assert "img/s" not in table and "images" not in table
    assert "img/s" in render_table(summarise(text_trials()))  # an image run keeps its words


def test_the_cost_table_carries_its_unit_from_the_measured_rate():
    rates = [ArmRate("scratch", ArmFamily.SCRATCH, 900.0, unit=TEXTS.rate)]
    costs = full_scale_costs(Question(1.0, "cpu", 5000), rates, "cpu")
    assert costs[0].rate_unit == "sentences/s"
    text = render_costs(list(costs))
    assert "sentences/s here" in text and "img/s" not in text
    assert "Sentences/s here" in cost_rows([vars(c) for c in costs])[0]


def test_a_text_run_report_says_texts_and_sentences_per_second():
    trials = text_trials()
    run = {"id": "t1", "kind": "run", "status": "completed",
           "config": {"seeds": [0], "base": {"dataset": "fortunes", "text_backbone": "all-minilm-l6-v2",
                                             "max_tokens": 64}},
           "created": "2026-12-01T00:00:00+00:00", "finished": "2026-12-01T00:01:00+00:00"}  # fmt: skip
    analyses = {"summary": [s.__dict__ for s in summarise(trials)],
                "dataset": {"name": "fortunes", "images": 1091, "modality": "text", "classes": ["a", "b"]}}  # fmt: skip
    report = build_report(example_profile().to_dict(), recommend(example_profile()).to_dict(), run,
                          [t.to_dict() for t in trials], None, analyses, created="2026-12-01T00:02:00+00:00")  # fmt: skip
    text = render(report, "md")
    measured = text[text.index("## Measured results") :]
    assert "fortunes: 1,091 texts." in measured and "sentences/s" in measured
    assert "images" not in measured and "img/s" not in measured
    # The TF-IDF baseline beside scratch, in every format (JSON: the summary's own fields).
    assert "Beside Train from scratch, the classical baseline on the same training texts: TF-IDF + LR, test " \
           "accuracy 0.610." in measured  # fmt: skip
    scratch = next(s for s in json.loads(render(report, "json"))["summary"] if s["arm"] == "scratch")
    assert scratch["baseline_accuracy_mean"] == 0.61 and scratch["baseline"] == "TF-IDF + LR"
    assert "classical baseline" in render(report, "html")
    assert baseline_line(summarise(trials)) == "baseline beside scratch: TF-IDF + LR: test acc 0.610 (n=1)"
    assert run_settings(run["config"])["Sentence encoder"] == "all-minilm-l6-v2"


def test_the_app_words_text_facts_and_trials_as_texts():
    facts = facts_of(np.repeat(np.arange(4), 30), None, 2, modality=unit_of("text").modality)
    assert facts.describe().startswith("120 texts in 4 classes") and "images" not in facts.describe()
    assert facts.measured_answers()["modality"] == "text"
    assert "Sentences/s" in trials_table([t.to_dict() for t in text_trials()]).columns


def test_the_encoders_pass_shows_apart_from_training_in_the_app_and_the_report_when_an_arm_encoded():
    probe, scratch = text_trials()
    encoded = [replace(probe, time_features_s=3.4), scratch]
    table = trials_table([t.to_dict() for t in encoded])
    assert list(table["Encoding s"]) == [3.4, 0.0] and list(table["Training s"]) == [2.0, 2.0]
    assert "Encoding s" not in trials_table([t.to_dict() for t in text_trials()]).columns  # nothing encoded: no column
    run = {"id": "t2", "kind": "run", "status": "completed", "config": {"seeds": [0], "base": {"dataset": "fortunes"}},
           "created": "2026-12-01T00:00:00+00:00", "finished": "2026-12-01T00:01:00+00:00"}  # fmt: skip
    analyses = {"summary": [s.__dict__ for s in summarise(encoded)]}
    report = build_report(example_profile().to_dict(), recommend(example_profile()).to_dict(), run,
                          [t.to_dict() for t in encoded], None, analyses, created="2026-12-01T00:02:00+00:00")  # fmt: skip
    measured = render(report, "md").split("## Measured results")[1]
    assert "| arm | finished trials | test accuracy | macro-F1 | training s | encoding s | sentences/s |" in measured
    assert "| 2.0 | 3.4 | 410 |" in measured
    assert "encode s" in render_table(summarise(encoded), TEXTS)  # the command line's column, the same number


def test_an_undertrained_trial_says_so_in_the_trials_table_not_just_finished():
    probe, scratch = text_trials()
    correct = np.arange(100) < 85
    starved = replace(scratch, health=assess(correct, 0.5, 9, 0.5, gradient=True, budget_seconds=5))
    trained = replace(probe, health=assess(correct, 0.5, 5, 1.0, gradient=False, budget_seconds=5))
    table = trials_table([t.to_dict() for t in (trained, starved)])
    assert list(table["Status"]) == ["finished", "finished, undertrained"], list(table["Status"])
