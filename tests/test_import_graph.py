"""The shape of the source: no import cycle, only the CLI and web know the CLI and web.

The graph is read from the source with `ast`, so a function-level import counts as much
as one at the top of a module: hiding an import inside a function defers a cycle, it
does not remove it. Imports under `if TYPE_CHECKING:` are left out (they never run and
only name types). Importing `illudex.a.b` runs `illudex/a/__init__.py` too, so a module
depends on every package above what it imports.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
PROJECT = "illudex"
# Only these packages may know about the user interfaces and their libraries.
FRONT_ENDS = ("illudex.cli", "illudex.web")
FRONT_END_LIBRARIES = ("fastapi", "starlette", "typer", "rich", "click", "uvicorn")


def module_files(src: Path = SRC) -> dict[str, Path]:
    """Every module of the project by dotted name (a package by its `__init__.py`)."""
    modules: dict[str, Path] = {}
    for path in sorted((src / PROJECT).rglob("*.py")):
        parts = list(path.relative_to(src).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _runtime_imports(node: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Import statements anywhere in `node`, skipping `if TYPE_CHECKING:` bodies."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and _is_type_checking(child.test):
            for orelse in child.orelse:
                yield from _runtime_imports(orelse)
            continue
        if isinstance(child, ast.Import | ast.ImportFrom):
            yield child
        yield from _runtime_imports(child)


def _absolute(name: str, statement: ast.ImportFrom, is_package: bool) -> str:
    """The dotted module a `from ... import` names, with relative levels resolved."""
    if not statement.level:
        return statement.module or ""
    base = name.split(".")
    base = base[: len(base) - statement.level + (1 if is_package else 0)]
    return ".".join(base + ([statement.module] if statement.module else []))


def _deepest_module(target: str, modules: dict[str, Path]) -> str:
    """`pkg.mod.attr` → `pkg.mod`: the module an imported dotted name lives in."""
    while target and target not in modules:
        target = target.rpartition(".")[0]
    return target


def imported_modules(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The project modules `name` imports at run time, by name (not yet with packages)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for statement in _runtime_imports(tree):
        if isinstance(statement, ast.Import):
            found.update(_deepest_module(alias.name, modules) for alias in statement.names)
            continue
        module = _absolute(name, statement, is_package)
        for alias in statement.names:  # `from pkg import sub` names the submodule
            found.add(_deepest_module(f"{module}.{alias.name}", modules))
    return found - {""}


def _packages_above(module: str) -> set[str]:
    parts = module.split(".")
    return {".".join(parts[:i]) for i in range(1, len(parts))}


def import_graph(src: Path = SRC) -> dict[str, set[str]]:
    """Module → the project modules it imports (directly), self-edges left out.

    Importing `illudex.a.b` runs `illudex/a/__init__.py` first, so the packages above
    an imported module count too, except the importer's own packages: Python has
    started those before the importer runs, and the importer needs nothing from them
    unless it names them (then the explicit import is an edge like any other).
    """
    modules = module_files(src)
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        direct = imported_modules(name, path, modules)
        implied = set().union(*(_packages_above(m) for m in direct)) - _packages_above(name)
        graph[name] = (direct | (implied & modules.keys())) - {name}
    return graph


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's components with more than one module: each one holds a cycle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def describe_cycles(graph: dict[str, set[str]]) -> str:
    lines = []
    for component in strongly_connected(graph):
        members = set(component)
        edges = [f"{a} -> {b}" for a in component for b in sorted(graph[a] & members)]
        lines.append("cycle among " + ", ".join(component) + ":\n    " + "\n    ".join(edges))
    return "\n".join(lines)


def test_the_source_has_no_import_cycle() -> None:
    report = describe_cycles(import_graph())
    assert not report, "import cycles (cut one edge of each):\n" + report


def front_end_imports(src: Path = SRC) -> list[str]:
    """`module imports name` for each import of the CLI, the web or their libraries by a
    module outside `illudex.cli` and `illudex.web`, TYPE_CHECKING ones included (they
    still tie the module to a user interface)."""
    forbidden = FRONT_ENDS + FRONT_END_LIBRARIES
    offenders = []
    for name, path in module_files(src).items():
        if _names_any(name, FRONT_ENDS):
            continue
        for statement in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(statement, ast.Import):
                targets = [alias.name for alias in statement.names]
            elif isinstance(statement, ast.ImportFrom) and not statement.level:
                targets = [statement.module or ""]
            else:
                continue
            offenders += [f"{name} imports {t}" for t in targets if _names_any(t, forbidden)]
    return offenders


def _names_any(target: str, prefixes: tuple[str, ...]) -> bool:
    return any(target == p or target.startswith(p + ".") for p in prefixes)


def test_only_the_cli_and_web_know_the_cli_web_and_their_libraries() -> None:
    offenders = front_end_imports()
    assert not offenders, "\n".join(offenders)


# The checker itself, on small made-up trees: it must see what it is meant to catch.


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for relative, text in files.items():
        path = tmp_path / PROJECT / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return tmp_path


def test_the_checker_sees_a_cycle_through_a_function_level_import(tmp_path: Path) -> None:
    src = _tree(
        tmp_path,
        {
            "__init__.py": "",
            "tags/__init__.py": "",
            "tags/a.py": "from illudex.tags.b import thing\n",
            "tags/b.py": "def thing():\n    from illudex.tags import a\n    return a\n",
            "tags/c.py": "from . import a\n",
            "tags/d.py": "from illudex.tags import c\nimport illudex.scan.walk\n",
            "scan/__init__.py": "",
            "scan/walk.py": "",
        },
    )
    graph = import_graph(src)
    assert graph["illudex.tags.c"] == {"illudex.tags.a"}
    assert graph["illudex.tags.d"] == {"illudex.tags.c", "illudex.scan", "illudex.scan.walk"}
    assert strongly_connected(graph) == [["illudex.tags.a", "illudex.tags.b"]]
    assert "illudex.tags.b -> illudex.tags.a" in describe_cycles(graph)


def test_the_checker_sees_a_cycle_through_a_package_init(tmp_path: Path) -> None:
    src = _tree(
        tmp_path,
        {
            "__init__.py": "",
            "scan/__init__.py": "from illudex.scan.engine import run\n",
            "scan/engine.py": "from illudex.dupes.engine import run\n",
            "dupes/__init__.py": "",
            "dupes/engine.py": "import illudex.scan.walk\nrun = 1\n",
            "scan/walk.py": "",
        },
    )
    assert strongly_connected(import_graph(src)) == [
        ["illudex.dupes.engine", "illudex.scan", "illudex.scan.engine"]
    ]


def test_the_checker_sees_a_module_that_takes_a_name_from_its_own_package(
    tmp_path: Path,
) -> None:
    src = _tree(
        tmp_path,
        {
            "__init__.py": "",
            "cli/__init__.py": "app = 1\nfrom illudex.cli import scan\n",
            "cli/scan.py": "from illudex.cli import app\n",
        },
    )
    assert strongly_connected(import_graph(src)) == [["illudex.cli", "illudex.cli.scan"]]


def test_the_checker_leaves_out_type_checking_imports(tmp_path: Path) -> None:
    src = _tree(
        tmp_path,
        {
            "__init__.py": "",
            "a.py": "import typing\nif typing.TYPE_CHECKING:\n    from illudex import b\n",
            "b.py": "from illudex import a\n",
        },
    )
    assert strongly_connected(import_graph(src)) == []


def test_the_checker_sees_a_module_below_the_interfaces_that_knows_them(
    tmp_path: Path,
) -> None:
    src = _tree(
        tmp_path,
        {
            "__init__.py": "",
            "web/__init__.py": "import fastapi\n",
            "webhooks.py": "import typer.core\n",
            "search.py": "def f():\n    from illudex.web import app\n",
            "thumbs.py": "import richer\n",
        },
    )
    assert front_end_imports(src) == [
        "illudex.search imports illudex.web",
        "illudex.webhooks imports typer.core",
    ]
