"""The layout's promises: advisor is pure (never imports bench or the app), no import cycles, imports at the top."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("advisor", "bench", "finetune_or_scratch")


def _modules() -> dict[str, Path]:
    modules = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "builtin" in path.parts:  # data rebuild scripts, not part of the import graph
                continue
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            modules[name] = path
    return modules


DEFERRED = "# deferred:"  # an import inside a function, on purpose: the comment says what it keeps out


def _imports(path: Path) -> list[tuple[str, int, bool]]:
    """(module imported, line, at top level or marked deferred) for every project import in the file.

    A deferred import stays in the import graph (the cycle check sees it); it only keeps a heavy
    module (torch) out of a light one until the function that needs it runs.
    """
    found = []
    text = path.read_text()
    lines = text.splitlines()
    tree = ast.parse(text)
    top = {id(node) for node in tree.body}
    # Imports for type annotations only (``if TYPE_CHECKING:``) never run: not part of the import graph.
    typing_only = {
        id(inner)
        for node in tree.body
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING"
        for inner in ast.walk(node)
    }
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        for name in names:
            if name.split(".")[0] in PACKAGES:
                found.append((name, node.lineno, id(node) in top or DEFERRED in lines[node.lineno - 1]))
    return found


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    graph = {}
    for name, path in modules.items():
        targets = set()
        for imported, _, _ in _imports(path):
            # "from bench.runs import store" names a module or a package; resolve to the longest known module.
            while imported not in modules and "." in imported:
                imported = imported.rsplit(".", 1)[0]
            if imported in modules and imported != name:
                targets.add(imported)
        graph[name] = targets
    return graph


def test_advisor_imports_nothing_from_bench_or_the_app():
    offenders = [
        f"{name} imports {target}"
        for name, targets in _graph().items()
        if name.split(".")[0] == "advisor"
        for target in targets
        if target.split(".")[0] != "advisor"
    ]
    assert offenders == []


def test_bench_never_imports_the_app_or_reports():
    offenders = [
        f"{name} imports {target}"
        for name, targets in _graph().items()
        if name.split(".")[0] == "bench"
        for target in targets
        if target.split(".")[0] == "finetune_or_scratch"
    ]
    assert offenders == []


def test_project_imports_are_at_the_top_of_each_file_or_marked_deferred():
    hidden = [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for path in _modules().values()
        for name, line, at_top in _imports(path)
        if not at_top
    ]
    assert hidden == []


def test_the_import_graph_has_no_cycles():
    graph = _graph()
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))

    def visit(node: str, path: list[str]) -> list[str] | None:
        state[node] = 1
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return [*path, node, target]
            if target not in state and (cycle := visit(target, [*path, node])):
                return cycle
        state[node] = 2
        return None

    for module in sorted(graph):
        if module not in state and (cycle := visit(module, [])):
            pytest.fail("import cycle: " + " -> ".join(cycle))


# The typed vocabulary (bench/vocabulary.py): these kinds are compared with its enums, never with string
# literals. A name (``status``), an attribute (``t.status``) or a lookup (``t["status"]``, ``t.get("status")``).
VOCABULARY_NAMES = {"status", "family", "trainable", "outcome", "regime", "kind"}


def _named(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute) and not (isinstance(node.value, ast.Attribute) and node.value.attr == "dtype"):
        return node.attr  # numpy's dtype.kind is not ours
    if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
        return node.slice.value if isinstance(node.slice.value, str) else None
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get" and node.args:
        first = node.args[0]
        return first.value if isinstance(first, ast.Constant) and isinstance(first.value, str) else None
    return None


def _string_literal(node: ast.AST) -> bool:
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str)
    return isinstance(node, ast.Tuple | ast.List | ast.Set) and any(_string_literal(e) for e in node.elts)


def test_kinds_are_compared_with_the_vocabulary_not_with_string_literals():
    found = []
    for name, path in _modules().items():
        if name == "bench.vocabulary":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Compare):
                continue
            sides = [node.left, *node.comparators]
            if any(_named(s) in VOCABULARY_NAMES for s in sides) and any(_string_literal(s) for s in sides):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {ast.unparse(node)}")
    assert found == [], "\n".join(found)
