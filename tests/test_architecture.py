"""The layering of the code base, read from its imports (every import, also inside functions).

- No import cycle between the modules of ``tradingcore``, ``orders`` and ``positions``.
- ``tradingcore`` (the shared domain) sits below the apps: outside ``tradingcore/management/`` none
  of its modules imports ``positions`` or ``orders``; the apps register what the shared code needs
  from their ``AppConfig.ready()``.
- ``orders`` sits below ``positions``: orders never import positions (fills reach the ledger
  through ``orders.hooks``).
- Only ``tradingcore.exchange.ccxt`` imports ccxt.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("tradingcore", "orders", "positions")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(path): path for package in PACKAGES for path in (ROOT / package).rglob("*.py")}


def _imported_names(tree: ast.AST, modules: dict[str, Path] | None = None) -> set[str]:
    """What a module imports: ``from package import module`` is the module (its package is only its
    parent), ``from module import name`` is the module."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                names.add(submodule if modules is not None and submodule in modules else node.module)
    return names


def import_graph() -> dict[str, set[str]]:
    """Module -> the first-party modules it imports."""
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        imported = _imported_names(ast.parse(path.read_text(), filename=str(path)), modules)
        graph[name] = {target for target in imported if target in modules and target != name}
    return graph


def third_party_imports(module: str) -> set[str]:
    path = _modules()[module]
    return {name.split(".")[0] for name in _imported_names(ast.parse(path.read_text()))}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycle_between_modules() -> None:
    assert cycles(import_graph()) == []


def test_the_shared_domain_never_imports_the_apps() -> None:
    upward = {
        (module, target)
        for module, targets in import_graph().items()
        if module.startswith("tradingcore") and not module.startswith("tradingcore.management")
        for target in targets
        if target.split(".")[0] in ("orders", "positions")
    }
    assert upward == set()


def test_orders_never_import_positions() -> None:
    upward = {
        (module, target)
        for module, targets in import_graph().items()
        if module.startswith("orders")
        for target in targets
        if target.startswith("positions")
    }
    assert upward == set()


def test_only_the_ccxt_package_imports_ccxt() -> None:
    importers = {module for module in _modules() if "ccxt" in third_party_imports(module)}
    assert importers
    assert all(module.startswith("tradingcore.exchange.ccxt") for module in importers)


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
