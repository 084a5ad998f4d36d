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
