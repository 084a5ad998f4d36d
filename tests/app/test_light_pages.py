"""First paint: the questionnaire and recommendation pages import nothing of the model or training stack.

Each page's own module-level imports (read from its source with ``ast``) are imported in a fresh
interpreter; torch, timm, scikit-learn, Ray and lightly must not be loaded by them. A run or an
estimate loads them when it is asked for.
"""

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = ROOT / "finetune_or_scratch" / "app" / "pages"
HEAVY = ("torch", "timm", "sklearn", "ray", "lightly", "torchvision")


def module_imports(path: Path) -> list[str]:
    """The modules a script imports at its top level (imports inside functions or branches are lazy)."""
    names = []
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


@pytest.mark.parametrize("page", ["questionnaire.py", "recommendation.py"])
def test_a_first_page_imports_no_model_stack(page):
    modules = [*module_imports(PAGES / page), "finetune_or_scratch.app.navigation"]
    assert modules, page
    code = (
        "import importlib, json, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    assert loaded == [], f"{page} imports {loaded} at first paint (via {modules})"
