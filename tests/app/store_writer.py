"""A writer process for the run-store concurrency test.

Kept apart from the test module: a spawned child imports the module its target lives in, and
this one imports only the store (sqlite3), not torch.
"""

from bench.runs.store import RunStore


def write_trials(path, run_id, writer, count):
    store = RunStore(path)
    for i in range(count):
        store.add_trial(run_id, {"trial_id": f"w{writer}-{i}", "value": i})
        store.set_progress(run_id, {"writer": writer, "i": i})


def open_new_store(path, start_at, results):
    """Open (and so create) the store at the same instant as the other processes; report what happened."""
    import time

    time.sleep(max(0.0, start_at - time.time()))
    try:
        store = RunStore(path)
        store.create_run("run", {"opened_by": "a first run"}, session="s")
    except Exception as error:  # the test reports every failure, whatever its type
        results.put(f"{type(error).__name__}: {error}")
    else:
        results.put("ok")


def write_finished_run(path, session="s") -> str:
    """A finished two-arm run as the worker leaves it (trials, summary, budget plan), for the pages to show."""
    store = RunStore(path)
    config = {"kind": "run", "arms": ["linear_probe", "scratch"], "seeds": [0], "sizes": [], "advised": "linear_probe",
              "dataset_label": "digits", "base": {"dataset": "digits", "arm": "linear_probe", "examples": 200,
                                                  "budget_seconds": 5.0, "device": "auto", "seed": 0}}  # fmt: skip
    run_id = store.create_run("run", config, session=session)
    for arm, accuracy in (("linear_probe", 0.91), ("scratch", 0.62)):
        store.add_trial(run_id, {"trial_id": arm, "config": {"arm": arm, "seed": 0}, "status": "completed",
                                 "test_accuracy": accuracy, "test_macro_f1": accuracy - 0.01, "train_examples": 200,
                                 "time_train_s": 5.1, "images_per_second": 1234.5, "device": "cpu (test)"})  # fmt: skip
    store.add_analysis(run_id, "budget_plan", [
        {"arm": "scratch", "steps_per_second": 4.0, "steps_per_epoch": 4, "planned_steps": 17, "planned_epochs": 4.25,
         "enough": False, "suggested_seconds": 10.0, "text": "scratch would get about 17 steps in 5 s here"},
    ])  # fmt: skip
    store.set_progress(run_id, {"done": 2, "total": 2})
    store.set_status(run_id, "completed")
    return run_id
