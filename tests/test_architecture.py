"""The layout is the architecture: these tests keep the import graph honest."""
from __future__ import annotations

import ast
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[1]
UPPER_ROOMS = ("harness.cli", "harness.chaos", "harness.teach", "harness.bench")


def _module_name(path: pathlib.Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: pathlib.Path, modules: set[str]) -> set[str]:
    """Modules imported at import time (not under TYPE_CHECKING, not inside functions).
    ``from package import module`` counts the module, not the package."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([base] if base else []))
            submodules = {f"{base}.{alias.name}" for alias in node.names} & modules
            found.update(submodules)
            if len(submodules) < len(node.names):
                found.add(base)
    return found


def _graph() -> dict[str, set[str]]:
    paths = [p for top in ("emulator", "harness") for p in (ROOT / top).rglob("*.py")]
    modules = {_module_name(p): p for p in paths}
    return {name: {m for m in _imports(path, set(modules)) if m in modules and m != name}
            for name, path in modules.items()}


def test_the_import_graph_has_no_cycle():
    graph = _graph()
    state: dict[str, int] = {}

    def visit(name: str, path: list[str]) -> list[str] | None:
        state[name] = 1
        for other in sorted(graph[name]):
            if state.get(other) == 1:
                return path + [other]
            if other not in state:
                cycle = visit(other, path + [other])
                if cycle:
                    return cycle
        state[name] = 2
        return None

    for name in sorted(graph):
        if name not in state:
            cycle = visit(name, [name])
            assert cycle is None, " -> ".join(cycle)


def test_the_emulator_never_imports_the_harness():
    graph = _graph()
    wrong = {name: sorted(m for m in imports if m.startswith("harness"))
             for name, imports in graph.items() if name.startswith("emulator")}
    assert not {k: v for k, v in wrong.items() if v}


def test_the_harness_core_never_imports_the_rooms_built_on_it():
    graph = _graph()
    core = [name for name in graph if name.startswith("harness")
            and not name.startswith(UPPER_ROOMS) and name != "harness.__main__"]
    wrong = {name: sorted(m for m in graph[name] if m.startswith(UPPER_ROOMS))
             for name in core}
    assert not {k: v for k, v in wrong.items() if v}, wrong
