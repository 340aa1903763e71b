"""No import cycles between Keyholder's modules: dependencies point one way.

The graph is built statically with :mod:`ast` from every ``.py`` file of the
package. Every import counts, wherever it is written: at module level, inside a
function, and inside ``if TYPE_CHECKING:`` blocks. A cycle through a type hint
still means two modules know each other, so no import is exempt.

An edge goes to the module an import names: ``from ..model.values import Key``
points at ``model.values``, ``from . import ProviderError`` at the package's
``__init__`` and ``from ..families import virtual`` at ``families.virtual``.
Python also runs a package's ``__init__`` before any of its submodules; that
implicit step is not an edge (the top-level ``__init__`` sets everything up
and would otherwise close a loop through every module).

A cycle is broken by moving what both modules need into a small module below
both, named for what it holds (``errors``, ``action_fields``,
``keyholder_details``...), or by the lower module naming only the shape it
needs (the runtime's ``AccessSource`` protocol for the booking calendars);
never by hiding an import in a function or behind ``TYPE_CHECKING``.

Beyond cycles, the package's rooms are layers (:data:`LAYERS`): a module imports
only from its own layer or those below it, so the pure model knows nothing of
the locks, the locks nothing of the sync, the sync nothing of the commands and
queries, and those nothing of Home Assistant's adapters. The adapters (actions,
websocket, intents, flows) and the booking calendars each build on the layers
below them, never on one another: shared helpers live below them too.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "custom_components" / "keyholder"
ABSOLUTE_PREFIX = "custom_components.keyholder"
LAYERS: tuple[tuple[str, frozenset[str]], ...] = (
    ("model", frozenset({"model", "const"})),
    ("families and storage", frozenset({"families", "storage"})),
    ("sync", frozenset({"sync"})),
    ("access", frozenset({"access"})),
    ("assembly", frozenset({"entity", "lock_entities", "lock_families", "site"})),
    ("adapters", frozenset({"adapters", "sources", "flows"})),
)
"""The package's rooms, lowest first; a module may import only from its own
layer or below. Every module not named here (the package ``__init__``,
``config_flow`` and the platform files) forms the top layer."""

ROOMS = {
    "actions": ("adapters.services", "adapters.action_handlers"),
    "websocket": (
        "adapters.websocket_api",
        "adapters.websocket_access",
        "adapters.websocket_groups",
        "adapters.websocket_errors",
    ),
    "intents": ("intent",),
    "flows": ("config_flow", "flows"),
    "bookings": ("sources.bookings",),
}
"""Rooms that must not import one another (the websocket runs actions by name);
each names modules or packages (a package stands for all of its modules)."""

Graph = dict[str, set[str]]


def module_name(root: Path, path: Path) -> str:
    """Return ``path``'s dotted name inside ``root`` (``""`` for the top package)."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imported(
    node: ast.Import | ast.ImportFrom, here: str, is_package: bool, prefix: str
) -> Iterator[tuple[str, str | None]]:
    """Yield (module, name imported from it or None) for one import statement."""
    if isinstance(node, ast.Import):
        for alias in node.names:
            if alias.name == prefix or alias.name.startswith(prefix + "."):
                yield alias.name.removeprefix(prefix).lstrip("."), None
        return
    if node.level:
        base = here.split(".") if here else []
        drop = node.level - 1 if is_package else node.level
        base = base[: len(base) - drop] if drop else base
        target = ".".join([*base, *([node.module] if node.module else [])])
    elif node.module and (
        node.module == prefix or node.module.startswith(prefix + ".")
    ):
        target = node.module.removeprefix(prefix).lstrip(".")
    else:
        return
    for alias in node.names:
        yield target, alias.name


def import_graph(root: Path, prefix: str = ABSOLUTE_PREFIX) -> Graph:
    """Return each module of the package at ``root`` -> the modules it imports."""
    paths = {module_name(root, path): path for path in sorted(root.rglob("*.py"))}
    graph: Graph = {name: set() for name in paths}
    for here, path in paths.items():
        is_package = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            for module, name in _imported(node, here, is_package, prefix):
                submodule = f"{module}.{name}" if module and name else name
                # ``from .providers import virtual`` imports a module
                target = submodule if submodule in graph else module
                if target in graph and target != here:
                    graph[here].add(target)
    return graph


def find_cycles(graph: Graph) -> list[list[str]]:
    """Return one cycle (first module repeated at the end) per tangle of modules.

    A tangle is a strongly connected component (Tarjan's algorithm) with more
    than one module; the cycle shown is a shortest loop through its first module.
    """
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    tangles: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                tangles.append(component)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return [_loop(graph, tangle) for tangle in sorted(tangles, key=sorted)]


def _loop(graph: Graph, tangle: set[str]) -> list[str]:
    """Return a shortest path from the tangle's first module back to itself."""
    start = min(tangle)
    paths = {start: [start]}
    queue = [start]
    for node in queue:
        for nxt in sorted(graph[node] & tangle):
            if nxt == start:
                return [*paths[node], start]
            if nxt not in paths:
                paths[nxt] = [*paths[node], nxt]
                queue.append(nxt)
    raise AssertionError(f"no loop in {tangle}")  # pragma: no cover


def shown(cycles: list[list[str]]) -> str:
    return "\n".join(" -> ".join(name or "__init__" for name in c) for c in cycles)


def test_package_found() -> None:
    graph = import_graph(PACKAGE)
    assert {
        "",
        "sync.runtime",
        "access.keys",
        "adapters.services",
        "model.values",
        "families",
    } <= set(graph)
    assert "model.site" in graph["sync.runtime"]


def test_no_import_cycles() -> None:
    cycles = find_cycles(import_graph(PACKAGE))
    assert not cycles, "import cycles:\n" + shown(cycles)


def _in(module: str, prefixes: Iterable[str]) -> bool:
    """Return True when ``module`` is one of ``prefixes`` or inside one of them."""
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def crossings(graph: Graph, rooms: dict[str, tuple[str, ...]]) -> list[str]:
    """Return "module -> module" for each import from one room into another."""
    room_of = {
        module: room
        for module in graph
        for room, prefixes in rooms.items()
        if _in(module, prefixes)
    }
    return [
        f"{module} -> {target}"
        for module in sorted(room_of)
        for target in sorted(graph.get(module, ()))
        if room_of.get(target, room_of[module]) != room_of[module]
    ]


def test_adapters_do_not_import_one_another() -> None:
    graph = import_graph(PACKAGE)
    for prefixes in ROOMS.values():
        assert all(any(_in(m, (p,)) for m in graph) for p in prefixes)
    assert crossings(graph, ROOMS) == []


def test_crossings_are_found() -> None:
    graph = {"a": {"b", "low"}, "b": {"b.c", "low"}, "b.c": set(), "low": set()}
    rooms = {"one": ("a",), "two": ("b",)}
    assert crossings(graph, rooms) == ["a -> b"]


def layer_of(module: str, layers: tuple[tuple[str, frozenset[str]], ...]) -> int:
    """Return the index of ``module``'s layer (the top layer: ``len(layers)``)."""
    for index, (_name, prefixes) in enumerate(layers):
        if _in(module, prefixes):
            return index
    return len(layers)


def upward_imports(
    graph: Graph, layers: tuple[tuple[str, frozenset[str]], ...]
) -> list[str]:
    """Return "module -> module" for each import into a higher layer."""
    return [
        f"{module} -> {target}"
        for module in sorted(graph)
        for target in sorted(graph[module])
        if layer_of(target, layers) > layer_of(module, layers)
    ]


def test_dependencies_point_down() -> None:
    graph = import_graph(PACKAGE)
    for _name, prefixes in LAYERS:
        assert all(any(_in(m, (p,)) for m in graph) for p in prefixes)
    assert upward_imports(graph, LAYERS) == []


def test_upward_imports_are_found() -> None:
    graph = {"low.a": {"high"}, "high": {"low.a"}, "top": {"high", "low.a"}}
    layers = (("low", frozenset({"low"})), ("high", frozenset({"high"})))
    assert upward_imports(graph, layers) == ["low.a -> high"]


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, source in files.items():
        path = root / "pkg" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source, encoding="utf-8")
    return root / "pkg"


def test_checker_finds_an_injected_cycle(tmp_path: Path) -> None:
    root = _write(
        tmp_path,
        {
            "__init__.py": "from .a import A\n",
            "a.py": "from .b import B\nA = 1\n",
            "b.py": "def f():\n    from .sub.c import C\nB = 2\n",
            "sub/__init__.py": "",
            "sub/c.py": (
                "from typing import TYPE_CHECKING\n"
                "if TYPE_CHECKING:\n    from ..a import A\n"
                "C = 3\n"
            ),
            "d.py": "from . import a\nimport pkg.b\n",
        },
    )
    graph = import_graph(root, prefix="pkg")
    assert graph == {
        "": {"a"},
        "a": {"b"},
        "b": {"sub.c"},
        "sub": set(),
        "sub.c": {"a"},
        "d": {"a", "b"},
    }
    cycles = find_cycles(graph)
    assert cycles == [["a", "b", "sub.c", "a"]]
    assert shown(cycles) == "a -> b -> sub.c -> a"


def test_checker_finds_a_cycle_through_a_package_init(tmp_path: Path) -> None:
    root = _write(
        tmp_path,
        {
            "__init__.py": "",
            "fam/__init__.py": "def make():\n    from .one import One\n",
            "fam/one.py": "from . import Error\n",
            "other.py": "from custom_components.keyholder import x\n",
        },
    )
    assert find_cycles(import_graph(root, prefix="pkg")) == [["fam", "fam.one", "fam"]]


def test_checker_accepts_one_way_imports(tmp_path: Path) -> None:
    root = _write(
        tmp_path,
        {
            "__init__.py": "from .top import T\n",
            "top.py": "from .mid import M\nfrom .low import L\n",
            "mid.py": "from .low import L\nimport os\n",
            "low.py": "from dataclasses import dataclass\n",
        },
    )
    assert find_cycles(import_graph(root, prefix="pkg")) == []
