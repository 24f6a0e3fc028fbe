"""The tree is the picture in docs/architecture.md: parts, what each may use, sizes, no circles.

Read from the source with `ast`, so it costs nothing to run and fails on the commit that
breaks the picture, naming the module and the import.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("gate", "hub", "hq", "deploy", "venue", "bench")
MAX_MODULE_LINES = 450
MAX_CLASS_LINES = 250

# What the rules core may import: the standard library's pure parts and pydantic (validation).
CORE_MAY_IMPORT = {
    "__future__",
    "collections",
    "dataclasses",
    "datetime",
    "enum",
    "functools",
    "hashlib",
    "hmac",
    "itertools",
    "math",
    "pydantic",
    "re",
    "typing",
    "zoneinfo",
}


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            found[name.removesuffix(".__init__")] = path
    return found


MODULES = _modules()


def _imports(path: Path) -> Iterator[tuple[int, str]]:
    """Every module an import statement names, wherever it stands (functions, TYPE_CHECKING)."""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.lineno, node.module
            for alias in node.names:
                yield node.lineno, f"{node.module}.{alias.name}"


def _project_module(name: str) -> str | None:
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _dependencies(module: str) -> dict[str, int]:
    deps: dict[str, int] = {}
    for line, name in _imports(MODULES[module]):
        target = _project_module(name)
        if target and target != module and not module.startswith(target + "."):
            deps.setdefault(target, line)
    return deps


GRAPH = {module: _dependencies(module) for module in MODULES}


def part_of(module: str) -> str:
    """`gate.store.journal` -> `gate.store`; `gate.settings` -> itself; `venue.plan` -> `venue`."""
    head, _, rest = module.partition(".")
    if head not in ("gate", "hub", "hq") or not rest:
        return head
    if rest == "__main__":
        return f"{head}.cli"
    return f"{head}.{rest.partition('.')[0]}"


def _documented_parts() -> dict[str, set[str]]:
    """The table of docs/architecture.md: | `part` | folder | what it is | `may`, `use` |."""
    table = {}
    for line in (ROOT / "docs" / "architecture.md").read_text().splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 4 and re.fullmatch(r"`[a-z0-9_.]+`", cells[0]):
            table[cells[0].strip("`")] = set(re.findall(r"`([a-z0-9_.]+)`", cells[3]))
    return table


PARTS = _documented_parts()


def _circles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles = []
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(graph[start]))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(graph[child])))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    circles.append(sorted(component))
    return circles


def test_the_project_has_no_import_circles() -> None:
    circles = [" <-> ".join(circle) for circle in _circles(GRAPH)]
    assert not circles, "modules that import each other, directly or round a loop:\n" + "\n".join(
        circles
    )


def test_every_part_of_the_tree_is_in_the_picture() -> None:
    parts = {part_of(module) for module in MODULES if module not in ("gate", "hub", "hq")}
    assert sorted(parts - set(PARTS)) == [], "parts missing from docs/architecture.md's table"
    assert sorted(set(PARTS) - parts) == [], "parts in the table that the tree lacks"


def _stray_imports(graph: dict[str, dict[str, int]]) -> list[str]:
    stray = []
    for module, deps in graph.items():
        part = part_of(module)
        for target, line in deps.items():
            used = part_of(target)
            if used != part and used not in PARTS.get(part, set()):
                stray.append(f"{module}:{line} {part} -> {used}")
    return stray


def test_each_part_uses_only_what_the_picture_lets_it() -> None:
    stray = _stray_imports(GRAPH)
    assert not stray, "imports docs/architecture.md's table does not allow:\n" + "\n".join(stray)


def test_the_rules_core_imports_no_io() -> None:
    stray = []
    for module in MODULES:
        if part_of(module) != "gate.core":
            continue
        for line, name in _imports(MODULES[module]):
            top = name.partition(".")[0]
            if top != "gate" and top not in CORE_MAY_IMPORT:
                stray.append(f"{MODULES[module].relative_to(ROOT)}:{line} {name}")
    assert not stray, "\n".join(stray)


@pytest.mark.parametrize("package", ["gate", "hub", "hq", "deploy", "venue"])
def test_modules_and_classes_stay_small(package: str) -> None:
    too_big = []
    for module, path in MODULES.items():
        if not module.startswith(package):
            continue
        lines = path.read_text().splitlines()
        if len(lines) > MAX_MODULE_LINES:
            too_big.append(f"{path.relative_to(ROOT)}: {len(lines)} lines")
        for node in ast.walk(ast.parse("\n".join(lines))):
            if isinstance(node, ast.ClassDef) and node.end_lineno:
                size = node.end_lineno - node.lineno + 1
                if size > MAX_CLASS_LINES:
                    too_big.append(f"{path.relative_to(ROOT)}: class {node.name}, {size} lines")
    assert not too_big, "\n".join(too_big)


def test_the_hub_and_the_gate_hold_only_themselves() -> None:
    """The simulator, the installer and the benchmarks build on the product, never the reverse;
    head office builds on the hub, never the reverse (a venue never needs head office)."""
    stray = [
        f"{module} -> {target}"
        for module, deps in GRAPH.items()
        if module.partition(".")[0] in ("gate", "hub", "hq")
        for target in deps
        if target.partition(".")[0] in ("deploy", "venue", "bench")
        or (module.startswith(("gate", "hub")) and target.startswith("hq"))
        or (module.startswith("gate") and target.startswith("hub"))
    ]
    assert stray == []


def test_the_checks_can_fail() -> None:
    """A made-up import from the rules core into the journal: a stray import and a circle."""
    graph = {module: dict(deps) for module, deps in GRAPH.items()}
    graph["gate.core.model"]["gate.store.journal"] = 1
    graph["gate.store.journal"]["gate.core.model"] = 1
    assert any("gate.core.model" in circle for circle in _circles(graph))
    assert "gate.core.model:1 gate.core -> gate.store" in _stray_imports(graph)
    assert [part_of(m) for m in ("gate.core.model", "gate.settings", "venue.plan")] == [
        "gate.core",
        "gate.settings",
        "venue",
    ]
