"""The bench command as a user runs it."""

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from advisor.shipped import example_profiles
from tests.bench.imaging import write_class_folder

ROOT = Path(__file__).resolve().parents[2]


def bench(*args, timeout=300):
    return subprocess.run(
        [sys.executable, "-m", "bench", *args], capture_output=True, text=True, cwd=ROOT, timeout=timeout
    )


@pytest.mark.slow
def test_run_writes_json_and_csv_and_prints_a_table(tmp_path):
    out = tmp_path / "run"
    result = bench(
        "run", "--dataset", "digits", "--examples", "300", "--arms", "linear_probe,scratch,hybrid",
        "--seeds", "2", "--budget-seconds", "2", "--out", str(out),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "linear_probe" in result.stdout and "±" in result.stdout
    assert "note: hybrid needs an unlabeled pool" in result.stderr
    assert "[4/4] scratch seed 1: completed" in result.stderr
    saved = json.loads((out / "results.json").read_text())
    assert {s["arm"] for s in saved["summary"]} == {"linear_probe", "scratch"}
    assert all(s["trials"] == 2 and s["accuracy_std"] is not None for s in saved["summary"])
    rows = list(csv.DictReader((out / "results.csv").open()))
    assert len(rows) == 4 and {r["status"] for r in rows} == {"completed"}
    assert len(list((out / "trials").glob("*.json"))) == 4
    assert saved["trials"][0]["config"]["examples"] == 300
    from bench.runs.store import RunStore  # the same run is in the app's run store

    run_id = result.stderr.rsplit("(run ", 1)[1].split(")")[0]
    store = RunStore()
    assert store.run(run_id).status == "completed" and store.run(run_id).session == "cli"
    assert len(store.trials(run_id)) == 4


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
        (["--dataset", "/no/such/dir"], "dataset /no/such/dir: no such file or folder"),
        (["--arms", "hybrid"], "no arm to run"),
        (["--batch-size", "1"], "--batch-size: expected an integer in 2..4096; got 1"),
        (["--arms", "scratch,scratch"], "--arms: expected each arm once; got scratch more than once"),
    ],
)
def test_bad_options_exit_2_with_a_clear_message(tmp_path, args, message):
    result = bench("run", *args, "--out", str(tmp_path / "out"))
    assert result.returncode == 2, result.stdout + result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_empty_folder_and_bad_zip_exit_2(tmp_path):
    (tmp_path / "empty").mkdir()
    result = bench("run", "--dataset", str(tmp_path / "empty"), "--out", str(tmp_path / "o1"))
    assert result.returncode == 2 and "no class sub-folders" in result.stderr
    bad = tmp_path / "bad.zip"
    bad.write_bytes(b"not a zip")
    result = bench("run", "--dataset", str(bad), "--out", str(tmp_path / "o2"))
    assert result.returncode == 2 and "not a readable zip archive" in result.stderr


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
    result = bench(
        "perf", "--dataset", "digits", "--examples", "300", "--budget-seconds", "2", "--steps", "4", "--repeats", "2",
        "--json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
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
    html = subprocess.run(
        [sys.executable, "-m", "finetune_or_scratch", "report", "--run", run_id, "--format", "html"],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
    )  # fmt: skip
    assert html.returncode == 0, html.stderr
    assert "Learning curve" in html.stdout and "Crossover" in html.stdout
    again = bench("verdict", "--profile", str(profile), "--results", str(out), "--examples", "240", "--json")
    assert again.returncode == 0, again.stderr
    verdict = json.loads(again.stdout)
    assert verdict["examples"] == 240 and verdict["outcome"] in ("confirmed", "contradicted", "inconclusive")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--sizes", "100,abc"], "--sizes '100,abc': expected comma-separated integers"),
        (["--dataset", "digits", "--sizes", "100,5000,9000"], "5000, 9000 larger than the 1,169 training examples"),
        (["--dataset", "digits", "--sizes", "300,100,200"], "distinct sizes in increasing order"),
    ],
)
def test_curve_bad_sizes_exit_2(tmp_path, args, message):
    result = bench("curve", *args, "--out", str(tmp_path / "o"))
    assert result.returncode == 2 and message in result.stderr, result.stderr


def test_verdict_on_a_missing_folder_exits_2(tmp_path):
    profile = example_profiles()["small_similar"]
    result = bench("verdict", "--profile", str(profile), "--results", str(tmp_path))
    assert result.returncode == 2 and "no results.json there" in result.stderr
