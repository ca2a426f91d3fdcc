"""A bad configuration or data directory is one clear line on stderr and a non-zero exit, never a traceback.

Every command is run through the real CLI (typer's CliRunner on the app, and the console script in a
subprocess): configuration problems exit 2, a data directory that cannot hold the database exits 1.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from bot.config import MAX_CONFIG_BYTES, ConfigError, load_settings

# What each command needs besides the configuration (files it reads are created by `_command_files`).
COMMANDS: list[list[str]] = [
    ["demo"],
    ["run"],
    ["poll", "--once"],
    ["status"],
    ["sources", "list"],
    ["sources", "add", "https://feeds.example.invalid/rss", "--no-check"],
    ["sources", "remove", "1"],
    ["sources", "import", "{tmp}/feeds.opml"],
    ["sources", "export"],
    ["db", "upgrade"],
    ["db", "check"],
    ["eval", "{tmp}/stream.jsonl", "--out", "{tmp}/predictions.jsonl"],
]
STORE_COMMANDS = [command for command in COMMANDS if command[0] not in ("demo", "eval")]

Writer = Callable[[Path], Path]


def _file(content: bytes) -> Writer:
    def write(tmp: Path) -> Path:
        path = tmp / "storywatch.toml"
        path.write_bytes(content)
        return path

    return write


def _directory(tmp: Path) -> Path:
    (tmp / "conf.d").mkdir()
    return tmp / "conf.d"


def _missing(tmp: Path) -> Path:
    return tmp / "nowhere.toml"


# (case, what makes the config, what the one line must say). Each of the first eight failed on main
# with a traceback (or, for the password, by being accepted).
CONFIG_CASES: list[tuple[str, Writer, str]] = [
    ("invalid UTF-8", _file(b'log_level = "INFO"\n# caf\xe9\n'), "line 2: not UTF-8 text (byte 0xe9)"),
    ("a directory", _directory, "is a directory, not a configuration file"),
    (
        "password in the DSN query string",
        _file(b'database_url = "postgresql://db.example.invalid/news?password=hunter2"\n'),
        "database_url: holds a password (password= in the query string); secrets are read from the "
        "environment only (set STORYWATCH_DATABASE_URL instead)",
    ),
    (
        "secret option in the DSN query string",
        _file(b'database_url = "postgresql://db.example.invalid/news?user=sw&sslpassword=x"\n'),
        "database_url: holds a password (sslpassword= in the query string)",
    ),
    ("tables nested too deeply", _file(b"a = " + b"[" * 5000 + b"]" * 5000 + b"\n"), "nested too deeply"),
    ("markup in a key", _file(b'"[/]" = 1\n'), "[/]: unknown key"),
    ("escape codes in a key", _file(b'"\\u001b]0;owned\\u0007" = 1\n'), "\\x1b]0;owned\\x07: unknown key"),
    (
        "larger than a configuration file",
        _file(b"# padding\n" * (MAX_CONFIG_BYTES // 10 + 1)),
        "larger than 4 MB, not a configuration file",
    ),
    ("missing", _missing, "no such configuration file"),
    ("TOML syntax", _file(b"log_level = \n"), "not valid TOML: Invalid value (at line 1, column 13)"),
    ("unknown keys", _file(b"bogus = 1\n[ingest]\ntimeout = 3\n"), "ingest.timeout: unknown key"),
    ("password in the DSN", _file(b'database_url = "postgresql://sw:pw@db.invalid/n"\n'), "(user:password@)"),
    (
        "a regex topic over the bounds",
        _file(b'[[topics]]\nid = "words"\nquery = "re:/(?:\\\\w+\\\\s){1000}/"\n'),
        "topics.0.query (words): position 1: pattern too large: repetition {1000} exceeds 100",
    ),
]


def _command_files(tmp: Path, command: list[str]) -> list[str]:
    (tmp / "feeds.opml").write_text('<opml version="2.0"><body/></opml>', encoding="utf-8")
    (tmp / "stream.jsonl").write_text("", encoding="utf-8")
    return [part.format(tmp=tmp) for part in command]


def _one_clean_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr and "\x1b" not in stderr and "\x07" not in stderr
    return lines[0]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
@pytest.mark.parametrize(("case", "make", "reason"), CONFIG_CASES, ids=[c[0] for c in CONFIG_CASES])
def test_configuration_errors_are_one_line_and_exit_2(
    tmp_path: Path, case: str, make: Writer, reason: str, command: list[str]
) -> None:
    config = make(tmp_path)
    result = CliRunner().invoke(app, ["--config", str(config), *_command_files(tmp_path, command)])
    assert result.exit_code == 2, (case, result.output, result.stderr)
    line = _one_clean_line(result.stderr)
    assert line.startswith("configuration error: ")
    assert reason in line
    assert result.stdout == ""


def test_run_reads_its_own_config_option_the_same_way(tmp_path: Path) -> None:
    config = tmp_path / "storywatch.toml"
    config.write_bytes(b"# caf\xe9\n")
    result = CliRunner().invoke(app, ["run", "--config", str(config)])
    assert result.exit_code == 2
    assert "line 1: not UTF-8 text (byte 0xe9)" in _one_clean_line(result.stderr)


def _file_in_the_way(tmp: Path) -> tuple[Path, str]:
    (tmp / "data").write_text("not a directory", encoding="utf-8")
    return tmp / "data", "data directory {path}: exists and is not a directory"


def _under_a_file(tmp: Path) -> tuple[Path, str]:
    (tmp / "data").write_text("not a directory", encoding="utf-8")
    return tmp / "data" / "storywatch", "data directory {path}: cannot be created (Not a directory)"


def _read_only(tmp: Path) -> tuple[Path, str]:
    if os.geteuid() == 0:
        pytest.skip("root writes into a read-only directory; /proc/self covers this case for root")
    (tmp / "data").mkdir(mode=0o500)
    return tmp / "data", "data directory {path}: not writable"


def _proc_self(tmp: Path) -> tuple[Path, str]:
    if not Path("/proc/self").is_dir():
        pytest.skip("needs Linux's /proc")
    return Path("/proc/self"), "data directory {path}: not writable"


DATA_DIR_CASES = [_file_in_the_way, _under_a_file, _read_only, _proc_self]


@pytest.mark.parametrize("command", STORE_COMMANDS, ids=" ".join)
@pytest.mark.parametrize("make", DATA_DIR_CASES, ids=lambda make: make.__name__.strip("_"))
def test_a_data_directory_that_cannot_hold_the_database_is_one_line_and_exit_1(
    tmp_path: Path, make: Callable[[Path], tuple[Path, str]], command: list[str]
) -> None:
    data_dir, reason = make(tmp_path)
    config = tmp_path / "storywatch.toml"
    config.write_text(f'data_dir = "{data_dir}"\n', encoding="utf-8")
    result = CliRunner().invoke(app, ["--config", str(config), *_command_files(tmp_path, command)])
    assert result.exit_code == 1, (result.output, result.stderr)
    line = _one_clean_line(result.stderr)
    if command == ["db", "check"]:
        # A check creates nothing: it reports the database file it cannot find.
        assert f"{data_dir / 'storywatch.sqlite'}: no such database file" in line
    else:
        assert reason.format(path=data_dir) in line


def test_the_demo_refuses_a_data_directory_it_cannot_use(tmp_path: Path) -> None:
    (tmp_path / "data").write_text("not a directory", encoding="utf-8")
    result = CliRunner().invoke(app, ["demo", "--data-dir", str(tmp_path / "data")])
    assert result.exit_code == 1
    assert f"data directory {tmp_path / 'data'}: exists and is not a directory" in _one_clean_line(
        result.stderr
    )


@pytest.mark.parametrize(
    ("url", "where"),
    [
        ("postgresql://db.invalid/news?password=x", "password= in the query string"),
        ("postgresql:///news?user=sw&PASSWORD=x", "PASSWORD= in the query string"),
        ("postgresql://sw:x@db.invalid/news", "user:password@"),
        ("postgresql://db.invalid/news?sslpassword=x", "sslpassword= in the query string"),
    ],
)
def test_a_secret_in_the_database_url_is_refused_from_the_file(tmp_path: Path, url: str, where: str) -> None:
    config = tmp_path / "storywatch.toml"
    config.write_text(f'database_url = "{url}"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="database_url: holds a password") as info:
        load_settings(config, env={})
    assert where in str(info.value)
    # The same URL from the environment is where a secret belongs.
    assert load_settings(None, env={"STORYWATCH_DATABASE_URL": url}).database_url == url


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://sw@db.invalid/news",
        "postgresql://db.invalid/news?passfile=/etc/sw.pgpass",
        "sqlite:////srv/a@b/x.db",
    ],
)
def test_a_database_url_without_a_secret_is_accepted(tmp_path: Path, url: str) -> None:
    config = tmp_path / "storywatch.toml"
    config.write_text(f'database_url = "{url}"\n', encoding="utf-8")
    assert load_settings(config, env={}).database_url == url


def test_a_byte_order_mark_is_not_part_of_the_toml(tmp_path: Path) -> None:
    config = tmp_path / "storywatch.toml"
    config.write_bytes(b'\xef\xbb\xbflog_level = "DEBUG"\n')
    assert load_settings(config, env={}).log_level == "DEBUG"


def test_the_console_script_prints_one_line_and_exits_2(tmp_path: Path) -> None:
    config = tmp_path / "storywatch.toml"
    config.write_bytes(b"admins = [\xff]\n")
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "--config", str(config), "status"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    assert _one_clean_line(done.stderr) == (
        f"configuration error: {config}: line 1: not UTF-8 text (byte 0xff)"
    )
