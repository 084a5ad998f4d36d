"""Light modules and light commands never import torch: a record, the catalog or ``--help`` does not pay for it.

Each check runs in a fresh interpreter (``python -c``), so what the test process imported already cannot hide
an import.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("torch", "torchvision", "timm", "lightly", "ray")
# Records and tables the command line and the app build before any training.
LIGHT_MODULES = (
    "advisor",
    "advisor.cli",
    "bench",
    "bench.data.catalog",
    "bench.data.datasets",
    "bench.device",
    "bench.runs.request",
    "bench.runs.executors.factory",
    "bench.train.config",
    "bench.cli",
    "finetune_or_scratch.cli",
)
PROFILE = str(ROOT / "advisor" / "data" / "profiles" / "small_similar.json")
# After the command: which heavy modules it imported, as the last line on stderr.
COMMAND = """
import json, sys
args, watched = json.loads(sys.argv[1]), json.loads(sys.argv[2])
sys.argv = ["finetune-or-scratch", *args]
from finetune_or_scratch.cli import main
try:
    main()
    code = 0
except SystemExit as end:
    code = end.code or 0
heavy = [m for m in watched if m in sys.modules]
sys.stderr.write("\\n" + json.dumps({"code": code, "heavy": heavy}) + "\\n")
"""


def _python(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_the_app_server_preloads_only_light_modules():
    # app/serve.py imports the first pages' modules before the server listens: none of them may bring torch.
    probe = ("import json, sys; from finetune_or_scratch.app import serve; serve.preload(); "
             f"print(json.dumps([[m for m in {HEAVY!r} if m in sys.modules], "
             "[m for m in serve.FIRST_PAGES if m not in sys.modules]]))")  # fmt: skip
    result = _python("-c", probe)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[-1]) == [[], []]


@pytest.mark.parametrize("module", LIGHT_MODULES)
def test_a_light_module_imports_no_torch(module):
    probe = f"import json, sys, {module}; print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    result = _python("-c", probe)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[-1]) == [], f"importing {module} imported heavy modules"


@pytest.mark.parametrize(
    "args",
    [["--help"], ["recommend", "--profile", PROFILE], ["fields"], ["run", "--help"]],
    ids=["--help", "recommend", "fields", "run --help"],
)
def test_a_light_command_imports_no_torch(args):
    result = _python("-c", COMMAND, json.dumps(args), json.dumps(HEAVY))
    outcome = json.loads(result.stderr.strip().splitlines()[-1])
    assert outcome == {"code": 0, "heavy": []}, result.stderr[-2000:]
    assert result.stdout.strip()  # the command said something: help text, advice or the fields
