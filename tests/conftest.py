import os

import pytest

# Modules whose tests share one expensive module- or class-scoped fixture (a Streamlit server and a
# browser, a Ray cluster, a built wheel, a trained model): with pytest-xdist's ``--dist loadgroup`` all
# of a group run on one worker, so the fixture is built once; every other test goes wherever a worker
# is free.
SHARED_FIXTURES = {
    "tests/e2e/test_browser.py": "browser",
    "tests/bench/test_executors.py": "ray",
    "tests/package/test_wheel.py": "wheel",
    "tests/bench/test_text_arms.py": "text-arms",
    "tests/bench/test_unlabeled.py": "unlabeled",
    "tests/advisor/test_evidence_scores.py": "evidence-scores",
}


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path_factory, monkeypatch):
    """Each test session gets its own feature cache and run store, so hits and runs are the tests' own."""
    root = tmp_path_factory.getbasetemp() / "fos-cache"
    monkeypatch.setenv("FOS_CACHE_DIR", str(root))
    # The run store too: tests never touch the user's ~/.local/share/finetune-or-scratch.
    monkeypatch.setenv("FOS_HOME", str(tmp_path_factory.getbasetemp() / "fos-home"))
    # No standby worker per in-process app test (each would import torch beside the suite); the browser
    # tests' server turns it back on, as the app runs for a person.
    monkeypatch.setenv("FOS_WARM_WORKER", "0")
    yield


def pytest_configure(config):
    # Two CPU threads in all on CI: one per xdist worker when the suite runs on two, else two.
    # Set in the controller before it starts the workers, which inherit it.
    workers = (
        config.workerinput["workercount"] if hasattr(config, "workerinput") else config.getoption("numprocesses", 0)
    )
    os.environ.setdefault("OMP_NUM_THREADS", str(max(1, 2 // workers) if isinstance(workers, int) and workers else 2))


def pytest_collection_modifyitems(config, items):
    """Group the shared-fixture modules, and start with the groups (the longest units of work), in the
    order of ``SHARED_FIXTURES``: a long group that starts last leaves one worker running it alone."""
    order = {group: rank for rank, group in enumerate(SHARED_FIXTURES.values())}
    for item in items:
        group = SHARED_FIXTURES.get(item.nodeid.split("::")[0])
        if group is not None:
            item.add_marker(pytest.mark.xdist_group(group))
    items.sort(key=lambda item: order.get(SHARED_FIXTURES.get(item.nodeid.split("::")[0]), len(order)))
