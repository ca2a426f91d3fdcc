"""Feed URLs that no feed has: a megabyte long, or with line breaks, controls or bidi characters.

They came in through an OPML list, `sources add` or the config file and were stored as sources (a
1 MB row, shown in every `sources` reply), and a server could move a source to one by a permanent
redirect. Each way in now refuses them with the guard's one reason, before any connection.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.clock import ManualClock
from bot.config import ConfigError, IngestSettings, Settings, SourceSettings
from bot.ingest.fetch import Fetcher, FetchError
from bot.operations.sources import SourceError, add_source_checked, import_opml
from bot.services.config_sync import sync_config
from bot.store import Store, open_store
from bot.store.sources import list_sources
from tests.fakes.feed_server import FeedServer
from tests.security import hostile_feeds as hostile

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
TOO_LONG = "refused: a URL longer than 2,048 characters"
UNSEEN = "refused: a URL with line breaks, control or invisible characters"
BAD = [
    ("https://a.example/" + "u" * 1_000_000, TOO_LONG),
    ("https://a.example/feed\nx", UNSEEN),
    ("https://a.example/feed\tx", UNSEEN),
    ("https://a.example/\u202efeed", UNSEEN),
    ("https://a.example/feed\x00", UNSEEN),
    ("https://a.example/feed\u200b", UNSEEN),
]


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await open_store(f"sqlite+aiosqlite:///{tmp_path / 'urls.sqlite'}")
    yield opened
    await opened.close()


def outline(url: str, text: str) -> str:
    escaped = url.replace("&", "&amp;").replace("\n", "&#10;").replace("\t", "&#9;").replace("\x00", "")
    return f'<outline text="{text}" xmlUrl="{escaped}"/>'


async def test_opml_reports_them_and_imports_the_rest(store: Store) -> None:
    body = "\n".join(outline(url, f"bad{n}") for n, (url, _) in enumerate(BAD) if "\x00" not in url)
    opml = f'<opml version="2.0"><body>\n<outline text="ok" xmlUrl="https://good.example/rss"/>\n{body}\n</body></opml>'
    report = await import_opml(store, ManualClock(NOW), opml.encode())
    assert report.added == 1
    assert [problem.split(": ", 2)[2] for problem in report.problems] == [
        reason for url, reason in BAD if "\x00" not in url
    ]
    assert [source.url for source in await list_sources(store)] == ["https://good.example/rss"]


@pytest.mark.parametrize(("url", "reason"), BAD, ids=lambda v: repr(v)[:30])
async def test_sources_add_refuses_them(store: Store, tmp_path: Path, url: str, reason: str) -> None:
    settings = Settings(data_dir=tmp_path)
    with pytest.raises(SourceError) as caught:
        await add_source_checked(store, settings, ManualClock(NOW), url, check=False)
    assert str(caught.value) == reason
    with pytest.raises(ConfigError) as config_error:
        await sync_config(store, Settings(data_dir=tmp_path, sources=(SourceSettings(url=url),)), now=NOW)
    assert str(config_error.value) == f"sources.0.url: {reason}"
    assert await list_sources(store) == []


async def test_a_redirect_to_one_is_refused() -> None:
    settings = IngestSettings(allowed_private_hosts=("127.0.0.1",), politeness_delay_s=0)
    async with FeedServer() as server:
        long_path = "/" + "a" * 3000
        server.redirect("/moved", long_path, status=308)
        server.add(long_path, hostile.rss("Long", [("Long", "https://long.example/1")]))
        async with Fetcher(settings, ManualClock(NOW)) as fetcher:
            with pytest.raises(FetchError) as caught:
                await fetcher.fetch(server.url("/moved"))
    assert (caught.value.reason, caught.value.kind) == (TOO_LONG, "refused")


async def test_autodiscovery_skips_a_linked_one_for_a_good_one(store: Store, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, ingest=IngestSettings(allowed_private_hosts=("127.0.0.1",)))
    async with FeedServer() as server:
        good = hostile.rss("Good", [("Good", "https://good.example/1")])
        server.add("/feed.xml", good)
        links = "".join(
            f'<link rel="alternate" type="application/rss+xml" href="{href}">'
            for href in ("/" + "a" * 3000, "/feed&#x202e;.xml", "/feed.xml")
        )
        server.add("/site", f"<html><head>{links}</head></html>".encode(), content_type="text/html")
        source, _ = await add_source_checked(store, settings, ManualClock(NOW), server.url("/site"))
        assert source.url == server.url("/feed.xml")
        only = f'<link rel="alternate" type="application/rss+xml" href="/{"a" * 3000}">'
        server.add("/only", only, content_type="text/html")
        with pytest.raises(SourceError) as caught:
            await add_source_checked(store, settings, ManualClock(NOW), server.url("/only"))
    assert str(caught.value) == f"{TOO_LONG} (the feed linked from {server.url('/only')})"
    assert [s.url for s in await list_sources(store)] == [server.url("/feed.xml")]
