"""The import graph of ``feeds/``, ``planner/`` and ``api/`` keeps the architecture.

Like OpenTripPlanner's ``RaptorArchitectureTest``: the rules of ``docs/ARCHITECTURE.md``
are checked on the source, so a shortcut import fails here instead of in review.

* Every import counts: module level, inside functions, under ``TYPE_CHECKING``, and
  ``from pkg import name`` where ``name`` is a submodule (an edge to ``pkg.name``). Cython
  ``.pyx``/``.pxd`` files contribute their ``cimport``/``import`` lines (read by regex; the
  ``.pxd`` and ``.pyx`` of one name are one module). Importing ``a.b.c`` also runs the
  ``__init__`` of ``a`` and ``a.b``, so those are edges too.
* Rules: no cycle between modules; ``feeds`` imports neither ``planner`` nor ``api``;
  ``planner`` never imports ``api``; only ``api/settings.py`` reads the environment
  (``OWL_*`` variables are settings; writing them for worker processes is fine).

The helpers are tested on tiny synthetic graphs and sources as well, so each rule is known
to be able to fail.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("feeds", "planner", "api")

#: module -> {imported module: "file:line" of the first such import}
Graph = dict[str, dict[str, str]]

_CY_FROM = re.compile(r"^\s*from\s+(\.*[\w.]*)\s+c?import\s+([^#]*)")
_CY_IMPORT = re.compile(r"^\s*c?import\s+([\w.]+(?:\s+as\s+\w+)?"
                        r"(?:\s*,\s*[\w.]+(?:\s+as\s+\w+)?)*)")


# --- reading the graph ---------------------------------------------------------------------


def module_name(root: Path, path: Path) -> str:
    """``planner/routing/kernel.pxd`` -> ``planner.routing.kernel``; packages by their dir."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def source_files(root: Path, packages: Iterable[str] = PACKAGES) -> list[Path]:
    return sorted(p for pkg in packages for ext in ("py", "pyx", "pxd")
                  for p in (root / pkg).rglob(f"*.{ext}"))


def _absolute(module: str | None, level: int, importer: str, is_package: bool) -> str:
    """The absolute name of a (possibly relative) ``from`` import."""
    if level == 0:
        return module or ""
    base = importer.split(".")
    if not is_package:
        base.pop()
    if level > 1:
        base = base[: len(base) - (level - 1)]
    return ".".join(base + ([module] if module else []))


def _python_imports(path: Path, importer: str) -> list[tuple[str, int]]:
    """(imported name, line) for every import statement anywhere in the file."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    is_package = path.name == "__init__.py"
    out: list[tuple[str, int]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node.module, node.level, importer, is_package)
            out.append((base, node.lineno))
            # ``from pkg import sub``: a submodule when such a module exists (resolved later)
            out += [(f"{base}.{alias.name}", node.lineno) for alias in node.names
                    if alias.name != "*"]
    return out


def _cython_imports(path: Path, importer: str) -> list[tuple[str, int]]:
    out: list[tuple[str, int]] = []
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if m := _CY_FROM.match(line):
            raw = m.group(1)
            level = len(raw) - len(raw.lstrip("."))
            base = _absolute(raw.lstrip(".") or None, level, importer, False)
            out.append((base, lineno))
            # names on this line (a parenthesised list continues on the next lines: those
            # are names inside ``base``, which the edge to ``base`` already covers)
            names = (part.split()[0] for part in m.group(2).strip("() \t").split(",")
                     if part.split())
            out += [(f"{base}.{name}", lineno) for name in names if name != "*"]
        elif m := _CY_IMPORT.match(line):
            out += [(part.split()[0], lineno) for part in m.group(1).split(",")]
    return out


def _resolve(name: str, modules: set[str]) -> str | None:
    """The project module an imported name refers to: itself, or the module defining it."""
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in modules:
            return candidate
        parts.pop()
    return None


def import_graph(root: Path = REPO, packages: Iterable[str] = PACKAGES) -> Graph:
    """Project-internal import edges of every module under ``packages``."""
    files = source_files(root, packages)
    modules = {module_name(root, f) for f in files}
    graph: Graph = {m: {} for m in modules}
    for path in files:
        importer = module_name(root, path)
        read = _cython_imports if path.suffix in (".pyx", ".pxd") else _python_imports
        for name, lineno in read(path, importer):
            target = _resolve(name, modules)
            if target is None:
                continue  # not ours (numpy, fastapi, ...)
            parts = target.split(".")
            # the imported module and the packages whose __init__ runs first
            for k in range(1, len(parts) + 1):
                dep = ".".join(parts[:k])
                if dep in modules and dep != importer:
                    graph[importer].setdefault(dep, f"{path.relative_to(root)}:{lineno}")
    return graph


# --- checking it -------------------------------------------------------------------------


def find_cycles(graph: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """One cycle ``[a, b, ..., a]`` per strongly connected component that has one."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    counter = 0

    def succ(v: str) -> list[str]:
        return sorted(w for w in graph.get(v, ()) if w in graph)

    for start in sorted(graph):  # iterative Tarjan: no recursion limit on big graphs
        if start in index:
            continue
        work = [(start, iter(succ(start)))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            v, it = work[-1]
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(succ(w))))
                    break
                if w in on_stack:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    comp = []
                    while True:
                        w = stack.pop()
                        on_stack.discard(w)
                        comp.append(w)
                        if w == v:
                            break
                    if len(comp) > 1 or v in graph.get(v, ()):
                        components.append(sorted(comp))
    return [_cycle_in(graph, comp) for comp in sorted(components)]


def _cycle_in(graph: Mapping[str, Iterable[str]], comp: list[str]) -> list[str]:
    """A shortest cycle through the component's first module (breadth-first)."""
    members = set(comp)
    start = comp[0]
    parent: dict[str, str] = {}
    frontier = [start]
    while frontier:
        nxt = []
        for v in frontier:
            for w in sorted(graph.get(v, ())):
                if w == start:
                    path = [v]
                    while path[-1] != start:
                        path.append(parent[path[-1]])
                    return [start, *reversed(path[:-1]), start] if v != start else [start, start]
                if w in members and w not in parent:
                    parent[w] = v
                    nxt.append(w)
        frontier = nxt
    raise AssertionError(f"no cycle through {start} in {comp}")  # pragma: no cover


def imports_between(graph: Graph, importer: str, imported: Iterable[str]) -> list[str]:
    """``a -> b (file:line)`` for every edge from package ``importer`` into ``imported``."""
    targets = tuple(imported)

    def inside(module: str, package: str) -> bool:
        return module == package or module.startswith(package + ".")

    return [f"{a} -> {b} ({where})" for a, deps in sorted(graph.items())
            if inside(a, importer)
            for b, where in sorted(deps.items()) if any(inside(b, t) for t in targets)]


def environment_reads(root: Path, path: Path) -> list[str]:
    """``file:line`` of every read of the process environment (``os.environ[...]``,
    ``.get``, ``getenv``, ``dict(os.environ)``...); ``os.environ.update(...)`` writes."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    parent = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    lines = []
    for node in ast.walk(tree):
        name = node.attr if isinstance(node, ast.Attribute) else \
            node.id if isinstance(node, ast.Name) else \
            node.name if isinstance(node, ast.alias) else None  # from os import getenv
        if name not in ("environ", "getenv", "environb", "getenvb"):
            continue
        up = parent.get(node)
        if isinstance(up, ast.Attribute) and up.attr == "update" and \
                isinstance(parent.get(up), ast.Call):
            continue
        lines.append(node.lineno)
    return [f"{path.relative_to(root)}:{n}" for n in sorted(lines)]


def describe(cycle: list[str], graph: Graph) -> str:
    return " -> ".join(cycle) + "\n    " + "\n    ".join(
        f"{a} -> {b} at {graph[a][b]}" for a, b in zip(cycle, cycle[1:], strict=False))


# --- the rules, on this repository --------------------------------------------------------


@pytest.fixture(scope="module")
def graph() -> Graph:
    return import_graph()


def test_the_graph_covers_python_and_cython_modules(graph: Graph) -> None:
    """A sanity check that the rules below look at the real tree."""
    assert "planner.routing.kernel" in graph and "api.app" in graph
    assert "planner.routing.kernel" in graph["planner.routing.csa"]  # cimport in a .pyx
    assert "planner.timetable.model" in graph["planner.routing.router"]


def test_no_import_cycles(graph: Graph) -> None:
    cycles = find_cycles(graph)
    assert not cycles, "import cycles:\n" + "\n".join(describe(c, graph) for c in cycles)


def test_feeds_import_neither_planner_nor_api(graph: Graph) -> None:
    assert imports_between(graph, "feeds", ("planner", "api")) == []


def test_planner_never_imports_api(graph: Graph) -> None:
    assert imports_between(graph, "planner", ("api",)) == []


def names_imported_from(path: Path, module: str) -> set[str]:
    """Names a Python file imports from ``module`` (``from module import x``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {alias.name for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.module == module
            for alias in node.names}


def test_planner_reads_gbfs_snapshots_never_the_live_client() -> None:
    """The planner plans on frozen ``GbfsSnapshot`` state; the refreshing ``GbfsFeed``
    (HTTP client, raw payloads) belongs to the API's refresher."""
    users = [str(p.relative_to(REPO)) for p in (REPO / "planner").rglob("*.py")
             if "GbfsFeed" in names_imported_from(p, "feeds.gbfs")]
    assert users == []


def test_the_gbfs_import_check_sees_a_live_client_import(tmp_path: Path) -> None:
    f = tmp_path / "x.py"
    f.write_text("def g():\n    from feeds.gbfs import GbfsFeed, Station\n")
    assert names_imported_from(f, "feeds.gbfs") == {"GbfsFeed", "Station"}


def test_only_settings_read_the_environment() -> None:
    reads = [r for p in source_files(REPO) if p.suffix == ".py"
             and p != REPO / "api" / "settings.py" for r in environment_reads(REPO, p)]
    assert reads == [], "read OWL_* through api.settings (planner/feeds: take parameters)"


# --- the checks can fail ------------------------------------------------------------------


def test_cycle_finder_reports_a_cycle_and_passes_a_dag() -> None:
    cyclic = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set(), "e": {"a"}}
    assert find_cycles(cyclic) == [["a", "b", "c", "a"]]
    assert find_cycles({"a": {"b", "c"}, "b": {"c"}, "c": set()}) == []
    assert find_cycles({"a": {"a"}}) == [["a", "a"]]
    two = {"a": {"b"}, "b": {"a"}, "x": {"y"}, "y": {"z"}, "z": {"x"}}
    assert find_cycles(two) == [["a", "b", "a"], ["x", "y", "z", "x"]]


def test_layer_check_reports_a_forbidden_edge() -> None:
    g: Graph = {"planner.x": {"api.y": "planner/x.py:3", "feeds.z": "planner/x.py:4"},
                "api.y": {}, "feeds.z": {}, "apiary": {}}
    assert imports_between(g, "planner", ("api",)) == ["planner.x -> api.y (planner/x.py:3)"]
    assert imports_between(g, "feeds", ("planner", "api")) == []
    assert imports_between({"planner.x": {"apiary": "x"}}, "planner", ("api",)) == []


def test_the_reader_sees_every_kind_of_import(tmp_path: Path) -> None:
    files = {
        "api/__init__.py": "",
        "api/app.py": "from api import plan\n",  # a submodule through ``from pkg import``
        "api/plan.py": (
            "from typing import TYPE_CHECKING\n"
            "if TYPE_CHECKING:\n    from api.runtime import Runtime\n"
            "def f():\n    import api.late\n"
            "from .rel import x\n"
        ),
        "api/runtime.py": "import numpy\n",
        "api/late.py": "",
        "api/rel.py": "x = 1\n",
        "planner/__init__.py": "",
        "planner/core/__init__.py": "",
        "planner/core/kernel.pxd": "from libcpp.vector cimport vector\n",
        "planner/core/kernel.pyx": "import numpy as np\n",
        "planner/core/csa.pyx": (
            "from planner.core.kernel cimport (\n    INF,\n)\n"
            "from planner.core.kernel import arrays_for\n"
            "cimport planner.core.extra as e, planner.core.more\n"
            "from . cimport helpers\n"
        ),
        "planner/core/extra.pxd": "",
        "planner/core/more.pyx": "",
        "planner/core/helpers.pxd": "",
        "planner/uses_api.py": "def g():\n    from api.app import plan\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    g = import_graph(tmp_path, ("api", "planner"))
    assert set(g["api.app"]) == {"api", "api.plan"}
    assert set(g["api.plan"]) == {"api", "api.runtime", "api.late", "api.rel"}
    assert set(g["api.runtime"]) == set()
    assert set(g["planner.core.csa"]) == {"planner", "planner.core", "planner.core.kernel",
                                          "planner.core.extra", "planner.core.more",
                                          "planner.core.helpers"}
    assert g["planner.core.kernel"] == {}
    assert imports_between(g, "planner", ("api",)) == [
        "planner.uses_api -> api (planner/uses_api.py:2)",
        "planner.uses_api -> api.app (planner/uses_api.py:2)",
    ]
    (tmp_path / "api/runtime.py").write_text("from api.plan import f\n")
    cycles = find_cycles(import_graph(tmp_path, ("api",)))
    assert cycles == [["api.plan", "api.runtime", "api.plan"]]


def test_environment_check_flags_reads_but_not_worker_setup(tmp_path: Path) -> None:
    src = tmp_path / "m.py"
    src.write_text("import os\nfrom os import getenv\n"
                   "a = os.environ.get('OWL_X')\n"
                   "b = getenv('OWL_Y')\n"
                   "os.environ.update({'OWL_Z': '1'})\n"
                   "c = 'OWL_W' in os.environ\n")
    assert environment_reads(tmp_path, src) == ["m.py:2", "m.py:3", "m.py:4", "m.py:6"]
