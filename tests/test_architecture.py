"""The rooms' arrows (pyproject's [tool.importlinter] contracts) hold, and a broken arrow is caught.

lint-imports runs on a copy of the three packages, so a deliberately wrong import can be added to the
copy without touching the code: the check must pass on the copy as it is and fail with the break.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _copy(tmp_path: Path) -> Path:
    copy = tmp_path / "house"
    for package in ("bot", "adapters", "jobs"):
        shutil.copytree(ROOT / package, copy / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", copy / "pyproject.toml")
    return copy


def _lint(copy: Path) -> subprocess.CompletedProcess[str]:
    # The copy comes first on the path, ahead of the editable install of the real packages.
    env = {**os.environ, "PYTHONPATH": str(copy)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--config", str(copy / "pyproject.toml")],
        cwd=copy,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _add_import(module: Path, line: str) -> None:
    module.write_text(module.read_text(encoding="utf-8") + f"\n{line}  # noqa\n", encoding="utf-8")


@pytest.fixture(scope="module")
def intact(tmp_path_factory: pytest.TempPathFactory) -> subprocess.CompletedProcess[str]:
    return _lint(_copy(tmp_path_factory.mktemp("intact")))


def test_the_contracts_hold(intact: subprocess.CompletedProcess[str]) -> None:
    assert intact.returncode == 0, intact.stdout + intact.stderr
    assert "0 broken" in intact.stdout


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        (
            "adapters/console.py",
            "from bot.store.db import Store",
            "adapters reach the core through bot.chat",
        ),
        ("jobs/pacing.py", "import adapters.console", "adapters and jobs stand on the core"),
        ("bot/store/topics.py", "import bot.services.commands", "the core's rooms, top to bottom"),
        ("bot/ports.py", "import bot.store.topics", "what an adapter is given"),
        ("bot/stories/topics.py", "import bot.stories.engine", "the story engine's parts, top to bottom"),
    ],
)
def test_a_broken_arrow_fails_the_check(
    tmp_path: Path, intact: subprocess.CompletedProcess[str], module: str, line: str, contract: str
) -> None:
    assert intact.returncode == 0, "the intact copy must pass for this check to mean anything"
    copy = _copy(tmp_path)
    _add_import(copy / module, line)
    broken = _lint(copy)
    assert broken.returncode != 0
    # Long contract names wrap in the report: read it as one line.
    report = " ".join(broken.stdout.split())
    assert re.search(r"Contracts: \d+ kept, [1-9]\d* broken", report), report
    assert re.search(re.escape(contract) + r"(?:(?!KEPT|BROKEN).)* BROKEN", report), report
