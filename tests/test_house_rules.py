"""Rules of the house that a linter does not check: SQL only in the store, small modules, short functions.

Each allowance names a file that breaks a rule today and why; the tests also fail when an allowance is
no longer needed, so the lists only shrink (tightening is deleting the line).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ROOMS = ("bot", "adapters", "jobs")
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 80

# SQLAlchemy imported outside bot/store/, with the reason.
SQL_ALLOWED: dict[str, str] = {}
# Modules over MAX_MODULE_LINES, with the reason.
LONG_MODULES: dict[str, str] = {}
# Functions over MAX_FUNCTION_LINES ("path:name"), with the reason.
LONG_FUNCTIONS: dict[str, str] = {}


def _modules() -> list[Path]:
    found = []
    for room in ROOMS:
        for path in sorted((ROOT / room).rglob("*.py")):
            # Migrations are written once and never change: they keep their generated shape.
            if "migrations" not in path.relative_to(ROOT).parts:
                found.append(path)
    return found


def _name(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _imports_sqlalchemy(tree: ast.Module) -> bool:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import) and any(a.name.split(".")[0] == "sqlalchemy" for a in node.names):
            return True
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "sqlalchemy":
            return True
    return False


def test_the_rooms_are_where_the_rules_look() -> None:
    modules = {_name(path) for path in _modules()}
    assert {"bot/store/db.py", "bot/chat.py", "jobs/delivery.py", "adapters/console.py"} <= modules
    assert not any("/migrations/" in name for name in modules)


def test_sqlalchemy_is_imported_only_in_the_store() -> None:
    users = {
        _name(path)
        for path in _modules()
        if not _name(path).startswith("bot/store/")
        and _imports_sqlalchemy(ast.parse(path.read_text("utf-8")))
    }
    assert users - set(SQL_ALLOWED) == set(), "SQL belongs in bot/store/: add a query function there"
    assert set(SQL_ALLOWED) - users == set(), "no longer imports SQLAlchemy: delete its allowance"


def test_no_module_is_over_400_lines() -> None:
    long = {
        _name(path): n
        for path in _modules()
        if (n := len(path.read_text("utf-8").splitlines())) > MAX_MODULE_LINES
    }
    assert set(long) - set(LONG_MODULES) == set(), f"modules over {MAX_MODULE_LINES} lines: {long}"
    assert set(LONG_MODULES) - set(long) == set(), "back under the limit: delete its allowance"


def test_no_function_is_over_80_lines() -> None:
    long = {}
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                length = (node.end_lineno or node.lineno) - first + 1
                if length > MAX_FUNCTION_LINES:
                    long[f"{_name(path)}:{node.name}"] = length
    assert set(long) - set(LONG_FUNCTIONS) == set(), f"functions over {MAX_FUNCTION_LINES} lines: {long}"
    assert set(LONG_FUNCTIONS) - set(long) == set(), "back under the limit: delete its allowance"
