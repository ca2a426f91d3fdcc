"""Hostile feed and server text on the operator's terminal, through the real `storywatch` entry point.

Each hostile string is stored where a feed, a server or a chat member can put it (a source's title, its
last fetch error, a disable reason, a topic name, a lease owner), or sent live by a loopback server as
its HTTP reason phrase; then every command that shows such text runs. None may crash, write an escape
sequence, a C1 control or a bidi character, or read the text as rich markup.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import pty
import select
import shutil
import socket
import subprocess
import sys
import threading
from pathlib import Path
from xml.sax.saxutils import quoteattr

import pytest
from click.testing import Result
from lxml import etree
from typer.testing import CliRunner

from bot.cli import app
from bot.terminal import SafeConsole, clean_excepthook
from tests.security.hostile_text import (
    FORBIDDEN,
    HOSTILE,
    HUGE,
    SGR,
    Hostile,
    assert_inert,
    store_hostile,
)

# Wide enough that no table cell wraps, so each value can be found whole in the output.
RUNNER = CliRunner(env={"COLUMNS": "2000", "NO_COLOR": "1"})


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "storywatch.toml"
    path.write_text(
        f'data_dir = "{tmp_path / "data"}"\n'
        "[ingest]\n"
        'allowed_private_hosts = ["127.0.0.1"]\n'
        "politeness_delay_s = 0\n"
        'contact = "tests@storywatch.invalid"\n'
    )
    return path


def database(tmp_path: Path) -> Path:
    """The SQLite file the `config` fixture's data_dir holds, its folder made."""
    (tmp_path / "data").mkdir(exist_ok=True)
    return tmp_path / "data" / "storywatch.sqlite"


def invoke(config: Path, *args: str) -> Result:
    result = RUNNER.invoke(app, ["--config", str(config), *args])
    # An exit of any status is a handled end; anything else escaped the command.
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result


def shows(output: str, case: Hostile) -> bool:
    return case.shown in output


@pytest.mark.parametrize("case", HOSTILE, ids=str)
def test_status_and_sources_list_show_stored_text_inertly(
    config: Path, tmp_path: Path, case: Hostile
) -> None:
    asyncio.run(store_hostile(database(tmp_path), (case,)))
    for command in (["status"], ["sources", "list"]):
        result = invoke(config, *command)
        where = " ".join(command)
        assert result.exit_code == 0, (where, result.output[-2000:])
        assert_inert(result.output, where)
        assert shows(result.output, case), (where, result.output[-2000:])
        # A megabyte of title is clipped to a cell, not printed whole.
        assert len(result.output) < 20_000, where


@pytest.mark.parametrize("case", HOSTILE, ids=str)
def test_db_check_shows_a_stored_lease_owner_inertly(config: Path, tmp_path: Path, case: Hostile) -> None:
    asyncio.run(store_hostile(database(tmp_path), (case,)))
    result = invoke(config, "db", "check")
    assert result.exit_code == 1 and "lease(s) expired" in result.stderr
    assert_inert(result.output, "db check")
    assert shows(result.stderr, case)


@pytest.mark.parametrize("case", HOSTILE, ids=str)
def test_sources_export_writes_clean_titles(config: Path, tmp_path: Path, case: Hostile) -> None:
    asyncio.run(store_hostile(database(tmp_path), (case,)))
    result = invoke(config, "sources", "export")
    assert result.exit_code == 0, result.stderr
    assert_inert(result.stdout_bytes.decode("utf-8"), "sources export")
    root = etree.fromstring(result.stdout_bytes, etree.XMLParser(huge_tree=True))
    titles = [outline.get("title") or "" for outline in root.iter("outline")]
    expected = HUGE if case.raw == HUGE else case.shown
    assert expected in titles, titles[:1]


def opml_with(case: Hostile) -> bytes:
    title = quoteattr(case.raw)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<opml version="2.0"><body>\n'
        f'<outline type="rss" title={title} text={title}/>\n'
        f'<outline type="rss" title={title} xmlUrl={quoteattr("ftp://x.example/" + case.raw)}/>\n'
        "</body></opml>\n"
    ).encode("utf-8", "surrogatepass")


@pytest.mark.parametrize("case", HOSTILE, ids=str)
def test_sources_import_reports_hostile_outlines_inertly(config: Path, tmp_path: Path, case: Hostile) -> None:
    path = tmp_path / "hostile.opml"
    path.write_bytes(opml_with(case))
    result = invoke(config, "sources", "import", str(path))
    assert_inert(result.output, "sources import")
    if result.exit_code == 0:
        # XML carried the string: both outlines are skipped, each with one line quoting it.
        assert result.stderr.count("skipped:") == 2 and case.shown[:60] in result.stderr
    else:
        # XML cannot carry it (ESC, BEL, backspace): one error line for the document.
        assert result.exit_code == 1 and result.stderr.startswith("error: OPML:")
        assert result.stderr.count("\n") == 1


class HostileReasonServer:
    """An HTTP server on loopback whose every answer is `500 <reason>`, the reason sent as raw bytes."""

    def __init__(self, reason: bytes) -> None:
        self.reason = reason
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def _serve(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                conn, _ = self._listener.accept()
                with conn:
                    request = b""
                    while b"\r\n\r\n" not in request and (chunk := conn.recv(4096)):
                        request += chunk
                    head = b"HTTP/1.1 500 " + self.reason + b"\r\nContent-Length: 0\r\n"
                    conn.sendall(head + b"Connection: close\r\n\r\n")

    def __enter__(self) -> HostileReasonServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._listener.close()


@pytest.mark.parametrize("case", HOSTILE, ids=str)
def test_poll_and_sources_add_show_a_servers_reason_inertly(
    config: Path, tmp_path: Path, case: Hostile
) -> None:
    with HostileReasonServer(case.raw.encode()) as server:
        added = invoke(config, "sources", "add", server.url("/feed.xml"))
        assert added.exit_code == 1 and added.stderr.startswith("error:")
        assert_inert(added.output, "sources add")
        assert case.raw == HUGE or shows(added.stderr, case)
        added = invoke(config, "sources", "add", "--no-check", server.url("/feed.xml"))
        assert added.exit_code == 0, added.stderr
        polled = invoke(config, "poll", "--once")
    assert polled.exit_code == 0, polled.output[-2000:]
    assert_inert(polled.output, "poll")
    assert "polled 1 sources: 0 new articles, 0 duplicates folded, 1 errors" in polled.stdout
    assert polled.stderr.startswith("source #1 ") and polled.stderr.count("\n") == 1
    if case.raw != HUGE and not FORBIDDEN.search(case.raw):
        # Markup and mentions show as written. (The poll keeps errors as ingest cleaned them, and a
        # megabyte status line is refused by the HTTP client, which says so in its own words.)
        assert shows(polled.stderr, case)


def test_a_failing_poll_logs_the_servers_reason_inertly(config: Path) -> None:
    case = HOSTILE[0]
    with HostileReasonServer(case.raw.encode()) as server:
        assert invoke(config, "sources", "add", "--no-check", server.url("/feed.xml")).exit_code == 0
        polled = invoke(config, "--verbose", "poll", "--once")
    assert polled.exit_code == 0
    assert_inert(polled.output, "poll --verbose")


def read_all(fd: int) -> bytes:
    chunks = []
    while True:
        ready, _, _ = select.select([fd], [], [], 30)
        if not ready:
            break
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


def under_a_terminal(config: Path, *args: str) -> str:
    """`storywatch ARGS` with stdout and stderr on a pseudo-terminal, as an operator runs it."""
    leader, follower = pty.openpty()
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "2000"}
    env.pop("NO_COLOR", None)
    with subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "--config", str(config), *args],
        stdin=subprocess.DEVNULL,
        stdout=follower,
        stderr=follower,
        env=env,
    ) as proc:
        os.close(follower)
        try:
            raw = read_all(leader)
        finally:
            os.close(leader)
        assert proc.wait(60) == 0, raw[-2000:]
    return raw.decode("utf-8")


def test_every_hostile_string_at_once_on_a_real_terminal(config: Path, tmp_path: Path) -> None:
    asyncio.run(store_hostile(database(tmp_path), HOSTILE))
    for command in (["status"], ["sources", "list"]):
        printed = under_a_terminal(config, *command)
        # rich styles a terminal's output with SGR sequences; nothing else may be there.
        assert SGR.search(printed), "rich wrote no colours: the test is not on a terminal"
        visible = SGR.sub("", printed).replace("\r\n", "\n")
        assert_inert(visible, " ".join(command))
        for case in HOSTILE:
            assert case.shown in visible, (command, case.name)


def hostile_seeds(folder: Path) -> Path:
    """A seeds folder for the demo: the sample configuration and one JSON Feed whose outlet name and
    items (about North Korea, so the demo's channel is alerted) carry every hostile string."""
    feeds = folder / "feeds"
    feeds.mkdir(parents=True)
    shutil.copy(Path(__file__).resolve().parents[2] / "seeds" / "storywatch.toml", folder / "storywatch.toml")
    items, entries = [], []
    for n, case in enumerate(HOSTILE):
        guid = f"tag:hostile.example,2025:{n}"
        published = f"2025-{1 + n % 12:02d}-{1 + n:02d}T0{n % 10}:00:00Z"
        items.append(
            {
                "id": guid,
                "url": f"https://hostile.example/{n}",
                "title": f"North Korea talks {n}: {case.raw}",
                "content_text": f"Pyongyang said {case.raw} about the summit {n}.",
                "date_published": published,
            }
        )
        entries.append({"guid": guid, "published": published})
    outlet = "Hostile " + " ".join(case.raw for case in HOSTILE if len(case.raw) < 100)
    document = {"version": "https://jsonfeed.org/version/1.1", "title": outlet, "items": items}
    (feeds / "hostile.json").write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    record = {"file": "hostile.json", "outlet": outlet, "format": "json", "entries": entries}
    record["content_type"] = "application/feed+json"
    (feeds / "index.json").write_text(json.dumps([record], ensure_ascii=False), encoding="utf-8")
    return folder


def test_the_demo_shows_hostile_feed_text_inertly(tmp_path: Path) -> None:
    from bot.demo.session import run_demo

    output = io.StringIO()
    console = SafeConsole(file=output, width=2000, soft_wrap=True)
    seeds = hostile_seeds(tmp_path / "seeds")
    asyncio.run(run_demo(tmp_path / "data", console, seeds, verbose=True))
    printed = output.getvalue()
    assert_inert(printed, "demo")
    assert printed.splitlines()[-1].startswith("summary: articles=")
    for case in HOSTILE:
        if not FORBIDDEN.search(case.raw) and case.raw != HUGE:
            # Each article's poll line shows its title as written, markup and mentions included.
            assert f"talks {HOSTILE.index(case)}: {case.shown}" in printed, case.name


def test_an_uncaught_exception_quoting_feed_text_is_cleaned(capsys: pytest.CaptureFixture[str]) -> None:
    case = HOSTILE[0]
    try:
        raise ValueError(f"bad title {case.raw} [/]")
    except ValueError as exc:
        clean_excepthook(ValueError, exc, exc.__traceback__)
    printed = capsys.readouterr().err
    assert printed.startswith("Traceback (most recent call last):")
    assert_inert(printed, "traceback")
    assert f"ValueError: bad title {case.shown} [/]" in printed
