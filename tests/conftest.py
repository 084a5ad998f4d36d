import os

import pytest

# pytest-xdist runs the suite on two workers with ``--dist loadfile``: every module stays on one worker,
# so a module's shared fixture (a Streamlit server and a browser, a Ray cluster, a built wheel, loaded
# weights) is built once. (``--dist loadgroup`` would let one module's tests spread, but its marks are
# not applied under pytest 9: xdist renames ``item._nodeid``, which pytest 9 no longer reads.)
# The longest modules start first, in this order (measured with --durations): one that started last
# would leave a worker running it alone at the end.
LONGEST_FIRST = (
    "tests/e2e/test_browser.py",
    "tests/bench/test_trial.py",
    "tests/bench/test_executors.py",
    "tests/bench/test_cli.py",
    "tests/app/test_pages.py",
    "tests/bench/test_text_arms.py",
    "tests/app/test_store.py",
    "tests/package/test_wheel.py",
)


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
    rank = {path: position for position, path in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(rank)))
