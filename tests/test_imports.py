"""No import cycle inside fer_core, counting the imports made inside functions too."""

from __future__ import annotations

import ast

from conftest import REPO


def test_fer_core_modules_import_each_other_without_a_cycle():
    modules = {path.stem: path for path in (REPO / "fer_core").glob("*.py")}
    graph = {}
    for name, path in modules.items():
        imported = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                imported |= {node.module.split(".")[0]} if node.module else {alias.name for alias in node.names}
        graph[name] = {other for other in imported if other in modules and other != name}
    done, path, cycles = set(), [], []

    def visit(module: str) -> None:
        path.append(module)
        for other in graph[module]:
            if other in path:
                cycles.append(" -> ".join(path[path.index(other):] + [other]))
            elif other not in done:
                visit(other)
        path.pop()
        done.add(module)

    for module in graph:
        if module not in done:
            visit(module)
    assert not cycles, cycles
