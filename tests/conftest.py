import os

import pytest


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path_factory, monkeypatch):
    """Each test session gets its own feature cache, so cache hits are the tests' own."""
    root = tmp_path_factory.getbasetemp() / "fos-cache"
    monkeypatch.setenv("FOS_CACHE_DIR", str(root))
    yield


def pytest_configure(config):
    # Two CPU threads on CI; make runs comparable on bigger machines.
    os.environ.setdefault("OMP_NUM_THREADS", "2")
