"""The run store on a real SQLite file: concurrent writers, interrupted runs, migrations, the worker."""

import json
import multiprocessing
import sqlite3
import subprocess
import sys
import time

import pytest

from bench.runs.execute import execute_run
from bench.runs.request import RunRequest
from bench.runs.store import ACTIVE, MIGRATIONS, SCHEMA_VERSION, RunStore, StoreError
from bench.train.config import TrialConfig
from tests.app.store_writer import open_new_store, write_trials


def test_concurrent_writers_lose_nothing(tmp_path):
    path = tmp_path / "runs.db"
    store = RunStore(path)
    run_id = store.create_run("run", {"x": 1}, session="s")
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=write_trials, args=(path, run_id, w, 40)) for w in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=120)
        assert w.exitcode == 0
    assert len(store.trials(run_id)) == 160
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


@pytest.mark.parametrize("processes", [2, 6])
def test_first_runs_opening_a_new_store_at_once_all_succeed(tmp_path, processes):
    # The attack pass: 2 first runs at once lost one ("table profiles already exists"); 6 processes
    # opening a new store, 10 times, failed 48 of 60 opens. The migration is one exclusive transaction.
    context = multiprocessing.get_context("spawn")
    for attempt in range(3):
        path = tmp_path / f"new-{attempt}" / "runs.db"
        results = context.Queue()
        start_at = time.time() + 1.0 + 0.1 * processes  # after every child has started
        workers = [context.Process(target=open_new_store, args=(path, start_at, results)) for _ in range(processes)]
        for w in workers:
            w.start()
        outcomes = [results.get(timeout=60) for _ in workers]
        for w in workers:
            w.join(timeout=60)
        assert outcomes == ["ok"] * processes, outcomes
        assert len(RunStore(path).runs()) == processes


def test_a_run_whose_worker_died_is_marked_interrupted_and_keeps_its_trials(tmp_path):
    store = RunStore(tmp_path / "runs.db")
    run_id = store.create_run("run", {}, session="s")
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    store.set_status(run_id, "running", pid=process.pid)
    store.add_trial(run_id, {"trial_id": "done-1", "status": "completed"})
    assert store.mark_interrupted() == [run_id]
    record = store.run(run_id)
    assert record.status == "interrupted" and "finished trials kept" in record.error
    assert [t["trial_id"] for t in store.trials(run_id)] == ["done-1"]


def test_a_run_starting_up_is_never_judged_dead_by_another_handle(tmp_path):
    # The app's race: a run stored before its worker's pid, while another tab sweeps for dead workers.
    creator, other_tab = RunStore(tmp_path / "runs.db"), RunStore(tmp_path / "runs.db")
    run_id = creator.create_run("run", {}, session="s")  # its owner, this process, is stored with it
    assert other_tab.mark_interrupted() == []
    assert other_tab.run(run_id).status == "queued" and other_tab.run(run_id).error is None


def test_a_run_whose_creator_died_before_its_worker_started_is_marked(tmp_path):
    store = RunStore(tmp_path / "runs.db")
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    run_id = store.create_run("run", {}, session="s", owner=process.pid)
    assert store.mark_interrupted() == [run_id]


def test_a_sweep_never_overwrites_a_worker_that_registered_meanwhile(tmp_path):
    store = RunStore(tmp_path / "runs.db")
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    run_id = store.create_run("run", {}, session="s", owner=dead.pid)

    def judged_dead_while_the_worker_registers(pid: int) -> bool:
        store.set_status(run_id, "running", pid=subprocess.os.getpid())  # the worker, between look and write
        return False

    assert store.mark_interrupted(is_alive=judged_dead_while_the_worker_registers) == []
    store.set_status(run_id, "completed")
    record = store.run(run_id)
    assert record.status == "completed" and record.error is None  # no crash message on a finished run


def test_a_live_worker_is_not_marked(tmp_path):
    store = RunStore(tmp_path / "runs.db")
    run_id = store.create_run("run", {}, session="s")
    store.set_status(run_id, "running", pid=subprocess.os.getpid())
    assert store.mark_interrupted() == []


def test_migration_from_the_previous_schema_keeps_data(tmp_path):
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as db:  # a store written by version 1 of this program
        db.executescript(MIGRATIONS[0] + "PRAGMA user_version = 1;")
        db.execute(
            "INSERT INTO runs (id, created, kind, config, status, progress, cancel_requested) "
            "VALUES ('old1', '2026-01-01T00:00:00+00:00', 'run', '{\"a\": 1}', 'completed', '{}', 0)"
        )
        db.execute("INSERT INTO trials VALUES ('old1', 't1', '2026-01-01', '{\"trial_id\": \"t1\"}')")
    store = RunStore(path)
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 2
    record = store.run("old1")
    assert record.config == {"a": 1} and record.session == "" and record.analyses == {}
    assert store.trials("old1") == [{"trial_id": "t1"}]
    store.save_report("old1", "md", "# report")  # the new table works


def test_a_newer_schema_is_refused(tmp_path):
    path = tmp_path / "future.db"
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA user_version = 99")
    with pytest.raises(StoreError, match="newer than this program"):
        RunStore(path)


def test_sessions_see_only_their_runs(tmp_path):
    store = RunStore(tmp_path / "runs.db")
    a = store.create_run("run", {}, session="alice")
    b = store.create_run("run", {}, session="bob")
    assert [r.id for r in store.runs(session="alice")] == [a]
    assert {r.id for r in store.runs()} == {a, b}


@pytest.mark.slow
def test_worker_executes_a_stored_run_to_a_verdict(tmp_path):
    store = RunStore(tmp_path / "runs.db")
    base = TrialConfig("digits", "linear_probe", examples=200, budget_seconds=1)
    request = RunRequest("run", base, ("linear_probe", "scratch"), (0, 1), advised="linear_probe")
    run_id = store.create_run("run", request.to_dict(), session="s")
    assert execute_run(store, run_id).status == "completed"
    record = store.run(run_id)
    assert record.status == "completed" and record.progress["done"] == 4
    assert len(store.trials(run_id)) == 4
    assert {s["arm"] for s in record.analyses["summary"]} == {"linear_probe", "scratch"}
    assert store.verdict(run_id)["advised"] == "linear_probe"


@pytest.mark.slow
def test_worker_process_stops_when_cancelled(tmp_path):
    from bench.runs.worker import launch

    store = RunStore(tmp_path / "runs.db")
    base = TrialConfig("fashion-mnist", "scratch", examples=500, budget_seconds=60)
    run_id = store.create_run("run", RunRequest("run", base, ("scratch",), (0,)).to_dict(), session="s")
    launch(store, run_id, log_dir=tmp_path)
    deadline = time.time() + 120
    while store.run(run_id).progress.get("phase") != "train" and time.time() < deadline:
        time.sleep(0.2)
    assert store.run(run_id).progress.get("phase") == "train", "the worker never started training"
    asked = time.time()
    store.request_cancel(run_id)
    while store.run(run_id).status == "running" and time.time() - asked < 30:
        time.sleep(0.1)
    record = store.run(run_id)
    assert record.status == "cancelled", (record, (tmp_path / f"{run_id}.log").read_text())
    assert time.time() - asked < 5  # 2 s to stop the trial, plus writing the result
    assert json.loads(json.dumps(store.trials(run_id)))[0]["status"] == "cancelled"


def test_a_run_cancelled_before_its_worker_starts_ends_without_training(tmp_path):
    from bench.runs.worker import CANCELLED_STARTING, launch

    store = RunStore(tmp_path / "runs.db")
    base = TrialConfig("digits", "scratch", examples=200, budget_seconds=60)
    run_id = store.create_run("run", RunRequest("run", base, ("scratch",), (0,)).to_dict(), session="s")
    store.request_cancel(run_id)
    pid = launch(store, run_id, log_dir=tmp_path)
    seen = [store.run(run_id).status]  # queued, or already cancelled: launch never says running
    deadline = time.time() + 60
    while store.run(run_id).status == "queued" and time.time() < deadline:
        time.sleep(0.05)
    record = store.run(run_id)
    assert record.status == "cancelled" and record.error == CANCELLED_STARTING, (record, seen)
    assert record.pid == pid and store.trials(run_id) == [] and "running" not in seen


def test_a_cancel_while_the_worker_imports_ends_it_and_marks_the_run(tmp_path):
    import threading

    from bench.runs.worker import CANCELLED_STARTING, cancel_while_starting

    store = RunStore(tmp_path / "runs.db")
    run_id = store.create_run("run", {}, session="s")
    ended = threading.Event()
    with cancel_while_starting(store, run_id, end=lambda code: ended.set(), poll=0.01):
        assert not ended.is_set()  # no cancel yet: the import goes on
        store.request_cancel(run_id)
        assert ended.wait(timeout=30)  # the watch ended the process (here: set the event)
    record = store.run(run_id)
    assert record.status == "cancelled" and record.error == CANCELLED_STARTING


def test_a_run_cancelled_once_it_holds_the_device_stops_before_loading(tmp_path):
    store = RunStore(tmp_path / "runs.db")
    base = TrialConfig("digits", "scratch", examples=200, budget_seconds=60)
    run_id = store.create_run("run", RunRequest("run", base, ("scratch",), (0,)).to_dict(), session="s")
    store.request_cancel(run_id)
    outcome = execute_run(store, run_id)
    record = store.run(run_id)
    assert outcome.status == "cancelled" and record.error == "cancelled before training; nothing ran"
    assert store.trials(run_id) == [] and "dataset" not in record.analyses


@pytest.mark.slow
def test_a_standby_worker_takes_the_next_run_and_ends_when_the_app_does(tmp_path, monkeypatch):
    from bench.runs import worker

    monkeypatch.setenv(worker.WARM_SETTING, "1")
    store = RunStore(tmp_path / "runs.db")
    standby = worker.warm(store, log_dir=tmp_path)
    assert worker.warm(store, log_dir=tmp_path) == standby  # one standby per store, not one per call
    base = TrialConfig("digits", "linear_probe", examples=100, budget_seconds=1)
    run_id = store.create_run("run", RunRequest("run", base, ("linear_probe",), (0,)).to_dict(), session="s")
    assert worker.launch(store, run_id, log_dir=tmp_path) == standby  # handed over, no new process
    assert store.run(run_id).pid == standby
    deadline = time.time() + 120
    while store.run(run_id).status in ACTIVE and time.time() < deadline:
        time.sleep(0.2)
    assert store.run(run_id).status == "completed", (tmp_path / f"{run_id}.log").read_text()
    assert (tmp_path / f"{run_id}.log").exists()  # the standby's output moved to the run's log


def test_a_standby_that_never_gets_a_run_ends_when_its_input_closes(tmp_path, monkeypatch):
    """The app stopped (its end of the pipe closed): the standby returns without touching any run."""
    import io

    from bench.runs import worker

    store = RunStore(tmp_path / "runs.db")
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert worker.main(["--standby", "--db", str(store.path), "--log-dir", str(tmp_path)]) == 0
    assert store.runs() == [] and not list(tmp_path.glob("*.log"))


def test_no_standby_when_the_setting_is_off(tmp_path, monkeypatch):
    from bench.runs import worker

    monkeypatch.setenv(worker.WARM_SETTING, "0")
    assert worker.warm(RunStore(tmp_path / "runs.db"), log_dir=tmp_path) is None


def test_no_standby_starts_while_a_run_holds_a_device(tmp_path, monkeypatch):
    """Its imports would come out of that run's budget: the next one warms when the device is free."""
    from bench.runs import worker
    from bench.runs.queue import any_holder, device_slot

    monkeypatch.setenv(worker.WARM_SETTING, "1")
    store = RunStore(tmp_path / "runs.db")
    locks = tmp_path / "locks"
    assert any_holder(locks) is None  # no folder yet: nothing held
    with device_slot(locks, "cuda:0", "training-run"):
        assert any_holder(locks) == "training-run"
        assert worker.warm(store, log_dir=tmp_path) is None
    assert any_holder(locks) is None
