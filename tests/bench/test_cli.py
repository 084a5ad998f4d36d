"""The bench command as a user runs it."""

import csv
import json
import os
import subprocess
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from advisor.shipped import example_profiles
from bench.cli import app as bench_app
from bench.runs.queue import device_slot
from bench.train.arms import arm_label
from finetune_or_scratch.cli import app as main_app
from tests.bench.hostile import stored_trial, write_results
from tests.bench.imaging import write_class_folder

ROOT = Path(__file__).resolve().parents[2]


def bench(*args, timeout=300):
    """``python -m bench ARGS`` as a process: for what only a process shows (its exit status, a signal)."""
    return subprocess.run(
        [sys.executable, "-m", "bench", *args], capture_output=True, text=True, cwd=ROOT, timeout=timeout
    )


def invoke(*args, app=bench_app) -> SimpleNamespace:
    """The command in this process: typer's CliRunner on the same app and parsing as ``python -m bench``,
    without a fresh interpreter's ten seconds of importing torch and timm. Same fields as a finished process."""
    result = CliRunner().invoke(app, [str(a) for a in args])
    crash = "" if result.exception is None or isinstance(result.exception, SystemExit) else repr(result.exception)
    return SimpleNamespace(returncode=result.exit_code, stdout=result.stdout, stderr=result.stderr + crash)


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
    result = invoke(
        "run", "--dataset", "digits", "--examples", "300", "--arms", "linear_probe,scratch,hybrid_scratch",
        "--seeds", "2", "--budget-seconds", "1", "--out", str(out),
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
    result = invoke(
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
def test_perf_measures_all_three_side_by_side():
    result = CliRunner().invoke(bench_app, [
        "perf", "--dataset", "digits", "--examples", "100", "--budget-seconds", "1", "--steps", "3", "--repeats", "2",
        "--resolution", "32", "--batch-size", "16",  # digits trains at 64 px by default: here a sixteenth of the work
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
    # small_similar on one CPU-hour: the probe is advised (on two GPU-hours the rules now advise
    # fine-tuning, which this curve does not run; the probe then remains the CPU's cheap choice).
    profile = tmp_path / "small_similar_cpu.json"
    answers = json.loads(example_profiles()["small_similar"].read_text())
    profile.write_text(json.dumps({**answers, "compute": "cpu", "time_budget_hours": 1}))
    result = invoke(
        "curve", "--dataset", "digits", "--sizes", "60,120,240", "--arms", "linear_probe,scratch", "--seeds", "2",
        "--budget-seconds", "1", "--profile", str(profile), "--out", str(out), app=main_app,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    for text in (
        "winner",
        "fit linear_probe",
        "Crossover:",
        "Transferability: LogME",
        "cache: features",
        "Verdict (for this check, not your question):",
        "At 1 s per arm (set by the options, not your budget",
    ):
        assert text in result.stdout, text  # a 1 s curve says it answers its own question, not the profile's
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
    # 1 s budgets may starve an arm, so the outcome is not fixed; what must hold is that it follows from
    # the arms' health and the paired test it reports.
    starved = [e["arm"] for e in verdict["arms"] if e["undertrained"]]
    comparison = verdict["comparison"]
    if starved:
        assert verdict["outcome"] == "not_decided" and comparison is None, verdict
        assert all(f"{arm_label(arm)} did not" in verdict["summary"] for arm in starved) or (
            "no arm" in verdict["summary"]
        )
    else:
        assert comparison is not None and {comparison["better"], comparison["worse"]} == {"linear_probe", "scratch"}
        significant = comparison["p_value"] < 0.05
        if not significant:
            assert verdict["outcome"] == "inconclusive", verdict
        else:
            expected = "confirmed" if comparison["better"] == verdict["advised"] else "contradicted"
            assert verdict["outcome"] == expected, verdict


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
    result = invoke("run", "--dataset", str(folder), "--arms", "linear_probe,scratch", "--budget-seconds", "2",
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
    result = invoke("run", "--dataset", str(tmp_path / "noise"), "--arms", "linear_probe,scratch", "--seeds", "2",
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


# ---- the second attack pass: every traceback, hang and accepted-but-wrong input, one row each ----

PROFILE = ROOT / "advisor" / "data" / "profiles" / "small_similar.json"


def _nameless_zip(path: Path) -> Path:
    import zipfile

    class Nameless(zipfile.ZipInfo):
        def is_dir(self) -> bool:
            return False

    with zipfile.ZipFile(path, "w") as bundle:
        member = Nameless("x")
        member.filename = ""
        bundle.writestr(member, b"data")
    return path


RESULTS_ATTACKS = {
    "trials_object": (lambda d: write_results(d, '{"trials": {}}'), '"trials" must be a list of trials; got {}'),
    "deep_nesting": (lambda d: write_results(d, '{"trials": ' + "[" * 100_000 + "]" * 100_000 + "}"),
                     "nests 100001 levels deep"),
    "dev_zero": (lambda d: write_results(d, link="/dev/zero"), "not a regular file (a device, pipe or socket)"),
    "fifo": (lambda d: write_results(d, fifo=True), "not a regular file (a device, pipe or socket)"),
    "accuracy_text": (lambda d: write_results(d, json.dumps({"trials": [stored_trial(test_accuracy="abc")]})),
                      'trials[0].test_accuracy: expected a number in 0..1, or not measured; got "abc"'),
    "accuracy_nan": (lambda d: write_results(d, json.dumps({"trials": [stored_trial(test_accuracy=float("nan"))]})),
                     "trials[0].test_accuracy: expected a number in 0..1, or not measured; got nan"),
    "accuracy_7_5": (lambda d: write_results(d, json.dumps({"trials": [stored_trial(test_accuracy=7.5)]})),
                     "trials[0].test_accuracy: expected a number in 0..1, or not measured; got 7.5"),
    "bad_config": (lambda d: write_results(d, json.dumps({"trials": [stored_trial(config={"dataset": "x", "arm": "a",
                                                                               "seed": -1})]})),
                   "trials[0].config.seed: expected an integer in 0..2147483647; got -1"),
    "not_json": (lambda d: write_results(d, "{nope"), "is not valid JSON (line 1, column 2"),
    "plan_object": (lambda d: write_results(d, json.dumps({"trials": [stored_trial()], "budget_plan": {}})),
                    "budget_plan: expected a list of arm plans; got {}"),
    "plan_seconds_text": (lambda d: write_results(d, json.dumps({"trials": [stored_trial()], "budget_plan": [
                              {"arm": "scratch", "suggested_seconds": "soon"}]})),
                          'budget_plan[0].suggested_seconds: expected seconds > 0 and <= 31536000, or null (the budget was enough); got "soon"'),
}  # fmt: skip


@pytest.mark.parametrize("case", RESULTS_ATTACKS)
def test_a_hostile_results_file_is_named_and_exits_2(tmp_path, case):
    build, message = RESULTS_ATTACKS[case]
    folder = build(tmp_path / case)
    stderr = refused("verdict", "--profile", PROFILE, "--results", folder)
    assert f"--results {folder}" in stderr and message in stderr, stderr


def test_verdict_from_a_results_folder_repeats_its_plans_budget(tmp_path):
    # Judged again from the folder, a starved arm is told the seconds the run's plan said before training.
    from tests.bench.test_evidence import results

    trials = results({"linear_probe": [0.8, 0.8], "scratch": [0.1, 0.1]}, steps=9)
    plan = [{"arm": "scratch", "suggested_seconds": 60.0, "text": "..."}]
    folder = write_results(tmp_path / "r", json.dumps({"trials": [t.to_dict() for t in trials], "budget_plan": plan}))
    profile = str(ROOT / "advisor" / "data" / "profiles" / "fashion_mnist_quick.json")  # advises the linear probe
    judged = CliRunner().invoke(bench_app, ["verdict", "--profile", profile, "--results", str(folder)])
    assert judged.exit_code == 0, (judged.stderr, judged.exception)
    assert "Train from scratch did not train in 5 s (9 steps); give it at least 60 s" in judged.stdout
    write_results(tmp_path / "r", json.dumps({"trials": [t.to_dict() for t in trials]}))  # no plan: the trial's rate
    assert "give it at least 40 s" in CliRunner().invoke(bench_app, ["verdict", "--profile", profile,
                                                                     "--results", str(folder)]).stdout  # fmt: skip


def test_a_fifo_results_file_returns_at_once(tmp_path):
    # The attack pass: `verdict --results` on a folder whose results.json is a FIFO blocked forever.
    folder = write_results(tmp_path / "fifo", fifo=True)
    done = []
    worker = threading.Thread(target=lambda: done.append(refused("verdict", "--profile", PROFILE,
                                                                 "--results", folder)), daemon=True)  # fmt: skip
    worker.start()
    worker.join(timeout=20)
    assert not worker.is_alive(), "verdict blocked on a FIFO"
    assert "not a regular file" in done[0]


def _damaged_store(home: Path, damage: str) -> None:
    import sqlite3

    home.mkdir(parents=True)
    if damage == "no_tables":
        with sqlite3.connect(home / "runs.db", isolation_level=None) as db:
            db.execute("PRAGMA user_version = 2")
        return
    from bench.runs.store import RunStore

    store = RunStore(home / "runs.db")
    store.create_run("run", {"kind": "run"}, session="cli")
    with sqlite3.connect(home / "runs.db", isolation_level=None) as db:
        if damage == "not_utf8":
            db.execute("UPDATE runs SET config = CAST(x'fffe7b7d' AS TEXT)")
        elif damage == "bad_json":
            db.execute("UPDATE runs SET progress = '{not json'")
        else:  # damaged pages: every page after the first is garbage
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    if damage == "damaged_pages":
        data = bytearray((home / "runs.db").read_bytes())
        data[4096:] = b"\xa5" * (len(data) - 4096)
        (home / "runs.db").write_bytes(bytes(data))


OPTION_ATTACKS = {
    "cpus_per_trial_0": (["run", "--cpus-per-trial", "0"], "--cpus-per-trial: expected an integer in 1..1024; got 0"),
    "cpus_per_trial_-4": (["run", "--cpus-per-trial", "-4"], "--cpus-per-trial: expected an integer in 1..1024; got -4"),
    "out_empty": (["run", "--out", ""], "--out '': an empty folder name"),
    "perf_steps_0": (["perf", "--steps", "0"], "--steps: expected an integer in 1..100000; got 0"),
    "perf_repeats_0": (["perf", "--repeats", "0"], "--repeats: expected an integer in 1..100; got 0"),
    "similarity_examples_0": (["similarity", "--examples", "0"], "--examples: expected an integer in 20..1000000, or the whole training split; got 0"),
    "similarity_examples_huge": (["similarity", "--examples", str(10**30)],
                                 "got 1000000000000000000000000000000"),
}  # fmt: skip


@pytest.mark.parametrize("case", OPTION_ATTACKS)
def test_an_option_out_of_range_is_named_and_exits_2(tmp_path, monkeypatch, case):
    monkeypatch.chdir(tmp_path)  # --out '' would write here
    args, message = OPTION_ATTACKS[case]
    assert message in refused(*args, *(["--out", tmp_path / "o"] if args[0] == "run" and "--out" not in args else []))
    assert not (tmp_path / "results.json").exists()


STORE_ATTACKS = {
    "no_tables": "schema v2, but table profiles is missing",
    "not_utf8": "damaged or not a run store (Could not decode to UTF-8 column 'config'",
    "bad_json": "column progress is not valid JSON (line 1, column 2",
    "damaged_pages": "damaged or not a run store",
}


@pytest.mark.parametrize("case", STORE_ATTACKS)
def test_run_on_a_damaged_store_names_it_and_exits_2(tmp_path, monkeypatch, case):
    # The attack pass: `run` went through mark_interrupted into "no such table: runs" or a JSONDecodeError.
    home = tmp_path / "home"
    _damaged_store(home, case)
    monkeypatch.setenv("FOS_HOME", str(home))
    stderr = refused("run", "--dataset", "digits", "--arms", "scratch", "--out", tmp_path / "o")
    assert f"run store {home / 'runs.db'}" in stderr and STORE_ATTACKS[case] in stderr, stderr


def test_a_cache_folder_that_is_a_file_is_named(tmp_path, monkeypatch):
    (tmp_path / "cache").write_text("not a folder")
    monkeypatch.setenv("FOS_CACHE_DIR", str(tmp_path / "cache"))
    stderr = refused("run", "--dataset", "digits", "--arms", "scratch", "--out", tmp_path / "o")
    assert f"FOS_CACHE_DIR: {tmp_path / 'cache'} cannot be used as the cache folder (a file of that name" in stderr


@pytest.mark.parametrize("kind", ["images", "texts"])
def test_a_dataset_folder_too_large_to_scan_is_refused_at_the_bound_with_the_flag_named(tmp_path, monkeypatch, kind):
    # The attack pass: --dataset / walked the whole file system for 28 s before refusing. The scan stops at
    # FOS_MAX_SCAN_FILES entries (200,000 unless set) and names the flag, the bound and what is accepted.
    folder = tmp_path / "many"
    if kind == "images":
        write_class_folder(folder, {"a": 30, "b": 30}, size=4)
    else:
        for label in ("a", "b"):
            (folder / label).mkdir(parents=True)
            for i in range(30):
                (folder / label / f"{i}.txt").write_text(f"text {i} of {label}")
    monkeypatch.setenv("FOS_MAX_SCAN_FILES", "40")
    stderr = refused("run", "--dataset", folder, "--arms", "scratch", "--out", tmp_path / "o")
    assert f"--dataset {folder}: too large to scan: more than 40 files and folders under it, scan stopped" in stderr
    assert "(FOS_MAX_SCAN_FILES raises the limit; folders more than 32 deep are not scanned); expected" in stderr
    assert not any((tmp_path / "o").rglob("*"))  # nothing written


@pytest.mark.parametrize("command", ["similarity", "run"])
def test_a_zip_member_with_an_empty_name_is_named(tmp_path, command):
    archive = _nameless_zip(tmp_path / "nameless.zip")
    extra = ["--arms", "scratch", "--out", tmp_path / "o"] if command == "run" else []
    stderr = refused(command, "--dataset", archive, *extra)
    assert f"{archive}: a member has an empty name" in stderr


@pytest.mark.slow
def test_doctor_reports_a_ready_machine_offline_and_opens_no_connection(tmp_path, monkeypatch):
    # The attack pass: `doctor --json` tried to download two torchvision weights and created a torch
    # hub folder outside FOS_CACHE_DIR. Sockets are blocked: any connection attempt fails the test.
    import socket

    attempts = []

    def refuse(self, address, *args):
        attempts.append(address)
        raise OSError("network blocked by the test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", lambda address, *a, **k: refuse(None, address))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    result = CliRunner().invoke(bench_app, ["doctor", "--json"])
    assert attempts == []
    assert not (tmp_path / "torch").exists()  # no torch hub folder created
    assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
    report = json.loads(result.stdout)
    assert report["ok"] is True, report
    weights = next(c for c in report["checks"] if c["name"].startswith("pretrained weights"))
    assert weights["ok"] and "442 bell cote" in weights["detail"]  # china.jpg through the packaged weights
    assert report["versions"]["torch"].startswith("2.14")
    optional = [c for c in report["checks"] if c["name"].startswith("optional: weights")]
    assert optional and all("doctor is offline" in c["detail"] for c in optional), optional


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
