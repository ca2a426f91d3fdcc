"""deploy/: the compose file parses and runs each role; the systemd units pass `systemd-analyze verify`."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bot.cli import parse_roles
from bot.config import load_settings
from tests.conftest import ROOT

DEPLOY = ROOT / "deploy"


def test_the_compose_file_runs_each_role_against_postgres() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))
    services = compose["services"]
    roles = {}
    for name in ("poll", "engine", "deliver"):
        command = services[name]["command"]
        assert command[0] == "run"
        roles[name] = parse_roles([command[command.index("--role") + 1]])
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        url = services[name]["environment"]["STORYWATCH_DATABASE_URL"]
        assert url.startswith("postgresql://") and "@postgres:5432/" in url
    assert roles == {"poll": ("poll",), "engine": ("engine",), "deliver": ("deliver",)}
    assert services["migrate"]["command"][-2:] == ["db", "upgrade"]
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    # Only the delivering workers get the chat tokens.
    assert "SLACK_BOT_TOKEN" in services["deliver"]["environment"]
    assert "SLACK_BOT_TOKEN" not in services["poll"]["environment"]
    settings = load_settings(DEPLOY / "storywatch.toml", env={})
    assert settings.engine.partitions >= services["engine"]["deploy"]["replicas"]


def test_the_systemd_units_verify(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    storywatch = Path(sys.executable).with_name("storywatch")
    units = []
    for unit in sorted((DEPLOY / "systemd").glob("storywatch*.*")):
        if unit.suffix not in (".service", ".target"):
            continue
        text = unit.read_text(encoding="utf-8")
        if "@" in unit.name:
            role = unit.name.split("-")[1].split("@")[0]
            assert f"--role {role}\n" in text
        # Verified as installed here: the executable must exist for systemd to accept ExecStart.
        (tmp_path / unit.name).write_text(
            text.replace("/opt/storywatch/.venv/bin/storywatch", str(storywatch))
        )
        units.append(str(tmp_path / unit.name))
    assert len(units) == 5
    done = subprocess.run([analyze, "verify", "--man=no", *units], capture_output=True, text=True, timeout=60)
    # Unknown keys are only warnings (exit 0): any output at all is a problem.
    assert done.returncode == 0 and not done.stderr.strip() and not done.stdout.strip(), done.stderr
