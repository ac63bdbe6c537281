"""The import rules between calsync's layers (ARCHITECTURE.md), read from the source with
`ast`: no calsync module is imported, so a broken rule is reported even where it would not run.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "calsync"
PROVIDERS = PACKAGE / "providers"
# The provider contract and the registry that maps names to providers: anyone may use them.
PROVIDER_CONTRACT = {"calsync.providers", "calsync.providers.base"}
# Google's connections (OAuth, choosing calendars, push channels) are Google's by nature:
# they list the account's calendars with the Google provider's own client.
GOOGLE_PLUMBING = "calsync/services/google/"
GOOGLE_PROVIDER = {"calsync.providers.google"}


@dataclass(frozen=True)
class Import:
    """One imported name: `from a import b` may bring in module a.b, so both are listed."""

    file: str  # relative to the repository, as a person would open it
    line: int
    modules: tuple[str, ...]  # absolute dotted names
    type_checking: bool  # under `if TYPE_CHECKING:`: for annotations only


@dataclass(frozen=True)
class Call:
    file: str
    line: int
    method: str


class _Reader(ast.NodeVisitor):
    """The imports and method calls of one module, knowing which are annotation-only."""

    def __init__(self, file: str, package: str) -> None:
        self.file = file
        self.package = package  # the dotted package the module lives in, for relative imports
        self.imports: list[Import] = []
        self.calls: list[Call] = []
        self._type_checking = False

    def visit_If(self, node: ast.If) -> None:
        if not _is_type_checking(node.test):
            self.generic_visit(node)
            return
        outer, self._type_checking = self._type_checking, True
        for child in node.body:
            self.visit(child)
        self._type_checking = outer
        for child in node.orelse:
            self.visit(child)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._add(node, alias.name)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        base = _absolute(node.module or "", node.level, self.package)
        self._add(node, base, *(f"{base}.{a.name}" for a in node.names if a.name != "*"))

    def visit_Call(self, node: ast.Call) -> None:
        if isinstance(node.func, ast.Attribute):
            self.calls.append(Call(self.file, node.lineno, node.func.attr))
        self.generic_visit(node)

    def _add(self, node: ast.stmt, *modules: str) -> None:
        self.imports.append(Import(self.file, node.lineno, modules, self._type_checking))


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _absolute(module: str, level: int, package: str) -> str:
    if level == 0:
        return module
    parts = package.split(".")
    base = parts[: len(parts) - (level - 1)]
    return ".".join([*base, module] if module else base)


def _read(path: Path) -> _Reader:
    relative = path.relative_to(PACKAGE.parent)
    # A module's package, an __init__'s too: relative imports count from there.
    package = ".".join(relative.with_suffix("").parts[:-1])
    reader = _Reader(relative.as_posix(), package)
    reader.visit(ast.parse(path.read_text(), filename=str(path)))
    return reader


def _modules(*under: str) -> Iterator[_Reader]:
    """The modules in each folder (or the one file) named, relative to the repository."""
    for place in under:
        path = PACKAGE.parent / place
        yield from (_read(p) for p in (sorted(path.rglob("*.py")) if path.is_dir() else [path]))


def _top(module: str) -> str:
    return module.partition(".")[0]


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(f"{package}.")


def _imports(*under: str, breaks: Callable[[str, Import], bool]) -> list[Import]:
    """The imports in the modules under `under` that break a rule: breaks(file, import)."""
    return [i for reader in _modules(*under) for i in reader.imports if breaks(reader.file, i)]


def _concrete_providers() -> set[str]:
    """calsync.providers.<name> for every provider module but the registry and the contract."""
    names = {f"calsync.providers.{path.stem}" for path in PROVIDERS.glob("*.py")}
    return names - PROVIDER_CONTRACT - {"calsync.providers.__init__"}


def _report(rule: str, found: list[Import] | list[Call]) -> str:
    """The rule, then each breach as file:line: what, for an editor to jump to."""
    lines = [f"  {item.file}:{item.line}: "
             + (f".{item.method}(" if isinstance(item, Call) else f"import {item.modules[0]}")
             for item in found]
    return "\n".join([rule, *lines])


# Where people and programs come in: they call services, which own the data and commit.
FRONT_DOORS = ("calsync/web", "calsync/cli.py")


def test_web_and_cli_never_import_the_models_at_run_time() -> None:
    found = _imports(*FRONT_DOORS, breaks=lambda _, i: not i.type_checking and any(
        _within(module, "calsync.models") for module in i.modules))
    assert not found, _report(
        "calsync/web/ or calsync/cli.py imports calsync.models at run time: they call "
        "services, and may name a model in an annotation only (under `if TYPE_CHECKING:`):",
        found)


def test_web_and_cli_never_commit() -> None:
    found = [c for reader in _modules(*FRONT_DOORS) for c in reader.calls
             if c.method == "commit"]
    assert not found, _report(
        "calsync/web/ or calsync/cli.py calls .commit(): the service function it calls is the "
        "unit of work and commits (see calsync/services/__init__.py):", found)


def test_domain_imports_only_the_standard_library_and_itself() -> None:
    found = _imports("calsync/domain", breaks=lambda _, i: not any(
        _top(module) in sys.stdlib_module_names or _within(module, "calsync.domain")
        for module in i.modules))
    assert not found, _report(
        "calsync/domain/ imports something outside the standard library and calsync.domain: "
        "the domain is pure logic, no I/O and no framework:", found)


def test_services_never_import_flask() -> None:
    found = _imports("calsync/services",
                     breaks=lambda _, i: _top(i.modules[0]).startswith("flask"))
    assert not found, _report(
        "calsync/services/ imports Flask or a Flask extension: services are called by pages, "
        "the API, the CLI and jobs alike, and take what they need as arguments:", found)


def test_concrete_providers_are_reached_through_the_registry() -> None:
    concrete = _concrete_providers()

    def breaks(file: str, i: Import) -> bool:
        reached = concrete.intersection(i.modules)
        if file.startswith(GOOGLE_PLUMBING):
            reached -= GOOGLE_PROVIDER
        return bool(reached) and not file.startswith("calsync/providers/")

    found = _imports("calsync", breaks=breaks)
    assert not found, _report(
        "a module outside calsync/providers/ imports a concrete provider: load it by name "
        "with calsync.providers.load(name) and use the contract in calsync.providers.base:",
        found)


def test_the_reader_sees_every_kind_of_import() -> None:
    source = (
        "from __future__ import annotations\n"
        "from typing import TYPE_CHECKING\n"
        "import calsync.models\n"
        "from calsync import models\n"
        "from ..models import User\n"
        "if TYPE_CHECKING:\n"
        "    from calsync.models import Source\n"
        "def view(session):\n"
        "    from calsync.models import Deal\n"
        "    session.commit()\n")
    reader = _Reader("calsync/web/example.py", "calsync.web")
    reader.visit(ast.parse(source))
    models = [(i.line, i.type_checking) for i in reader.imports
              if any(_within(module, "calsync.models") for module in i.modules)]
    assert models == [(3, False), (4, False), (5, False), (7, True), (9, False)]
    assert [(c.line, c.method) for c in reader.calls] == [(10, "commit")]
