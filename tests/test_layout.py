"""The packages' layout holds: no import cycle between kg's modules, and no import upward.

Read from the source with :mod:`ast` (nothing is imported), counting every import of a module,
at its top or inside a function, under ``TYPE_CHECKING`` too. A module's *unit* is its top-level
name under ``kg`` (``kg.store.embedded`` is in ``store``); :data:`LAYERS` orders the units from
the ground up, so that read → map → validate → store → serve can be found by folder. A module
imports from its own unit or from a unit of a lower layer, never from its own layer's other
units (they stay independent of each other) nor from a higher one. A new unit must be placed.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

LAYERS: list[set[str]] = [
    # no kg import but these
    {"errors", "vocab", "iris", "records", "sparql_text", "malloc", "history", "scratch", "processes"},
    {"settings", "terms", "sparql_updates"},  # sparql_updates: on sparql_text's tokens
    {"readers", "mapping", "store", "catalog_records"},  # the store alone opens pyoxigraph's Store
    {"validation", "evaluation", "search", "catalog"},  # SHACL; queries stopped at the deadline
    {"quality", "describe"},
    {"derived", "findings"},  # the pages' derived tables; a resource's findings
    {"factory"},  # the store and the SHACL engine the settings choose
    {"ingest", "web", "gunicorn_conf"},  # the uses: neither imports the other
    {"harvest"},  # sources fetched politely, then ingested when they changed
    {"cli"},  # the kg command and what it prints
    {""},  # kg/__init__.py: create_app, the package's face
]


def modules(root: Path = ROOT) -> dict[str, Path]:
    """Every module of the kg package, by dotted name."""
    found = {}
    for path in sorted((root / "kg").rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def imports_of(source: str, name: str, is_package: bool, known: Iterable[str]) -> set[str]:
    """The kg modules that the module ``name`` imports, anywhere in ``source``: ``from P import N``
    is module ``P.N`` when there is one, else ``P``."""
    known = set(known)

    def nearest(dotted: str) -> str | None:
        while dotted and dotted not in known:
            dotted = dotted.rpartition(".")[0]
        return dotted or None

    package = name if is_package else name.rpartition(".")[0]
    out: set[str | None] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            out.update(nearest(alias.name) for alias in node.names if alias.name.split(".")[0] == "kg")
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            if base.split(".")[0] != "kg":
                continue
            for alias in node.names:
                full = f"{base}.{alias.name}"
                out.add(full if full in known else nearest(base))
    return {m for m in out if m and m != name}


def import_graph(root: Path = ROOT) -> dict[str, set[str]]:
    found = modules(root)
    return {
        name: imports_of(path.read_text(encoding="utf-8"), name, path.name == "__init__.py", found)
        for name, path in found.items()
    }


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def unit(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def layer_of(name: str, layers: list[set[str]] = LAYERS) -> int | None:
    return next((i for i, units in enumerate(layers) if name in units), None)


def wrong_way(graph: dict[str, set[str]], layers: list[set[str]] = LAYERS) -> list[str]:
    """Each import that goes up a layer or across to another unit of the same layer, and each
    module whose unit has no layer."""
    problems = []
    for module, targets in sorted(graph.items()):
        mine = layer_of(unit(module), layers)
        if mine is None:
            problems.append(f"{module}: its unit {unit(module)!r} is in no layer of LAYERS")
            continue
        for target in sorted(targets):
            theirs = layer_of(unit(target), layers)
            if unit(target) == unit(module) or theirs is None:
                continue  # within a unit, cycles are the only fault; an unplaced unit is told above
            if theirs > mine:
                problems.append(f"{module} imports {target}: up from layer {mine} to {theirs}")
            elif theirs == mine:
                problems.append(f"{module} imports {target}: across layer {mine}")
    return problems


# ---------------------------------------------------------------- the checks


def test_no_import_cycle_between_kg_modules():
    assert cycles(import_graph()) == []


def test_no_import_upward_or_across():
    assert wrong_way(import_graph()) == []


def test_the_lower_packages_never_import_the_uses():
    """The brief's own words: what reads, maps, validates, stores and evaluates imports nothing of
    the web app, the commands or the ingest."""
    graph = import_graph()
    lower = ("readers", "mapping", "validation", "store", "evaluation")
    bad = [
        (m, t)
        for m, targets in graph.items()
        if unit(m) in lower
        for t in targets
        if unit(t) in ("web", "cli", "ingest")
    ]
    assert bad == []


def test_every_layer_names_a_unit_that_exists():
    units = {unit(m) for m in modules()}
    assert set().union(*LAYERS) <= units


# ---------------------------------------------------------------- the checks can fail


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def test_a_cycle_is_found_through_a_function_level_import(tmp_path):
    root = write(
        tmp_path,
        {
            "kg/__init__.py": "",
            "kg/a.py": "from kg.b import f\n",
            "kg/b.py": "def f():\n    from kg import a\n",
            "kg/c.py": "import kg.a\n",
        },
    )
    graph = import_graph(root)
    assert graph["kg.c"] == {"kg.a"}
    assert cycles(graph) == [["kg.a", "kg.b"]]


def test_a_relative_import_counts(tmp_path):
    root = write(
        tmp_path,
        {
            "kg/__init__.py": "",
            "kg/store/__init__.py": "",
            "kg/store/one.py": "from .two import x\n",
            "kg/store/two.py": "from . import one\n",
        },
    )
    assert cycles(import_graph(root)) == [["kg.store.one", "kg.store.two"]]


def test_an_import_upward_across_or_unplaced_is_told(tmp_path):
    root = write(
        tmp_path,
        {
            "kg/__init__.py": "",
            "kg/web/__init__.py": "",
            "kg/web/app.py": "from kg.store.embedded import Store\n",
            "kg/store/__init__.py": "",
            "kg/store/embedded.py": "from kg.web import app\n",
            "kg/ingest.py": "from kg.web.app import x\n",
            "kg/stray.py": "",
        },
    )
    layers = [{"store"}, {"web", "ingest"}, {""}]
    assert wrong_way(import_graph(root), layers) == [
        "kg.ingest imports kg.web.app: across layer 1",
        "kg.store.embedded imports kg.web.app: up from layer 0 to 1",
        "kg.stray: its unit 'stray' is in no layer of LAYERS",
    ]
