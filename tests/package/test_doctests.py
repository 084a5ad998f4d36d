"""Every docstring example runs: a module whose docstrings show ``>>>`` lines is collected here.

Modules are found by reading the source for ``>>>``, so a new example is tested without a list to
keep up to date. Streamlit pages are scripts, not modules with examples, and are never imported.
"""

import doctest
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("advisor", "bench", "finetune_or_scratch")


def _modules_with_examples() -> list[str]:
    names = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "pages" in path.parts or path.name == "__main__.py":
                continue
            if ">>> " in path.read_text(encoding="utf-8"):
                parts = path.relative_to(ROOT).with_suffix("").parts
                names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


MODULES = _modules_with_examples()


def test_the_examples_are_found():
    assert {"advisor.constraints", "advisor.vocabulary", "bench.train.health"} <= set(MODULES), MODULES


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.failed == 0, f"{name}: {result.failed} of {result.attempted} examples failed (run python -m doctest)"
    assert result.attempted > 0, f"{name}: has '>>> ' lines that doctest does not collect"
