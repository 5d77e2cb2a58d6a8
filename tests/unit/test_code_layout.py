"""The code's layout holds: each wing imports only what its layer may, no import circles, settings in one place.

Read from the source with ``ast`` (nothing is imported), so a function-local
import counts as much as one at the top of a file.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("bot", "actions", "knowledge")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@lru_cache(maxsize=1)
def project_modules() -> dict[str, Path]:
    return {
        _module_name(path): path
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
        if "migrations" not in path.parts
    }


def imported_names(path: Path) -> Iterator[str]:
    """Every module name an import in the file names, as written (``from a.b import c`` gives a.b and a.b.c)."""
    package = _module_name(path) if path.name == "__init__.py" else _module_name(path).rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)


def project_imports(module: str) -> set[str]:
    """The project's own modules that ``module`` imports (a package's ``__init__`` only when named itself)."""
    modules = project_modules()
    found = set()
    for name in imported_names(modules[module]):
        if name in modules and name != module:
            found.add(name)
    # `from bot.store import access` names both bot.store and bot.store.access: keep the module.
    return {name for name in found if not any(other.startswith(name + ".") for other in found)}


def outside_imports(module: str) -> set[str]:
    """The top-level names of everything else ``module`` imports (``rasa``, ``sqlalchemy``, ...)."""
    return {name.split(".")[0] for name in imported_names(project_modules()[module])} - set(PACKAGES)


def modules_under(prefix: str) -> list[str]:
    return [name for name in project_modules() if name == prefix or name.startswith(prefix + ".")]


def reachable_from(module: str) -> set[str]:
    seen, todo = set(), [module]
    while todo:
        current = todo.pop()
        if current not in seen:
            seen.add(current)
            todo.extend(project_imports(current))
    return seen


def test_the_layout_is_found() -> None:
    """A guard for the tests below: they would pass vacuously on a tree they cannot read."""
    assert {"bot.core.walker", "bot.store.access", "bot.rasa_server.channels", "actions.support"} <= set(
        project_modules()
    )
    assert "bot.store.access" in project_imports("bot.store.records")
    assert "rasa" in outside_imports("bot.rasa_server.channels")


@pytest.mark.parametrize("module", modules_under("bot.core"))
def test_core_is_pure(module: str) -> None:
    """Pure logic: no store, no SQL, no Rasa."""
    assert not {name for name in project_imports(module) if not name.startswith("bot.core")} - {"bot"}
    assert not outside_imports(module) & {"rasa", "rasa_sdk", "sqlalchemy", "sanic", "telegram"}


@pytest.mark.parametrize(
    "module", [m for m in modules_under("bot") if not m.startswith(("bot.rasa_server", "bot.action_server"))]
)
def test_only_the_server_wings_import_rasa(module: str) -> None:
    assert "rasa" not in outside_imports(module), "rasa belongs to the Rasa server (bot/rasa_server/)"
    assert "rasa_sdk" not in outside_imports(module), "rasa_sdk belongs to the action server (bot/action_server/)"


@pytest.mark.parametrize("module", [*modules_under("bot.action_server"), *modules_under("actions")])
def test_the_action_server_never_loads_rasa(module: str) -> None:
    """The action server runs on Rasa SDK alone; Rasa itself (and TensorFlow) stay in the Rasa servers."""
    for reached in reachable_from(module):
        assert "rasa" not in outside_imports(reached), f"{module} reaches rasa through {reached}"


@pytest.mark.parametrize("module", modules_under("bot.telegram"))
def test_the_telegram_app_never_reaches_rasa(module: str) -> None:
    for reached in reachable_from(module):
        assert "rasa" not in outside_imports(reached), f"{module} reaches rasa through {reached}"


@pytest.mark.parametrize("module", modules_under("bot.store"))
def test_the_store_knows_nothing_of_the_chat_or_the_processes(module: str) -> None:
    allowed = ("bot.core", "bot.store", "bot.settings")
    assert all(name.startswith(allowed) for name in project_imports(module) if name != "bot")


def _cycles() -> list[list[str]]:
    """Strongly connected components of the import graph with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for other in project_imports(module):
            if other not in index:
                visit(other)
                low[module] = min(low[module], low[other])
            elif other in on_stack:
                low[module] = min(low[module], index[other])
        if low[module] == index[module]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == module:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for module in project_modules():
        if module not in index:
            visit(module)
    return found


def test_no_import_circles() -> None:
    assert _cycles() == []


def test_an_import_circle_would_be_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "bot").mkdir()
    (tmp_path / "bot" / "__init__.py").write_text("")
    (tmp_path / "bot" / "a.py").write_text("def f():\n    from bot import b\n")
    (tmp_path / "bot" / "b.py").write_text("from bot.a import f\n")
    monkeypatch.setattr(__import__(__name__, fromlist=["ROOT"]), "ROOT", tmp_path)
    project_modules.cache_clear()
    try:
        assert _cycles() == [["bot.a", "bot.b"]]
    finally:
        monkeypatch.undo()
        project_modules.cache_clear()


def _reads_environment(path: Path) -> list[int]:
    lines = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        is_os = isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "os"
        if is_os and node.attr in ("environ", "getenv"):
            lines.append(node.lineno)
    return lines


@pytest.mark.parametrize("module", [m for m in project_modules() if m != "bot.settings"])
def test_environment_variables_are_read_only_in_settings(module: str) -> None:
    assert _reads_environment(project_modules()[module]) == []
