"""The code's layout, from its imports (parsed with ast, nothing imported).

Data flows one way: config → ucloud → listings → engine → runtime → collector → exposition →
web → cli. Nothing lower imports anything higher, so engine, runtime and collector each have
a layer of their own and a cycle between any two of them breaks the rule; no two parts of
``exporter`` import each other even within a layer; ``exporter.metrics`` imports nothing of
the project; the simulator is an island (it imports nothing of the exporter outside itself).
Test modules import ``tests.support``, never another test module, ``loadtest`` or
``benchmarks``.
"""

from __future__ import annotations

import ast
import graphlib
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

#: exporter's modules by layer, lowest first; a module may import its own layer and lower.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("exporter", "exporter.metrics", "exporter.logs"),
    (
        "exporter.validation",
        "exporter.secret",
        "exporter.credentials",
        "exporter.config",
        "exporter.accounts",
    ),
    ("exporter.ucloud",),
    ("exporter.results", "exporter.stats", "exporter.loops"),
    ("exporter.discovery", "exporter.keybook", "exporter.sources", "exporter.listings"),
    ("exporter.engine",),  # runs the listings and background sources on its event loop
    ("exporter.runtime",),  # owns the engine: configuration, reloads, the shared state
    ("exporter.collector",),  # turns Results and source states into metric families
    ("exporter.exposition", "exporter.deflate", "exporter.imagelines"),
    ("exporter.web",),
    ("exporter.cli", "exporter.flags", "exporter.demo", "exporter.__main__"),
)
ISLAND = "exporter.simulator"  # imports only itself; only the top layer imports it
TOOLS = ("loadtest", "benchmarks")


def module_name(path: Path) -> str:
    """Return the dotted module name of a file under ROOT."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> Iterator[str]:
    """Yield every module ``path`` imports (``from a import b`` as ``a.b`` when b is one)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = module_name(path) if path.name == "__init__.py" else module_name(path.parent)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            yield base
            for alias in node.names:
                candidate = ROOT.joinpath(*f"{base}.{alias.name}".split("."))
                if candidate.with_suffix(".py").is_file() or candidate.is_dir():
                    yield f"{base}.{alias.name}"


def within(name: str, package: str) -> bool:
    """Tell whether module ``name`` is ``package`` or inside it."""
    return name == package or name.startswith(package + ".")


def layer(name: str) -> int | None:
    """Return the layer of an exporter module (its longest listed prefix), None if unlisted."""
    found = [(len(m), i) for i, members in enumerate(LAYERS) for m in members if within(name, m)]
    return max(found)[1] if found else None


def exporter_violations(name: str, imported: list[str]) -> list[str]:
    """Return the imports of exporter module ``name`` that break the data-flow rule."""
    own = [m for m in imported if within(m, "exporter")]
    if within(name, ISLAND):
        return [m for m in own if not within(m, ISLAND)]
    if within(name, "exporter.metrics"):
        return own
    mine = layer(name)
    if mine is None:
        return [f"{name} is in no layer of tests/test_layout.py"]
    bad = []
    for m in own:
        theirs = len(LAYERS) - 1 if within(m, ISLAND) else layer(m)
        if theirs is None or theirs > mine:
            bad.append(m)
    return bad


def test_violations_are_found() -> None:
    assert exporter_violations("exporter.ucloud._client", ["exporter.engine"]) == [
        "exporter.engine"
    ]
    assert exporter_violations("exporter.collector", ["exporter.web.app"]) == ["exporter.web.app"]
    assert exporter_violations("exporter.metrics", ["exporter"]) == ["exporter"]
    assert exporter_violations("exporter.simulator.server", ["exporter.config"]) == [
        "exporter.config"
    ]
    assert exporter_violations("exporter.engine", ["exporter.simulator"]) == ["exporter.simulator"]
    assert exporter_violations("exporter.web.app", ["exporter.runtime", "exporter"]) == []
    assert exporter_violations("exporter.cli", ["exporter.web", "exporter.demo"]) == []
    # engine, runtime and collector: any import back down the flow is a violation
    assert exporter_violations("exporter.engine", ["exporter.runtime"]) == ["exporter.runtime"]
    assert exporter_violations("exporter.runtime", ["exporter.collector"]) == ["exporter.collector"]
    assert exporter_violations("exporter.engine", ["exporter.collector"]) == ["exporter.collector"]
    assert exporter_violations("exporter.listings", ["exporter.engine"]) == ["exporter.engine"]
    assert exporter_violations("exporter.runtime", ["exporter.engine", "exporter.loops"]) == []


EXPORTER = sorted((ROOT / "exporter").rglob("*.py"))


@pytest.mark.parametrize("path", EXPORTER, ids=module_name)
def test_data_flows_one_way(path: Path) -> None:
    name = module_name(path)
    assert exporter_violations(name, list(imports(path))) == [], name


def part(name: str) -> str:
    """Return the part of ``exporter`` a module belongs to: ``exporter.ucloud._client`` is
    ``exporter.ucloud``."""
    return ".".join(name.split(".")[:2])


def cycle(edges: dict[str, set[str]]) -> list[str]:
    """Return one cycle of the graph ``edges`` (each node's successors), [] if it has none."""
    try:
        graphlib.TopologicalSorter(edges).prepare()
    except graphlib.CycleError as exc:
        return list(exc.args[1])
    return []


def test_cycles_are_found() -> None:
    assert cycle({"a": {"b"}, "b": {"c"}, "c": set()}) == []
    assert set(cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}})) == {"a", "b", "c"}


def test_no_two_parts_import_each_other() -> None:
    """A cycle the layers cannot see (two modules of one layer) is refused too."""
    edges: dict[str, set[str]] = {}
    for path in EXPORTER:
        mine = part(module_name(path))
        edges.setdefault(mine, set()).update(
            part(m)
            for m in imports(path)
            if within(m, "exporter") and m != "exporter" and part(m) != mine
        )
    assert cycle(edges) == []


#: What ``exporter.credentials`` may import of the project: it reads where keys come from and
#: knows nothing of the configuration file (``exporter.accounts`` asks it, never the reverse).
CREDENTIALS_MAY_IMPORT = ("exporter.credentials", "exporter.validation", "exporter.secret")


@pytest.mark.parametrize(
    "path", sorted((ROOT / "exporter" / "credentials").rglob("*.py")), ids=module_name
)
def test_credentials_know_nothing_of_the_config_file(path: Path) -> None:
    own = [m for m in imports(path) if within(m, "exporter")]
    assert [m for m in own if not any(within(m, ok) for ok in CREDENTIALS_MAY_IMPORT)] == []


#: Test-only dependencies: the exporter (and its simulator) never import them.
TEST_ONLY = ("ucloud", "hypothesis", "pytest")


@pytest.mark.parametrize("path", EXPORTER, ids=module_name)
def test_the_exporter_imports_no_test_dependency(path: Path) -> None:
    """The official SDK is the tests' reference, never a dependency of the exporter."""
    assert [m for m in imports(path) if any(within(m, t) for t in TEST_ONLY)] == []


TESTS = sorted((ROOT / "tests").rglob("*.py"))


def test_every_module_is_checked() -> None:
    assert len(EXPORTER) > 30 and len(TESTS) > 30
    assert {layer(module_name(p)) for p in EXPORTER if not within(module_name(p), ISLAND)} == set(
        range(len(LAYERS))
    )


def test_forbidden_imports_are_found() -> None:
    assert forbidden(
        [
            "tests.test_faults",
            "loadtest.runs",
            "benchmarks",
            "tests.conftest",
            "tests.support.procs",
            "exporter.web",
            "httpx",
        ]
    ) == ["tests.test_faults", "loadtest.runs", "benchmarks", "tests.conftest"]


def forbidden(imported: list[str]) -> list[str]:
    """Return the imports a test module must not have."""
    return [
        m
        for m in imported
        if any(within(m, t) for t in TOOLS)
        or m.startswith("tests.test_")
        or m in ("tests.conftest", "conftest")
    ]


@pytest.mark.parametrize("path", TESTS, ids=module_name)
def test_tests_import_only_support(path: Path) -> None:
    bad = forbidden(list(imports(path)))
    assert bad == [], f"{module_name(path)} imports {bad}: move shared code to tests/support/"
