"""Reports are pure functions of stored data; the HTML is self-contained."""

import json
import re
import sqlite3

import pytest
from typer.testing import CliRunner

from advisor import example_profile, recommend
from bench.evidence.summary import summarise
from bench.evidence.verdict import make_verdict
from bench.runs.store import RunStore
from bench.train.config import TrialConfig
from bench.train.result import EpochRecord, TrialResult
from finetune_or_scratch.cli import app
from finetune_or_scratch.reports.report import build_report, chart_specs, render


def trials():
    out = []
    for arm, accs in {"linear_probe": [0.82, 0.835, 0.81], "scratch": [0.75, 0.76, 0.745]}.items():
        for seed, acc in enumerate(accs):
            out.append(
                TrialResult(
                    TrialConfig("fashion-mnist", arm, seed=seed, examples=1000),
                    "completed",
                    test_accuracy=acc,
                    test_macro_f1=acc - 0.01,
                    time_train_s=5.0,
                    device="cpu (x86_64, 2 threads)",
                    versions={"torch": "2.14.1"},
                    dataset_fingerprint="1ba348a188843225",
                    train_examples=1000,
                    history=(EpochRecord(1.0, 5, 0.4, acc, 5.0),),
                )
            )
    return out


def report():
    results = trials()
    rec = recommend(example_profile()).to_dict()
    analyses = {"summary": [s.__dict__ for s in summarise(results)]}
    # A stored verdict as plain data: the report renders it, whatever the engine's rules decide today.
    verdict = {"advised": "linear_probe", "measured_winner": "linear_probe", "outcome": "confirmed",
               "summary": "the advised linear_probe (linear_probe) beat scratch by +0.070 accuracy",
               "reason": "the measurement agrees with the advice",
               "comparison": {"better": "linear_probe", "worse": "scratch", "seeds": 3, "mean_difference": 0.07,
                              "ci95": [0.065, 0.075], "p_value": 0.0017, "effect_size": 14.0}}  # fmt: skip
    run = {"id": "abc123", "kind": "run", "status": "completed", "config": {"seeds": [0, 1, 2]},
           "created": "2026-11-25T04:00:00+00:00", "finished": "2026-11-25T04:01:00+00:00"}  # fmt: skip
    return build_report(example_profile().to_dict(), rec, run, [t.to_dict() for t in results], verdict, analyses,
                        created="2026-11-25T04:02:00+00:00")  # fmt: skip


def test_markdown_has_every_section():
    text = render(report(), "md")
    for section in ("## Inputs", "## Recommendation", "### Factor contributions", "### Why",
                    "### What would change the answer", "### Nearest published cases", "### Recipe", "## Measured results", "## Verdict",
                    "## Reproduce", "1ba348a188843225", "seeds: 3 (seeds 0, 1, 2)", "torch 2.14.1"):  # fmt: skip
        assert section in text, section
    assert "0.822 ± 0.013" in text  # mean ± std over seeds
    assert "**CONFIRMED**" in text


def test_html_is_self_contained_with_embedded_charts():
    page = render(report(), "html")
    assert page.startswith("<!DOCTYPE html>") and page.count("<svg") >= 2
    assert "<table>" in page and "CONFIRMED" in page
    # Nothing is fetched: no URL in an attribute or CSS, and none in the text except the published
    # cases' citations (plain text, not links: the page still opens offline).
    assert not re.search(r"""(src|href)\s*=\s*["']?https?://|url\(""", page)
    cited = page.split("<h3>Nearest published cases</h3>")
    assert len(cited) == 2
    after = cited[1].split("<h", 1)[1] if "<h" in cited[1] else ""
    outside = cited[0] + after
    assert not re.search(r"https?://", outside), re.search(r".{40}https?://.{40}", outside)
    assert "<script" not in page and "<link" not in page


def test_json_round_trips():
    data = json.loads(render(report(), "json"))
    assert (
        data["recommendation"]["strategy"] == "full_finetune"
    )  # 200 per class, 8 GPU-hours: fine-tune (published rows)
    assert data["verdict"]["outcome"] == "confirmed" and len(data["trials"]) == 6


def test_report_is_a_pure_function_of_its_inputs():
    assert render(report(), "md") == render(report(), "md")


def test_unknown_format_is_refused():
    with pytest.raises(ValueError, match="expected one of md, html, json"):
        render(report(), "pdf")


def test_cli_writes_the_report_of_a_stored_run(tmp_path):
    store, run_id = _stored_run(tmp_path)
    store.set_verdict(run_id, make_verdict("linear_probe", trials()).to_dict())
    out = tmp_path / "report.html"
    # In this process (typer's CliRunner, the same app as the installed command); the subprocess
    # path of `report` is exercised by tests/bench/test_cli.py::test_curve_then_verdict.
    args = ["report", "--run", run_id, "--format", "html", "--out", str(out), "--db", str(tmp_path / "runs.db")]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, (result.stderr, result.exception)
    assert "Measured results" in out.read_text() and "<svg" in out.read_text()
    missing = CliRunner().invoke(app, [*args[:2], "nope", *args[3:]])
    assert missing.exit_code == 2 and isinstance(missing.exception, SystemExit), missing.exception
    assert f"--run nope: not in {tmp_path / 'runs.db'}" in missing.stderr


def test_report_reads_plainly():
    rec = recommend(example_profile().replace(input_resolution=28)).to_dict()
    run = {"id": "abc123", "kind": "run", "status": "cancelled", "created": "2026-11-25T04:00:00+00:00",
           "finished": "2026-11-25T04:01:05+00:00",
           "config": {"kind": "run", "arms": ["linear_probe", "scratch"], "seeds": [0, 1, 2], "dataset_label": "leaves.zip",
                      "base": {"dataset": "/srv/uploads/c0b40f5c3ec8f2f5.zip", "examples": 110, "budget_seconds": 5.0}}}  # fmt: skip
    cancelled = [{"arm": "scratch", "trials": 0, "accuracy_mean": None, "accuracy_std": None}]
    report = build_report(example_profile().to_dict(), rec, run, [t.to_dict() for t in trials()[:1]],
                          {"outcome": "not_decided", "summary": "not decided: linear_probe (linear_probe) is alone"},
                          {"summary": cancelled}, created="2026-11-25T04:02:00+00:00")  # fmt: skip
    text = render(report, "md")
    assert "['" not in text and "1e+10" not in text  # no Python list, numbers spelt out
    assert "| Labeled examples | 2,000 examples |" in text and "| Time budget | 8 hours |" in text
    assert "| Dataset | leaves.zip |" in text and "c0b40f5c3ec8f2f5" not in text  # the run's JSON block too
    assert "| Duration | 1 min 05 s |" in text
    assert "| rank | strategy | score |" in text  # the empty note column is gone
    assert "**NOT DECIDED**: Linear probe is alone" in text and "Linear probe (Linear probe)" not in text
    assert "- Upsample the 28 px images" in text  # the recipe's notes as a list, not Python
    assert "60% similar and 40% different" in text  # medium similarity: why both kinds of rule fire
    assert "accuracy_per_arm" not in chart_specs(report)  # a cancelled arm is not an empty chart


DATA = {"name": "shapes", "images": 40, "files_total": 42, "files_used": 40, "fingerprint": "f",
        "skipped": ["red/broken.png: not an image any decoder recognises (corrupt or unknown format)"],
        "ignored": ["notes.txt", "red/link.png (symlink; links are not followed)"],
        "intensity": "3 high-bit-depth images scaled by the dataset's range 10..50"}  # fmt: skip


@pytest.mark.parametrize("fmt", ["md", "html", "json"])
def test_every_report_format_lists_the_skipped_and_ignored_files(fmt):
    # The attack pass: the command line named every skipped file, no report did.
    base = report()
    text = render(build_report(base.profile, base.recommendation, base.run, base.trials, base.verdict,
                               {"summary": base.summary, "dataset": DATA}, created=base.created), fmt)  # fmt: skip
    for entry in (*DATA["skipped"], *DATA["ignored"], "scaled by the dataset's range 10..50"):
        assert entry in (text if fmt != "html" else text.replace("&#x27;", "'")), (fmt, entry)
    if fmt == "json":
        assert json.loads(text)["dataset"]["skipped"] == DATA["skipped"]


def _stored_run(tmp_path):
    store = RunStore(tmp_path / "runs.db")
    profile = example_profile()
    profile_id = store.save_profile(profile.to_dict(), recommend(profile).to_dict())
    run_id = store.create_run("run", {"kind": "run", "base": {"dataset": "fashion-mnist"}, "arms": [], "seeds": [0]},
                              session="s", profile_id=profile_id)  # fmt: skip
    for t in trials():
        store.add_trial(run_id, t.to_dict())
    store.add_analysis(run_id, "summary", [s.__dict__ for s in summarise(trials())])
    store.set_status(run_id, "completed")
    return store, run_id


def _damage_pages(path):
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = bytearray(path.read_bytes())
    data[4096:] = b"\xa5" * (len(data) - 4096)  # every page after the first: garbage
    path.write_bytes(bytes(data))


DAMAGE = {
    "no_tables": (lambda db, run: db.executescript("DROP TABLE trials; DROP TABLE verdicts; DROP TABLE reports;"),
                  "but table trials is missing"),
    "not_utf8": (lambda db, run: db.execute("UPDATE runs SET config = CAST(x'fffe7b7d' AS TEXT)"),
                 "damaged or not a run store (Could not decode to UTF-8 column 'config'"),
    "bad_json": (lambda db, run: db.execute("UPDATE runs SET analyses = '{not json'"),
                 "column analyses is not valid JSON (line 1, column 2"),
    "accuracy_7_5": (lambda db, run: db.execute("UPDATE trials SET body = json_set(body, '$.test_accuracy', 7.5)"),
                     "test_accuracy: expected a number in 0..1, or not measured; got 7.5"),
    "trials_object": (lambda db, run: db.execute("UPDATE trials SET body = '[]'"), "expected a JSON object; got list"),
    "bad_profile": (lambda db, run: db.execute("UPDATE profiles SET answers = '{\"modality\": 3}'"),
                    "table profiles, row"),
}  # fmt: skip


@pytest.mark.parametrize("case", [*DAMAGE, "damaged_pages"])
def test_a_damaged_store_is_named_and_exits_2(tmp_path, case):
    # The attack pass: "no such table: runs", "Could not decode to UTF-8 column 'config'" and a
    # JSONDecodeError came out of `report` as tracebacks.
    store, run_id = _stored_run(tmp_path)
    if case == "damaged_pages":
        _damage_pages(store.path)
        message = "damaged or not a run store"
    else:
        damage, message = DAMAGE[case]
        with sqlite3.connect(store.path, isolation_level=None) as db:
            damage(db, run_id)
    result = CliRunner().invoke(app, ["report", "--run", run_id, "--db", str(store.path)])
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit), (result.stderr, result.exception)
    assert f"run store {store.path}" in result.stderr and message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


def test_a_planned_check_reports_its_question_its_plan_and_the_cost_at_full_scale():
    from bench.train.check import ArmRate, Question, plan_check
    from bench.vocabulary import ArmFamily

    rates = (ArmRate("linear_probe", ArmFamily.PROBE, 1266.0, eval_images=2000, fixed_seconds=2.0),
             ArmRate("scratch", ArmFamily.SCRATCH, 247.0, epochs_to_converge=30, fixed_seconds=1.0))  # fmt: skip
    plan = plan_check(Question(1.0, "single_gpu", 1000), rates, 1000, 90, 20, "cpu")  # a GPU profile on a CPU
    base = report()
    verdict = {**base.verdict, "question": plan.verdict_question()}
    analyses = {"summary": base.summary, "check_plan": plan.to_dict()}
    planned = build_report(base.profile, base.recommendation, base.run, base.trials, verdict, analyses,
                           created=base.created)  # fmt: skip
    text = render(planned, "md")
    assert "a demo, not your budget of 1 hour on a single GPU" in text
    assert "**CONFIRMED for this check, not your question**" in text
    assert "### The plan, before training" in text and "### Cost at full scale: 1,000 labels" in text
    assert "on single_gpu (scaled)" in text and "scaled by a fixed factor, not measured" in text
    assert json.loads(render(planned, "json"))["check_plan"]["costs"][0]["arm"] == "linear_probe"


def test_a_planned_check_reports_the_advice_from_its_measured_costs_and_why_it_could_not_project():
    from bench.train.check import advice_change

    base = report()
    change = advice_change(
        {"strategy": "linear_probe", "confidence": 0.72}, {"strategy": "scratch", "confidence": 0.61}
    )
    advice = {"questionnaire": "linear_probe", "measured": "scratch", "judged": "scratch", "text": change}
    projection = {"examples": 10_000, "measured": [1000], "arms": [], "leader": None, "crossover": "",
                  "reason": "a learning curve for linear_probe, scratch at 250, 500 needs about 117 s; the bound "
                  "leaves 0 s after the arms", "bound_minutes": 14}  # fmt: skip
    planned = build_report(base.profile, base.recommendation, base.run, base.trials,
                           {**base.verdict, "projection": projection},
                           {"summary": base.summary, "measured_advice": advice}, created=base.created)  # fmt: skip
    text = render(planned, "md")
    assert "instead of the fixed CPU-to-GPU factor, the advice changes from Linear probe (72%) to scratch (61%)" in text
    assert "At your 10,000 labels: no projection (a learning curve for " in text
    assert (
        "the bound leaves 0 s after the arms; a check bound (--check-minutes) of 14 minutes would include a curve)"
        in text
    )
    assert json.loads(render(planned, "json"))["measured_advice"]["judged"] == "scratch"


@pytest.mark.parametrize("fmt", ["md", "json"])
def test_a_report_names_an_uploaded_file_never_its_server_path(fmt):
    stored = "/srv/fos/uploads/0a1b2c3d/my leaves.zip"  # where the app keeps an upload
    run = {"id": "abc123", "kind": "run", "status": "completed", "created": "2026-11-25T04:00:00+00:00",
           "finished": "2026-11-25T04:01:05+00:00",
           "config": {"kind": "run", "arms": ["linear_probe", "scratch"], "seeds": [0], "dataset_label": "my leaves.zip",
                      "base": {"dataset": stored, "examples": 110, "budget_seconds": 5.0}}}  # fmt: skip
    trial = trials()[0].to_dict()
    trial["config"]["dataset"] = stored
    trial["error"] = f"{stored}: one member skipped"
    report = build_report(example_profile().to_dict(), recommend(example_profile()).to_dict(), run, [trial], None,
                          {"dataset": {"name": "my leaves.zip", "images": 40}}, created="2026-11-25T04:02:00+00:00")  # fmt: skip
    text = render(report, fmt)
    assert "uploads" not in text and "0a1b2c3d" not in text
    assert "my leaves.zip" in text
