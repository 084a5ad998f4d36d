"""Engine refusals as the command line words them: the field named by its flag (``--unlabeled``)."""

import re
from contextlib import contextmanager

import pytest

from bench.cli import worded
from bench.errors import BenchInputError


@contextmanager
def refused_as(pattern: str):
    """Expect a BenchInputError whose command-line wording matches ``pattern`` (re.search)."""
    with pytest.raises(BenchInputError) as info:
        yield info
    message = worded(info.value)
    assert re.search(pattern, message), message
