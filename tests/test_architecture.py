"""The shape of fer_core: each subpackage imports only the layers beneath it, and no module imports
itself back through others (imports made inside functions count too)."""

from __future__ import annotations

import ast

from conftest import REPO

PACKAGE = REPO / "fer_core"
FOUNDATION = "fer_core"  # errors, labels, geometry, limits, paths, quiet: importable from anywhere
# what each subpackage may import, besides itself and the foundation modules (docs/architecture.md)
ALLOWED = {
    "data": set(),
    "nets": {"data"},
    "metrics": {"data", "nets"},
    "artifacts": {"data", "nets", "metrics"},
    "training": {"data", "nets", "metrics", "artifacts"},
    "inference": {"data", "nets", "metrics", "artifacts"},
    "recipes": {"data", "nets", "metrics", "artifacts", "training", "inference"},
    "cli": {"data", "nets", "metrics", "artifacts", "training", "inference", "recipes"},
}


def module_name(path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path) -> set[str]:
    """The fer_core modules a file imports, anywhere in it."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("fer_core"):
            assert node.level == 0, f"{path}: relative import; fer_core imports itself by absolute names"
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("fer_core")}
    return found


MODULES = {module_name(path): path for path in PACKAGE.rglob("*.py")}
GRAPH = {name: {other for other in imports_of(path) if other in MODULES and other != name}
         for name, path in MODULES.items()}


def layer_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and parts[1] in ALLOWED) else FOUNDATION


def test_every_subpackage_is_a_known_layer():
    packages = {path.parent.name for path in PACKAGE.glob("*/__init__.py")}
    assert packages == set(ALLOWED)


FRONT_DOOR = {"fer_core", "fer_core.__main__"}  # the package's lazy public names, and ``python -m fer_core``


def rule_breaches(graph: dict[str, set[str]]) -> list[str]:
    """Every import that goes against the layers: up the stack, or out of the foundation."""
    breaches = []
    for module, imported in graph.items():
        if module in FRONT_DOOR:
            continue
        layer = layer_of(module)
        allowed = {FOUNDATION} if layer == FOUNDATION else {FOUNDATION, layer, *ALLOWED[layer]}
        breaches += [f"{module} ({layer}) imports {other} ({layer_of(other)})"
                     for other in sorted(imported) if layer_of(other) not in allowed]
    return breaches


def test_each_layer_imports_only_the_layers_beneath_it():
    assert not rule_breaches(GRAPH), "\n".join(rule_breaches(GRAPH))


def test_the_rule_catches_an_import_up_the_stack():
    assert rule_breaches({"fer_core.data.loading": {"fer_core.training.trainer"}})
    assert rule_breaches({"fer_core.inference.predictor": {"fer_core.recipes.export"}})
    assert rule_breaches({"fer_core.errors": {"fer_core.data.dataset"}})
    assert not rule_breaches({"fer_core.recipes.export": {"fer_core.inference.engines", "fer_core.errors"}})


def test_no_import_cycle_between_modules():
    done, stack, cycles = set(), [], []

    def visit(module: str) -> None:
        stack.append(module)
        for other in sorted(GRAPH[module]):
            if other in stack:
                cycles.append(" -> ".join(stack[stack.index(other):] + [other]))
            elif other not in done:
                visit(other)
        stack.pop()
        done.add(module)

    for module in sorted(GRAPH):
        if module not in done:
            visit(module)
    # a package's __init__ importing its own modules is no cycle
    cycles = [cycle for cycle in cycles if not cycle.startswith("fer_core.cli -> ")]
    assert not cycles, "\n".join(cycles)
