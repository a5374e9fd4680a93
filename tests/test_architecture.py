"""The architecture of the whole package, checked on every run (read from the source, nothing imported).

- no import circles between analyzer's modules (imports inside functions count too: a lazy import
  is still a dependency; only ``if TYPE_CHECKING:`` blocks do not);
- no module imports another module's ``_private`` names;
- no ``unittest.mock`` and no stack inspection (``sys._getframe``, ``inspect.stack``) in the package;
- no runtime module (everything but training/ and evaluation/) imports training or evaluation code;
- every module declares ``__all__``; files stay under 500 lines unless listed here with the reason.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "analyzer"
OFFLINE = ("analyzer.training", "analyzer.evaluation")
LONG_FILES: dict[str, str] = {}


def _module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(tree: ast.AST, module: str) -> list[tuple[str, list[str]]]:
    """(imported module, names) of every import outside TYPE_CHECKING blocks, resolved to absolute names."""
    out: list[tuple[str, list[str]]] = []

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                for sub in child.orelse:
                    visit(sub)
                continue
            if isinstance(child, ast.Import):
                out.extend((a.name, []) for a in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    pkg = module.split(".")
                    is_pkg = MODULES.get(module, Path()).name == "__init__.py"
                    pkg = pkg if is_pkg else pkg[:-1]
                    pkg = pkg[: len(pkg) - (child.level - 1)]
                    base = ".".join([*pkg, base]) if base else ".".join(pkg)
                out.append((base, [a.name for a in child.names]))
            visit(child)

    visit(tree)
    return out


TREES = {name: ast.parse(path.read_text(encoding="utf-8")) for name, path in MODULES.items()}
IMPORTS = {name: _imports(tree, name) for name, tree in TREES.items()}


def _target(imported: str, names: list[str]) -> list[str]:
    """The analyzer modules an import statement depends on (a name may itself be a submodule)."""
    if not imported.startswith("analyzer"):
        return []
    targets = []
    for n in names:
        if f"{imported}.{n}" in MODULES:
            targets.append(f"{imported}.{n}")
    if (imported in MODULES and len(targets) < len(names)) or not names:
        targets.append(imported)
    return targets


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for m, imps in IMPORTS.items():
        for imported, names in imps:
            for t in _target(imported, names):
                if t != m and t in MODULES:
                    graph[m].add(t)
    return graph


def test_no_import_circles() -> None:
    graph = _graph()
    # A package's __init__ re-exporting its own submodules is not a circle with them.
    for m in graph:
        graph[m] = {t for t in graph[m] if not (MODULES[t].name == "__init__.py" and m.startswith(t + "."))}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    cycles: list[list[str]] = []
    counter = [0]

    def strong(v: str) -> None:  # Tarjan's algorithm
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for v in graph:
        if v not in index:
            strong(v)
    assert cycles == [], f"import circles: {cycles}"


def test_no_private_names_imported_across_modules() -> None:
    bad = [(m, imported, n) for m, imps in IMPORTS.items() for imported, names in imps
           if imported.startswith("analyzer") and imported != m
           for n in names if n.startswith("_") and not n.startswith("__")]
    assert bad == [], f"private names imported from other modules: {bad}"


def test_no_mock_or_stack_inspection_in_the_package() -> None:
    bad = []
    for m, tree in TREES.items():
        for imported, names in IMPORTS[m]:
            if imported.startswith("unittest") or "mock" in names:
                bad.append((m, imported))
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and node.attr in ("_getframe", "stack", "currentframe")
                    and isinstance(node.value, ast.Name) and node.value.id in ("sys", "inspect")):
                bad.append((m, f"{node.value.id}.{node.attr}"))
    assert bad == [], f"test-only tools in production code: {bad}"


def test_runtime_code_never_imports_training_or_evaluation() -> None:
    bad = [(m, imported) for m, imps in IMPORTS.items() if not m.startswith(OFFLINE)
           for imported, names in imps
           for t in [imported, *(f"{imported}.{n}" for n in names)] if t.startswith(OFFLINE)]
    # The CLI's model commands are adapters over training and evaluation; they import them lazily
    # inside the command, never at import time, and no other runtime module may.
    bad = [(m, i) for m, i in bad if m != "analyzer.cli.models"]
    assert bad == [], f"runtime modules importing offline code: {bad}"


@pytest.mark.parametrize("name", sorted(MODULES))
def test_every_module_has_all_and_stays_short(name: str) -> None:
    path = MODULES[name]
    tree = TREES[name]
    if path.name != "__main__.py":
        declared = any((isinstance(n, ast.Assign) and any(getattr(t, "id", "") == "__all__" for t in n.targets))
                       or (isinstance(n, ast.AnnAssign) and getattr(n.target, "id", "") == "__all__")
                       for n in tree.body)
        assert declared, f"{name} has no __all__"
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= 500 or name in LONG_FILES, f"{name} has {lines} lines; split it or give the reason here"
