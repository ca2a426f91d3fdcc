"""The `storywatch` command line as a user runs it: a subprocess, a config file, feeds over loopback."""

from __future__ import annotations

import asyncio
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.bot.pipeline.test_polling import rss
from tests.fakes.feed_server import FeedServer


@dataclass
class Run:
    code: int
    out: str
    err: str


async def storywatch(
    *args: str, config: Path | None = None, wait_s: float = 60, env: dict[str, str] | None = None
) -> Run:
    argv = [sys.executable, "-m", "bot.cli"]
    if config is not None:
        argv += ["--config", str(config)]
    proc = await asyncio.create_subprocess_exec(
        *argv,
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, **(env or {})},
    )
    out, err = await asyncio.wait_for(proc.communicate(), wait_s)
    return Run(proc.returncode or 0, out.decode(), err.decode())


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


async def test_sources_add_list_poll_export_remove(config: Path, tmp_path: Path) -> None:
    async with FeedServer() as server:
        server.add("/feed.xml", rss("Wire One", [("Talks resume", "https://w.example/1?utm_medium=x")]))
        page = f'<html><head><link rel="alternate" type="application/atom+xml" href="{server.url("/atom")}">'
        server.add("/site", page.encode(), content_type="text/html")
        atom = (
            '<feed xmlns="http://www.w3.org/2005/Atom"><title>Atom Two</title><id>urn:x</id>'
            "<updated>2025-09-29T08:00:00Z</updated><entry><title>Hello</title><id>urn:1</id>"
            '<link href="https://a.example/1"/><updated>2025-09-29T08:00:00Z</updated></entry></feed>'
        )
        server.add("/atom", atom.encode(), content_type="application/atom+xml")

        added = await storywatch("sources", "add", server.url("/feed.xml"), config=config)
        assert added.code == 0, added.err
        assert "added source #1" in added.out
        via_site = await storywatch("sources", "add", server.url("/site"), config=config)
        assert via_site.code == 0, via_site.err
        assert server.url("/atom") in via_site.out and "linked from" in via_site.out
        again = await storywatch("sources", "add", server.url("/feed.xml"), config=config)
        assert again.code == 1 and "already source #1" in again.err

        polled = await storywatch("poll", "--once", config=config)
        assert polled.code == 0, polled.err
        assert "polled 2 sources: 2 new articles" in polled.out

        listed = await storywatch("sources", "list", config=config)
        assert "Wire One" in listed.out and "Atom Two" in listed.out

        exported = await storywatch("sources", "export", config=config)
        assert exported.code == 0 and server.url("/feed.xml") in exported.out and "<opml" in exported.out

        removed = await storywatch("sources", "remove", "1", config=config)
        assert removed.code == 0 and "removed source #1" in removed.out
        missing = await storywatch("sources", "remove", "1", config=config)
        assert missing.code == 1 and "no source #1" in missing.err


async def test_bad_sources_get_one_clear_line(config: Path) -> None:
    async with FeedServer() as server:
        server.add("/plain", b"<html><body>hello</body></html>", content_type="text/html")
        no_feed = await storywatch("sources", "add", server.url("/plain"), config=config)
        assert no_feed.code == 1 and "no feed found" in no_feed.err
        server.fail("/broken", status=503)
        broken = await storywatch("sources", "add", server.url("/broken"), config=config)
        assert broken.code == 1 and "503" in broken.err
    not_http = await storywatch("sources", "add", "ftp://example.org/feed", config=config)
    assert not_http.code == 1 and "not an http(s) URL" in not_http.err
    private = await storywatch("sources", "add", "http://10.0.0.1/feed.xml", config=config)
    assert private.code == 1 and "10.0.0.1" in private.err and "private" in private.err


async def test_opml_import_reports_garbage_and_keeps_the_good(config: Path, tmp_path: Path) -> None:
    opml = tmp_path / "feeds.opml"
    opml.write_text(
        '<?xml version="1.0"?><opml version="2.0"><head/><body>'
        '<outline text="Good" xmlUrl="https://good.example/rss"/>'
        '<outline text="Folder"><outline text="Nested" xmlUrl="https://nested.example/atom"/></outline>'
        '<outline text="Bad scheme" xmlUrl="javascript:alert(1)"/>'
        '<outline text="No url" type="rss"/>'
        "</body></opml>"
    )
    run = await storywatch("sources", "import", str(opml), config=config)
    assert run.code == 0, run.err
    assert "imported 2 sources" in run.out
    assert "non-http" in run.err and "no xmlUrl" in run.err
    garbage = tmp_path / "garbage.opml"
    garbage.write_bytes(b"\x00\xffnot xml at all<<<")
    bad = await storywatch("sources", "import", str(garbage), config=config)
    assert bad.code == 1 and "OPML" in bad.err


async def test_db_upgrade_and_check(config: Path) -> None:
    upgraded = await storywatch("db", "upgrade", config=config)
    assert upgraded.code == 0 and "revision" in upgraded.out
    checked = await storywatch("db", "check", config=config)
    assert checked.code == 0 and "database ok" in checked.out


async def test_config_errors_name_the_key(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[ingest]\ntimeout_s = -1\n[slack]\nbot_token = "xoxb-nope"\n')
    run = await storywatch("sources", "list", config=bad)
    assert run.code == 2 and "slack.bot_token" in run.err and "environment" in run.err
    bad.write_text("[ingest]\ntimeout_s = -1\n")
    run = await storywatch("sources", "list", config=bad)
    assert run.code == 2 and "ingest.timeout_s" in run.err
