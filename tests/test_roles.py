"""`storywatch run --role`: which parts of the work a worker process does."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bot.cli import UserError, parse_roles
from tests.conftest import ROOT


def test_roles_in_pipeline_order() -> None:
    assert parse_roles(None) == ("poll", "engine", "deliver")
    assert parse_roles(["all"]) == ("poll", "engine", "deliver")
    assert parse_roles(["deliver", "poll"]) == ("poll", "deliver")
    assert parse_roles(["engine,POLL"]) == ("poll", "engine")
    with pytest.raises(UserError, match="unknown role 'pol'"):
        parse_roles(["pol"])


def test_an_unknown_role_is_refused_before_anything_starts() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "run", "--role", "fetch"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "unknown role" in done.stderr and "poll, engine, deliver or all" in done.stderr
