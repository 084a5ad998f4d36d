"""The bench command as a user runs it."""

import csv
import json
import os
import subprocess
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from advisor.shipped import example_profiles
from bench.cli import app as bench_app
from bench.runs.queue import device_slot
from finetune_or_scratch.cli import app as main_app
from tests.bench.imaging import write_class_folder

ROOT = Path(__file__).resolve().parents[2]


def bench(*args, timeout=300):
    return subprocess.run(
        [sys.executable, "-m", "bench", *args], capture_output=True, text=True, cwd=ROOT, timeout=timeout
    )


def refused(*args) -> str:
    """Run the command in this process (typer's CliRunner, the same app and parsing as ``python -m bench``)
    and return what it printed on stderr; it must exit 2 without a traceback. A refusal needs no fresh
    interpreter: ``test_a_refusal_exits_2_as_a_process`` checks the real process's status once."""
    result = CliRunner().invoke(bench_app, [str(a) for a in args])
    assert result.exit_code == 2, (result.exit_code, result.stdout, result.stderr, result.exception)
    assert isinstance(result.exception, SystemExit), result.exception  # a refusal, not a crash
    assert "Traceback" not in result.stderr
    return result.stderr


@pytest.mark.slow
def test_run_writes_json_and_csv_and_prints_a_table(tmp_path):
    out = tmp_path / "run"
    result = bench(
        "run", "--dataset", "digits", "--examples", "300", "--arms", "linear_probe,scratch,hybrid_scratch",
        "--seeds", "2", "--budget-seconds", "2", "--out", str(out),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "linear_probe" in result.stdout and "±" in result.stdout
    assert "[6/6] hybrid_scratch seed 1: completed" in result.stderr
    saved = json.loads((out / "results.json").read_text())
    assert {s["arm"] for s in saved["summary"]} == {"linear_probe", "scratch", "hybrid_scratch"}
    assert all(s["trials"] == 2 and s["accuracy_std"] is not None for s in saved["summary"])
    hybrid = [t for t in saved["trials"] if t["config"]["arm"] == "hybrid_scratch"]
    assert all(t["pretrain_steps"] > 0 and t["time_pretrain_s"] > 0 for t in hybrid)
    assert "beyond the 300 labeled, labels hidden" in hybrid[0]["pretrain_notes"][1]
    rows = list(csv.DictReader((out / "results.csv").open()))
    assert len(rows) == 6 and {r["status"] for r in rows} == {"completed"}
    assert len(list((out / "trials").glob("*.json"))) == 6
    assert saved["trials"][0]["config"]["examples"] == 300
    from bench.runs.store import RunStore  # the same run is in the app's run store

    run_id = result.stderr.rsplit("(run ", 1)[1].split(")")[0]
    store = RunStore()
    assert store.run(run_id).status == "completed" and store.run(run_id).session == "cli"
    assert len(store.trials(run_id)) == 6


@pytest.mark.slow
def test_run_on_a_users_folder_with_json_output(tmp_path):
    folder = write_class_folder(tmp_path / "shapes", {"red": 12, "green": 12, "blue": 12}, size=20)
    (folder / "red" / "broken.png").write_bytes(b"nope")
    result = bench(
        "run", "--dataset", str(folder), "--arms", "scratch", "--until-converged", "--max-epochs", "10",
        "--examples", "15", "--batch-size", "5", "--out", str(tmp_path / "out"), "--json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    trial = data["trials"][0]
    assert trial["status"] == "completed" and trial["train_examples"] == 15
    assert trial["test_accuracy"] > 0.5  # three colours are easy


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--dataset", "imagenet"], "unknown dataset 'imagenet'; valid datasets are digits, fashion-mnist"),
        (["--arms", "linear_probe,finetune"], "unknown arm 'finetune'; valid arms are linear_probe"),
        (["--backbone", "vit_huge"], "unknown backbone 'vit_huge'; valid backbones are"),
        (["--dataset", "digits", "--examples", "100000"], "--examples 100000: more than the"),
        (["--seeds", "0"], "--seeds: expected an integer in 1..20; got 0"),
        (["--budget-seconds", "0"], "--budget-seconds: expected seconds in 1..86400"),
        (["--device", "tpu"], "--device 'tpu': expected one of auto, cpu, cuda, mps"),
        (["--dataset", "/no/such/dir"], 'dataset "/no/such/dir": no such file or folder'),
        (["--arms", "hybrid", "--unlabeled", "/no/such/pool"], "--unlabeled: expected a folder or .zip of unlabeled"),
        (["--arms", "scratch", "--unlabeled", "."], "--unlabeled: is used by the hybrid arms only"),
        (["--batch-size", "1"], "--batch-size: expected an integer in 2..4096; got 1"),
        (["--arms", "scratch,scratch"], "--arms: expected each arm once; got scratch more than once"),
        (["--check-minutes", "0.1"], "--check-minutes: expected minutes in 0.5..1440"),
        (["--check-minutes", "3", "--budget-seconds", "10"], "--check-minutes 3: plans the check from a profile's"),
        (["--dataset", "digits", "--check-minutes", "3"], "needs --profile for a dataset of your own"),
    ],
)
def test_bad_options_exit_2_with_a_clear_message(tmp_path, args, message):
    assert message in refused("run", *args, "--out", tmp_path / "out")


def test_a_refusal_exits_2_as_a_process(tmp_path):
    result = bench("run", "--seeds", "0", "--out", str(tmp_path / "out"))
    assert result.returncode == 2, result.stdout + result.stderr
    assert "--seeds: expected an integer in 1..20; got 0" in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "out").exists()


def test_empty_folder_and_bad_zip_exit_2(tmp_path):
    (tmp_path / "empty").mkdir()
    assert "no class sub-folders" in refused("run", "--dataset", tmp_path / "empty", "--out", tmp_path / "o1")
    bad = tmp_path / "bad.zip"
    bad.write_bytes(b"not a zip")
    assert "not a readable zip archive" in refused("run", "--dataset", bad, "--out", tmp_path / "o2")


@pytest.mark.slow
def test_doctor_reports_a_ready_machine():
    result = bench("doctor", "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["ok"] is True
    weights = next(c for c in report["checks"] if c["name"].startswith("pretrained weights"))
    assert weights["ok"] and "442 bell cote" in weights["detail"]
    assert report["versions"]["torch"].startswith("2.14")


@pytest.mark.slow
def test_perf_measures_all_three_side_by_side():
    result = CliRunner().invoke(bench_app, [
        "perf", "--dataset", "digits", "--examples", "300", "--budget-seconds", "2", "--steps", "4", "--repeats", "2",
        "--json",
    ])  # fmt: skip
    assert result.exit_code == 0, (result.stderr, result.exception)
    report = json.loads(result.stdout)
    for key in ("runner_images_per_s", "naive_images_per_s", "raw_images_per_s", "linear_probe_fit_s"):
        assert report[key] > 0, key
    assert report["runner_vs_raw"] == pytest.approx(report["runner_images_per_s"] / report["raw_images_per_s"], 1e-2)
    assert report["train_flops_per_image"] > 1e6
    assert report["repeats"] == 2 and set(report["spreads"]) == {"runner", "raw", "naive", "naive_same"}


@pytest.mark.slow
def test_curve_then_verdict(tmp_path):
    out = tmp_path / "curve"
    profile = example_profiles()["small_similar"]
    result = subprocess.run([sys.executable, "-m", "finetune_or_scratch",
        "curve", "--dataset", "digits", "--sizes", "60,120,240", "--arms", "linear_probe,scratch", "--seeds", "2",
        "--budget-seconds", "1", "--profile", str(profile), "--out", str(out),
    ], capture_output=True, text=True, cwd=ROOT, timeout=600)  # fmt: skip
    assert result.returncode == 0, result.stderr
    for text in ("winner", "fit linear_probe", "Crossover:", "Transferability: LogME", "Verdict:", "cache: features"):
        assert text in result.stdout, text
    saved = json.loads((out / "results.json").read_text())
    assert saved["kind"] == "curve" and len(saved["trials"]) == 12
    assert {"points", "fits", "crossover", "winners"} <= set(saved["curve"])
    assert saved["transferability"]["suggested_similarity"] in ("low", "medium", "high")
    assert saved["verdict"]["advised"] == "linear_probe"
    assert (out / "curve.svg").read_text().startswith("<svg")
    run_id = result.stderr.rsplit("(run ", 1)[1].split(")")[0]
    # The stored run's report and a verdict read back from the folder, in this process (the same apps).
    html = CliRunner().invoke(main_app, ["report", "--run", run_id, "--format", "html"])
    assert html.exit_code == 0, (html.stderr, html.exception)
    assert "Learning curve" in html.stdout and "Crossover" in html.stdout
    again = CliRunner().invoke(
        bench_app, ["verdict", "--profile", str(profile), "--results", str(out), "--examples", "240", "--json"]
    )
    assert again.exit_code == 0, (again.stderr, again.exception)
    verdict = json.loads(again.stdout)
    assert verdict["examples"] == 240
    assert verdict["outcome"] in ("confirmed", "contradicted", "inconclusive", "not_decided"), verdict
    if verdict["outcome"] == "not_decided":  # 1 s budgets can starve an arm: the verdict must say which
        assert "did not" in verdict["summary"] or "no arm" in verdict["summary"], verdict["summary"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--sizes", "100,abc"], "--sizes '100,abc': expected comma-separated integers"),
        (["--dataset", "digits", "--sizes", "100,5000,9000"], "5000, 9000 larger than the 1,169 training examples"),
        (["--dataset", "digits", "--sizes", "300,100,200"], "distinct sizes in increasing order"),
    ],
)
def test_curve_bad_sizes_exit_2(tmp_path, args, message):
    assert message in refused("curve", *args, "--out", tmp_path / "o")


def test_verdict_on_a_missing_folder_exits_2(tmp_path):
    profile = example_profiles()["small_similar"]
    assert "no results.json there" in refused("verdict", "--profile", profile, "--results", tmp_path)


@pytest.mark.slow
def test_a_small_folder_runs_with_no_examples_option(tmp_path):
    folder = write_class_folder(tmp_path / "small", {"a": 120, "b": 120, "c": 115}, size=20)  # 355 images
    result = bench("run", "--dataset", str(folder), "--arms", "linear_probe,scratch", "--budget-seconds", "2",
                   "--out", str(tmp_path / "out"), "--json")  # fmt: skip
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert {t["status"] for t in data["trials"]} == {"completed"}
    assert data["trials"][0]["train_examples"] < 355  # every training example: the held-out splits keep the rest
    assert data["config"]["base"]["examples"] is None and data["config"]["base"]["examples_cap"] == 1000


@pytest.mark.slow
def test_random_labels_give_no_confirmed_or_contradicted_verdict(tmp_path):
    rng = np.random.default_rng(0)
    for i in range(240):  # the same noise images under random class names
        folder = tmp_path / "noise" / f"class{rng.integers(0, 4)}"
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 255, (16, 16, 3), dtype=np.uint8)).save(folder / f"{i}.png")
    profile = example_profiles()["small_similar"]
    result = bench("run", "--dataset", str(tmp_path / "noise"), "--arms", "linear_probe,scratch", "--seeds", "2",
                   "--budget-seconds", "2", "--profile", str(profile), "--out", str(tmp_path / "out"), "--json")  # fmt: skip
    assert result.returncode == 0, result.stderr
    verdict = json.loads(result.stdout)["verdict"]
    assert verdict["outcome"] not in ("confirmed", "contradicted"), verdict["summary"]


@pytest.mark.slow
def test_a_run_queues_behind_the_run_that_holds_the_device(tmp_path):
    """Another run holds the CPU (the lock every run takes); this one says it is queued, waits, then trains.

    The test holds the lock itself, so how long a process takes to start cannot decide the outcome.
    """
    locks, held, release, released = Path(os.environ["FOS_HOME"]) / "locks", threading.Event(), threading.Event(), []

    def other_run():
        with device_slot(locks, "cpu", "other-run"):
            held.set()
            release.wait(timeout=300)
            released.append(datetime.now(UTC))

    holder = threading.Thread(target=other_run)
    holder.start()
    assert held.wait(timeout=30)
    process = subprocess.Popen(
        [sys.executable, "-m", "bench", "run", "--dataset", "digits", "--examples", "200", "--arms", "scratch",
         "--budget-seconds", "2", "--device", "cpu", "--out", str(tmp_path / "out"), "--json"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    said = []
    for line in process.stderr:  # until it says it waits (or ends without saying so)
        said.append(line)
        if "queued behind run other-run" in line:
            break
    release.set()
    holder.join(timeout=60)
    out, rest = process.communicate(timeout=300)
    assert process.returncode == 0, "".join(said) + rest
    assert any("queued behind run other-run" in line for line in said), said
    trial = json.loads(out)["trials"][0]
    assert trial["status"] == "completed"
    # started_at is to the second: never on the device at the same time
    assert datetime.fromisoformat(trial["started_at"]) >= released[0].replace(microsecond=0)


def test_run_with_no_profile_checks_the_sample_profile_and_ends_in_a_verdict_that_states_its_question(tmp_path):
    """`finetune-or-scratch run` as a new user types it, kept short: two arms on 200 images."""
    # Bounded generously and capped at 5 epochs, so that a busy machine still fits; about 30 s when idle.
    args = ["run", "--examples", "200", "--arms", "linear_probe,scratch", "--max-epochs", "5", "--check-minutes", "30"]
    result = CliRunner().invoke(main_app, [*args, "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
    assert "the sample profile" in result.stderr and "plan: Your question: with 1 hour on cpu" in result.stderr
    verdict = result.stdout[result.stdout.index("\nAt ") + 1 :]
    assert verdict.startswith(("At your budget (1 hour on this CPU) on 200 examples of your 1,000", "At "))
    assert "\nVerdict" in verdict and "Cost at full scale (1,000 labels" in verdict
    stored = json.loads((tmp_path / "out" / "results.json").read_text())
    assert stored["verdict"]["question"]["labeled_examples"] == 1000
    assert {t["config"]["arm"] for t in stored["trials"]} == {"linear_probe", "scratch"}
