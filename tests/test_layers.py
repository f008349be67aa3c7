"""The package's layering holds: no import circles, and no layer imports one above it.

Imports are read from the source (module level and inside functions, TYPE_CHECKING
blocks included), so a lazy import cannot hide a dependency that runs upward.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "synthloom"

# From the bottom up: a unit may import its own layer's units and those below, never above.
LAYERS = [
    ["errors", "extras", "version"],
    ["privacy"],
    ["constraints"],
    ["config"],
    ["io"],
    ["encoding", "validation", "fallback"],
    ["lstm", "report"],
    ["synthesizers"],
    ["relational"],
    ["scale", "serve"],
    ["cli", "__main__"],
    ["table", "sequence", "text", "models"],  # deprecated aliases of synthesizers/
]
LEVEL = {unit: level for level, units in enumerate(LAYERS) for unit in units}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path, modules: set[str]) -> set[str]:
    """The package's modules that ``path`` imports: ``from pkg import mod`` names the
    module, ``from pkg import Name`` the package."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                found.add(submodule if submodule in modules else node.module)
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
    return found & modules


def graph() -> dict[str, set[str]]:
    paths = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    return {name: imports(path, set(paths)) - {name} for name, path in paths.items()}


def unit(module: str) -> str:
    return module.split(".")[1] if "." in module else "__init__"


def test_no_import_circles() -> None:
    edges = graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    circles: list[list[str]] = []

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in edges[node]:
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for node in edges:
        if node not in index:
            visit(node)
    pass
    assert not circles, circles


def test_no_layer_imports_one_above_it() -> None:
    upward = [
        f"{source} -> {target}"
        for source, targets in graph().items()
        for target in targets
        if unit(source) in LEVEL
        and unit(target) in LEVEL
        and LEVEL[unit(target)] > LEVEL[unit(source)]
    ]
    assert not upward, upward


def test_every_unit_has_a_layer() -> None:
    units = {unit(m) for m in graph()} - {"__init__"}
    assert units <= set(LEVEL), units - set(LEVEL)


def test_old_module_paths_still_import() -> None:
    import sys
    import warnings

    for old in ("synthloom.table", "synthloom.sequence"):
        sys.modules.pop(old, None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        from synthloom.sequence import SequenceSynthesizer
        from synthloom.synthesizers import SequenceSynthesizer as Moved
        from synthloom.table import TableSynthesizer

    assert TableSynthesizer.__module__ == "synthloom.synthesizers.table"
    assert SequenceSynthesizer is Moved
    assert any(issubclass(w.category, DeprecationWarning) for w in caught)


def test_the_old_ray_keyword_names_its_replacement(tmp_path: Path) -> None:
    import pytest

    from synthloom import RelationalSynthesizer, TableSynthesizer
    from synthloom.errors import ConfigError

    with pytest.raises(ConfigError, match=r"fit\(executor=RayExecutor\(address\)\)"):
        TableSynthesizer().fit(tmp_path / "none.csv", tmp_path / "m", ray="auto")
    with pytest.raises(ConfigError, match=r"from synthloom\.scale import RayExecutor"):
        RelationalSynthesizer().fit(tmp_path / "db", tmp_path / "r", ray="auto")
    assert not (tmp_path / "m").exists() and not (tmp_path / "r").exists()
