"""SSRF through the ways URLs enter: `sources add` (and the feed a site page links), OPML import and
the config file. Hostile URLs are refused with a clear reason before any connection or lookup."""

from __future__ import annotations

import ipaddress
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.clock import ManualClock
from bot.config import ConfigError, IngestSettings, Settings, SourceSettings
from bot.operations.sources import SourceError, add_source_checked, import_opml
from bot.services.config_sync import sync_config
from bot.store import Store, open_store
from bot.store.sources import list_source_statuses, list_sources
from tests.fakes.feed_server import FeedServer
from tests.security.socket_guard import SocketGuard, install_socket_guard

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
FEED = b'<rss version="2.0"><channel><title>Good feed</title></channel></rss>'
# Python versions print IPv4-mapped addresses differently; the guard prints what Python prints.
MAPPED = ipaddress.ip_address("::ffff:10.0.0.1")
INGEST = IngestSettings(allowed_private_hosts=("127.0.0.1",), politeness_delay_s=0, timeout_s=5)

USERINFO = "refused: URLs with a user name or password are not fetched"

# (href a site page links as its feed, with {v} for the victim's port; the reason users see)
LINKED = [
    ("http://１２７.０.０.２:{v}/feed", "refused: 127.0.0.2 is a loopback address"),
    ("http://127。0。0。2:{v}/feed", "refused: 127.0.0.2 is a loopback address"),
    ("http://１６９.２５４.１６９.２５４/latest/", "refused: 169.254.169.254 is a cloud metadata address"),
    ("http://2130706434:{v}/feed", "refused: 2130706434 is a non-standard form of the IP address 127.0.0.2"),
    ("http://0x7f.2:{v}/feed", "refused: 0x7f.2 is a non-standard form of the IP address 127.0.0.2"),
    ("http://[64:ff9b::a9fe:a9fe]/", "IPv6 form of 169.254.169.254, a cloud metadata address"),
    ("http://[fe80::1%25eth0]/", "refused: fe80::1 is a link-local address"),
    ("http://news.example@127.0.0.2:{v}/feed", USERINFO),
]


def page(href: str) -> bytes:
    return (
        f'<!DOCTYPE html><html><head><link rel="alternate" type="application/rss+xml" href="{href}">'.encode()
    )


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await open_store(f"sqlite+aiosqlite:///{tmp_path / 'ssrf.sqlite'}")
    yield opened
    await opened.close()


@pytest.fixture
async def feed() -> AsyncIterator[FeedServer]:
    async with FeedServer() as running:
        yield running


@pytest.fixture
async def victim() -> AsyncIterator[FeedServer]:
    async with FeedServer(host="127.0.0.2") as running:
        running.add("/feed", FEED)
        yield running


@pytest.fixture
def guard(monkeypatch: pytest.MonkeyPatch, feed: FeedServer) -> SocketGuard:
    installed = install_socket_guard(monkeypatch)
    installed.allow("127.0.0.1", feed.port)
    return installed


@pytest.mark.parametrize(("href", "reason"), LINKED, ids=[href.split("/")[2] for href, _ in LINKED])
async def test_autodiscovery_refuses_a_hostile_feed_link_before_connecting(
    store: Store,
    tmp_path: Path,
    feed: FeedServer,
    victim: FeedServer,
    guard: SocketGuard,
    href: str,
    reason: str,
) -> None:
    feed.add("/site", page(href.format(v=victim.port)), content_type="text/html")
    settings = Settings(data_dir=tmp_path, ingest=INGEST)
    with pytest.raises(SourceError) as caught:
        await add_source_checked(store, settings, ManualClock(NOW), feed.url("/site"))
    assert reason in str(caught.value)
    assert str(caught.value).endswith(f"(the feed linked from {feed.url('/site')})")
    assert guard.attempts == [("127.0.0.1", feed.port)]
    assert (guard.blocked, guard.lookups, victim.requests) == ([], [], [])
    assert await list_sources(store) == []


async def test_autodiscovery_skips_a_refused_link_for_an_allowed_one(
    store: Store, tmp_path: Path, feed: FeedServer, guard: SocketGuard
) -> None:
    feed.add("/feed.xml", FEED)
    links = page("http://１６９.２５４.１６９.２５４/") + page(feed.url("/feed.xml"))
    feed.add("/site", links, content_type="text/html")
    source, note = await add_source_checked(
        store, Settings(data_dir=tmp_path, ingest=INGEST), ManualClock(NOW), feed.url("/site")
    )
    assert (source.url, source.title, note) == (
        feed.url("/feed.xml"),
        "Good feed",
        f"the feed linked from {feed.url('/site')}",
    )
    assert guard.blocked == []


@pytest.mark.parametrize("check", [True, False])
async def test_sources_add_refuses_hostile_urls_with_or_without_fetching(
    store: Store, tmp_path: Path, guard: SocketGuard, check: bool
) -> None:
    settings = Settings(data_dir=tmp_path, ingest=INGEST)
    cases = {
        "http://１０。０。０。１/feed": "refused: 10.0.0.1 is a private address",
        "http://0177.0.0.1/feed": "refused: 0177.0.0.1 is a non-standard form of the IP address 127.0.0.1",
        "https://bank.example@evil.example/feed": USERINFO,
    }
    for url, reason in cases.items():
        with pytest.raises(SourceError) as caught:
            await add_source_checked(store, settings, ManualClock(NOW), url, check=check)
        assert str(caught.value) == reason
    assert (guard.attempts, guard.lookups, await list_sources(store)) == ([], [], [])


async def test_opml_import_refuses_hostile_feed_urls_and_keeps_the_good(
    store: Store, guard: SocketGuard
) -> None:
    opml = """<?xml version="1.0"?><opml version="2.0"><head/><body>
<outline text="Good" xmlUrl="https://good.example/rss" htmlUrl="https://bank.example@evil.example/"/>
<outline text="Fullwidth" xmlUrl="http://１６９.２５４.１６９.２５４/latest/"/>
<outline text="Ideographic" xmlUrl="http://127。0。0。1/feed"/>
<outline text="Decimal" xmlUrl="http://2130706433/feed"/>
<outline text="Mapped" xmlUrl="http://[::ffff:10.0.0.1]/feed"/>
<outline text="NAT64" xmlUrl="http://[64:ff9b:1::a00:1]/feed"/>
<outline text="Userinfo" xmlUrl="https://bank.example@evil.example/feed"/>
</body></opml>""".encode()
    report = await import_opml(store, ManualClock(NOW), opml)
    assert (report.added, report.existing) == (1, 0)
    assert report.problems == [
        "line 3: 'Fullwidth': refused: 169.254.169.254 is a cloud metadata address",
        "line 4: 'Ideographic': refused: 127.0.0.1 is a loopback address",
        "line 5: 'Decimal': refused: 2130706433 is a non-standard form of the IP address 127.0.0.1",
        f"line 6: 'Mapped': refused: {MAPPED} is an IPv6 form of 10.0.0.1, a private address",
        "line 7: 'NAT64': refused: 64:ff9b:1::a00:1 is a local-use NAT64 address",
        f"line 8: 'Userinfo': {USERINFO}",
    ]
    [status] = await list_source_statuses(store)
    assert (status.source.url, status.site_url) == ("https://good.example/rss", None)
    assert (guard.attempts, guard.lookups) == ([], [])


async def test_opml_import_follows_the_operators_private_source_rules(store: Store) -> None:
    opml = b'<opml version="2.0"><body><outline text="LAN" xmlUrl="http://192.168.1.5/feed"/></body></opml>'
    lan = IngestSettings(allow_private_sources=True)
    assert (await import_opml(store, ManualClock(NOW), opml, ingest=lan)).added == 1
    strict = await import_opml(store, ManualClock(NOW), opml.replace(b"1.5", b"1.6"))
    assert strict.problems == ["line 1: 'LAN': refused: 192.168.1.6 is a private address"]


async def test_a_config_file_source_is_refused_with_its_key(store: Store, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, sources=(SourceSettings(url="http://２１３０７０６４３３/feed"),))
    with pytest.raises(ConfigError) as caught:
        await sync_config(store, settings, now=NOW)
    assert str(caught.value) == (
        "sources.0.url: refused: 2130706433 is a non-standard form of the IP address 127.0.0.1"
    )
    assert await list_sources(store) == []
