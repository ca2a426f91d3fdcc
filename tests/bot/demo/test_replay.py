"""The replay feed server over real loopback HTTP: entries appear with the clock, caching headers behave."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import aiohttp
import feedparser
import pytest
from multidict import CIMultiDict

from bot.clock import FastClock, ManualClock
from bot.demo import ReplayServer, SeedError, SeedFeed, default_seeds_dir, start_replay_server

SEEDS = default_seeds_dir()
START = datetime(2017, 1, 1, tzinfo=UTC)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
async def server(clock: ManualClock) -> AsyncIterator[ReplayServer]:
    replay = await start_replay_server(SEEDS, clock)
    yield replay
    await replay.stop()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
        yield session


def _feed(server: ReplayServer, file: str) -> SeedFeed:
    return next(feed for feed in server.feeds if feed.file == file)


def _ids(feed: SeedFeed, body: bytes) -> list[str]:
    if feed.format == "json":
        return [item["id"] for item in json.loads(body)["items"]]
    parsed = feedparser.parse(body)
    assert not parsed.bozo, parsed.get("bozo_exception")
    return [entry.id for entry in parsed.entries]


async def _get(http: aiohttp.ClientSession, url: str, **headers: str) -> tuple[int, CIMultiDict[str], bytes]:
    async with http.get(url, headers=headers) as response:
        return response.status, response.headers.copy(), await response.read()


async def test_server_reports_its_feeds_and_time_span(server: ReplayServer) -> None:
    assert server.base_url.startswith("http://127.0.0.1:")
    assert len(server.feed_urls) == len(server.feeds) == 67
    assert server.entry_count == 259
    assert server.first_published == datetime(2017, 11, 27, 10, 42, 32, tzinfo=UTC)
    assert server.last_published == datetime(2025, 12, 20, 1, 45, 7, tzinfo=UTC)


@pytest.mark.parametrize("file", ["the-guardian.xml", "dw.xml", "reuters.json"])
async def test_entries_appear_as_the_clock_advances(
    server: ReplayServer, clock: ManualClock, http: aiohttp.ClientSession, file: str
) -> None:
    feed = _feed(server, file)
    url = server.feed_url(feed)
    status, headers, body = await _get(http, url)
    assert status == 200 and _ids(feed, body) == []
    assert headers["Content-Type"] == feed.content_type
    for count, entry in enumerate(feed.entries[:6], start=1):
        clock.set(entry.published - timedelta(seconds=1))
        _, _, body = await _get(http, url)
        assert len(_ids(feed, body)) == count - 1
        clock.set(entry.published)
        _, headers, body = await _get(http, url)
        ids = _ids(feed, body)
        assert ids[0] == entry.guid and len(ids) == count, "newest first, one more each time"
        assert headers["Last-Modified"] == format_datetime(entry.published, usegmt=True)


async def test_conditional_requests_get_304_until_a_new_entry_is_visible(
    server: ReplayServer, clock: ManualClock, http: aiohttp.ClientSession
) -> None:
    feed = _feed(server, "yonhap.xml")
    url = server.feed_url(feed)
    first, second = feed.entries[0], feed.entries[1]
    clock.set(first.published)
    status, headers, _ = await _get(http, url)
    etag, last_modified = headers["ETag"], headers["Last-Modified"]
    assert status == 200

    clock.set(second.published - timedelta(seconds=1))
    status, headers, body = await _get(http, url, **{"If-None-Match": etag})
    assert (status, body, headers["ETag"]) == (304, b"", etag)
    status, _, _ = await _get(http, url, **{"If-Modified-Since": last_modified})
    assert status == 304
    status, _, _ = await _get(http, url, **{"If-None-Match": f'W/{etag}, "other"'})
    assert status == 304

    clock.set(second.published)
    status, headers, body = await _get(http, url, **{"If-None-Match": etag})
    assert status == 200 and headers["ETag"] != etag
    assert headers["Last-Modified"] == format_datetime(second.published, usegmt=True)
    assert _ids(feed, body)[0] == second.guid
    status, _, _ = await _get(http, url, **{"If-Modified-Since": last_modified})
    assert status == 200
    # If-None-Match wins: a stale tag gets the document even with a recent If-Modified-Since.
    status, _, _ = await _get(
        http, url, **{"If-None-Match": etag, "If-Modified-Since": format_datetime(clock.now(), usegmt=True)}
    )
    assert status == 200
    assert server.stats.not_modified == 3
    assert server.stats.feed_requests == 7
    assert server.stats.requests >= 7 and server.stats.bytes_sent > 0


async def test_etag_is_stable_while_nothing_changes(
    server: ReplayServer, clock: ManualClock, http: aiohttp.ClientSession
) -> None:
    clock.set(datetime(2019, 1, 1, tzinfo=UTC))
    url = server.feed_urls[0]
    _, headers, body = await _get(http, url)
    clock.advance(3600)
    _, again, body_again = await _get(http, url)
    assert (again["ETag"], again.get("Last-Modified"), body_again) == (
        headers["ETag"],
        headers.get("Last-Modified"),
        body,
    )


async def test_feeds_are_capped_at_max_entries(clock: ManualClock, http: aiohttp.ClientSession) -> None:
    clock.set(datetime(2030, 1, 1, tzinfo=UTC))
    async with await start_replay_server(SEEDS / "feeds", clock, max_entries=5) as replay:
        feed = _feed(replay, "reuters.json")
        _, _, body = await _get(http, replay.feed_url(feed))
        assert _ids(feed, body) == [entry.guid for entry in reversed(feed.entries[-5:])]


@pytest.mark.parametrize("when", ["2017-01-01", "2018-06-01", "2022-10-01", "2030-01-01"])
async def test_every_feed_is_well_formed_at_any_moment(
    server: ReplayServer, clock: ManualClock, http: aiohttp.ClientSession, when: str
) -> None:
    clock.set(datetime.fromisoformat(when).replace(tzinfo=UTC))
    for feed in server.feeds:
        status, headers, body = await _get(http, server.feed_url(feed))
        assert status == 200 and headers["Content-Type"] == feed.content_type
        expected = [e.guid for e in reversed(feed.visible(clock.now(), 20))]
        assert sorted(_ids(feed, body)) == sorted(expected)
        if feed.format == "json":
            assert json.loads(body)["feed_url"] == server.feed_url(feed)
        else:
            ElementTree.fromstring(body)
            assert f'href="{server.feed_url(feed)}" rel="self"' in body.decode()


async def test_committed_markup_is_served_as_is(
    server: ReplayServer, clock: ManualClock, http: aiohttp.ClientSession
) -> None:
    clock.set(datetime(2030, 1, 1, tzinfo=UTC))
    _, _, body = await _get(http, server.feed_url(_feed(server, "the-guardian.xml")))
    committed = (SEEDS / "feeds" / "the-guardian.xml").read_text(encoding="utf-8")
    assert "<![CDATA[" in committed and "<![CDATA[" in body.decode()


async def test_unknown_feed_is_404(server: ReplayServer, http: aiohttp.ClientSession) -> None:
    status, _, _ = await _get(http, f"{server.base_url}/feeds/nope.xml")
    assert status == 404


class _LinkCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "link":
            self.links.append(dict(attrs))


async def test_index_page_has_autodiscovery_links(server: ReplayServer, http: aiohttp.ClientSession) -> None:
    status, headers, body = await _get(http, server.index_url)
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    collector = _LinkCollector()
    collector.feed(body.decode())
    alternates = {link["href"]: link["type"] for link in collector.links if link.get("rel") == "alternate"}
    assert alternates == {server.feed_url(feed): feed.media_type for feed in server.feeds}


async def test_opml_lists_every_feed(server: ReplayServer, http: aiohttp.ClientSession) -> None:
    status, headers, body = await _get(http, server.opml_url)
    assert status == 200 and headers["Content-Type"].startswith("text/x-opml")
    root = ElementTree.fromstring(body)
    assert root.tag == "opml" and root.get("version") == "2.0"
    outlines: list[Any] = root.findall("./body/outline")
    assert {o.get("xmlUrl") for o in outlines} == set(server.feed_urls)
    assert all(o.get("text") and o.get("htmlUrl", "").startswith("https://") for o in outlines)


async def test_fast_clock_replays_days_in_moments(
    http: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    wall = [1000.0]
    monkeypatch.setattr("bot.clock._monotonic", lambda: wall[0])
    clock = FastClock(datetime(2019, 2, 27, tzinfo=UTC), factor=86400)
    async with await start_replay_server(SEEDS, clock) as replay:
        feed = _feed(replay, "associated-press.xml")
        _, _, before = await _get(http, replay.feed_url(feed))
        wall[0] += 3.0  # three seconds of wall time: three days of news
        _, _, after = await _get(http, replay.feed_url(feed))
        assert len(_ids(feed, after)) > len(_ids(feed, before))


async def test_missing_seed_folder_is_a_clear_error(tmp_path: Path, clock: ManualClock) -> None:
    with pytest.raises(SeedError, match=r"index\.json"):
        await start_replay_server(tmp_path, clock)


async def test_feed_disagreeing_with_index_is_refused(tmp_path: Path, clock: ManualClock) -> None:
    index = json.loads((SEEDS / "feeds" / "index.json").read_text(encoding="utf-8"))
    record = next(r for r in index if r["file"] == "dw.xml")
    record["entries"] = record["entries"][1:]
    (tmp_path / "index.json").write_text(json.dumps([record]), encoding="utf-8")
    (tmp_path / "dw.xml").write_bytes((SEEDS / "feeds" / "dw.xml").read_bytes())
    with pytest.raises(SeedError, match=r"dw\.xml: the entries in the file and in index\.json differ"):
        await start_replay_server(tmp_path, clock)
