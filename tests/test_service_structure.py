"""The service's architecture, checked: no import circles, no private names across modules, small files.

Reads the source with ``ast`` (imports inside functions count too: a lazy import is still a
dependency), so a circle or a reach into another module's ``_private`` name fails here before
it becomes a start-up order bug.
"""

from __future__ import annotations

import ast
from pathlib import Path

import analyzer.service

ROOT = Path(analyzer.service.__file__).resolve().parent
PACKAGE = "analyzer.service"


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = [p for p in rel.parts if p != "__init__"]
    return ".".join([PACKAGE, *parts])


def _imports(path: Path) -> list[tuple[str, list[str]]]:
    """(module imported, names imported from it) for every import in the file, nested ones included."""
    out: list[tuple[str, list[str]]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append((node.module, [a.name for a in node.names]))
        elif isinstance(node, ast.Import):
            out += [(a.name, []) for a in node.names]
    return out


def _graph() -> dict[str, set[str]]:
    modules = {_module_name(p): p for p in ROOT.rglob("*.py")}
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for name, path in modules.items():
        for target, names in _imports(path):
            # "from analyzer.service.store import Store" depends on analyzer.service.store;
            # "from analyzer.service.routes import x" where x is a module depends on that module.
            for candidate in [f"{target}.{n}" for n in names] + [target]:
                if candidate in modules and candidate != name:
                    graph[name].add(candidate)
                    break
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    found: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                found.append([*stack[stack.index(nxt):], nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return found


def test_no_import_circles_in_the_service() -> None:
    graph = _graph()
    assert len(graph) > 20
    # Sanity of the checker itself: it sees real edges.
    assert "analyzer.service.store" in graph["analyzer.service.deps"]
    assert "analyzer.service.deps" in graph["analyzer.service.routes.alerts"]
    assert _cycles(graph) == []
    # ... and would see one: the circle the service had before (app <-> routes helpers).
    assert _cycles({**graph, "analyzer.service.deps": graph["analyzer.service.deps"] | {"analyzer.service.app"}})


def test_nobody_imports_the_app_module_but_the_entry_points() -> None:
    graph = _graph()
    users = sorted(m for m, deps in graph.items() if "analyzer.service.app" in deps)
    assert users == ["analyzer.service", "analyzer.service.server"]


def test_no_private_names_imported_across_modules() -> None:
    bad = [(str(p.relative_to(ROOT)), target, n)
           for p in ROOT.rglob("*.py") for target, names in _imports(p)
           for n in names if n.startswith("_") and n != "__future__" and target != "__future__"]
    bad += [(str(p.relative_to(ROOT)), target, "") for p in ROOT.rglob("*.py") for target, _ in _imports(p)
            if any(part.startswith("_") and not part.startswith("__") for part in target.split("."))]
    assert bad == []


def test_files_stay_small() -> None:
    sizes = {str(p.relative_to(ROOT)): len(p.read_text(encoding="utf-8").splitlines()) for p in ROOT.rglob("*.py")}
    assert {k: v for k, v in sizes.items() if v >= 500} == {}
