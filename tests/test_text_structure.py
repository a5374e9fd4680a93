"""The text core's architecture, checked: no import circles, no private names across modules, small
files, an explicit ``__all__`` everywhere, no PyTorch import and no process settings below the edges.

Reads the source with ``ast`` (imports inside functions count too: a lazy import is still a
dependency).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import analyzer.text

ROOT = Path(analyzer.text.__file__).resolve().parent
PACKAGE = "analyzer.text"
MODULES = sorted(ROOT.rglob("*.py"))


def _module_name(path: Path) -> str:
    parts = [p for p in path.relative_to(ROOT).with_suffix("").parts if p != "__init__"]
    return ".".join([PACKAGE, *parts])


def _imports(path: Path) -> list[tuple[str, list[str]]]:
    out: list[tuple[str, list[str]]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append((node.module, [a.name for a in node.names]))
        elif isinstance(node, ast.Import):
            out += [(a.name, []) for a in node.names]
    return out


def test_no_import_circles() -> None:
    names = {_module_name(p): p for p in MODULES}
    graph = {m: {t for t, _ in _imports(p) if t in names and t != m} for m, p in names.items()}
    # a package's __init__ re-exports its modules: only circles between modules count
    graph = {m: {t for t in deps if not m.startswith(t + ".")} for m, deps in graph.items()}
    state: dict[str, int] = {}

    def visit(m: str, path: list[str]) -> None:
        state[m] = 1
        for t in graph[m]:
            assert state.get(t) != 1, f"import circle: {' -> '.join([*path, m, t])}"
            if t not in state:
                visit(t, [*path, m])
        state[m] = 2

    for m in graph:
        if m not in state:
            visit(m, [])


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_module_rules(path: Path) -> None:
    source = path.read_text(encoding="utf-8")
    assert source.count("\n") < 500, f"{path.name} has grown past 500 lines: split it by role"
    tree = ast.parse(source)
    if path.name != "__init__.py" or path.parent != ROOT:
        targets = [t for n in tree.body if isinstance(n, ast.Assign) for t in n.targets]
        targets += [n.target for n in tree.body if isinstance(n, ast.AnnAssign)]
        assert any(getattr(t, "id", "") == "__all__" for t in targets), f"{path.name} has no __all__"
    for module, names in _imports(path):
        private = [n for n in names if n.startswith("_") and not n.startswith("__")]
        assert not private, f"{path.name} imports private names {private} from {module}"
        assert module.split(".")[0] not in {"torch", "transformers"}, f"{path.name} imports {module}"
        assert not module.startswith(("analyzer.training", "analyzer.evaluation")), f"{path.name} imports {module}"


def test_settings_are_read_only_by_the_top_level_functions() -> None:
    """Library code gets its settings passed down; only public entry points fall back on get_settings()."""
    allowed = {("langid.py", "get_detector"), ("langid.py", "_resolve"), ("pipeline.py", "load_analyzer")}
    found = set()
    for path in MODULES:
        for fn in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
                calls = [c for c in ast.walk(fn) if isinstance(c, ast.Call)
                         and getattr(c.func, "id", getattr(c.func, "attr", "")) == "get_settings"]
                if calls:
                    found.add((path.name, fn.name))
    assert found <= allowed, f"get_settings() called inside {sorted(found - allowed)}"
