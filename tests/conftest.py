import os

import pytest


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path_factory, monkeypatch):
    """Each test session gets its own feature cache and run store, so hits and runs are the tests' own."""
    root = tmp_path_factory.getbasetemp() / "fos-cache"
    monkeypatch.setenv("FOS_CACHE_DIR", str(root))
    # The run store too: tests never touch the user's ~/.local/share/finetune-or-scratch.
    monkeypatch.setenv("FOS_HOME", str(tmp_path_factory.getbasetemp() / "fos-home"))
    yield


def pytest_configure(config):
    # Two CPU threads on CI; make runs comparable on bigger machines.
    os.environ.setdefault("OMP_NUM_THREADS", "2")
