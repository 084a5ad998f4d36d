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
