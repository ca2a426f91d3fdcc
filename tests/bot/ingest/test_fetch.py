"""The real Fetcher over loopback against the local feed server: caching, redirects, limits, errors."""

from __future__ import annotations

import asyncio
import time
import tracemalloc

import pytest

from bot.clock import ManualClock
from bot.config import IngestSettings
from bot.ingest.fetch import Fetcher, FetchError
from tests.fakes.feed_server import FeedServer

FEED = (
    b'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>'
    b"<item><title>A</title></item></channel></rss>"
)


async def test_ok_fetch_returns_body_headers_and_user_agent(
    server: FeedServer, settings: IngestSettings, clock: ManualClock
) -> None:
    server.add("/feed.xml", FEED, etag='"v1"', last_modified="Sun, 01 Mar 2026 10:00:00 GMT")
    async with Fetcher(settings, clock) as fetcher:
        result = await fetcher.fetch(server.url("/feed.xml"))
    assert result.status == "ok"
    assert result.body == FEED
    assert result.url == server.url("/feed.xml")
    assert result.etag == '"v1"'
    assert result.last_modified == "Sun, 01 Mar 2026 10:00:00 GMT"
    assert result.headers["content-type"].startswith("application/rss+xml")
    assert result.permanent_redirect is None
    assert server.requests[0].headers["User-Agent"] == "storywatch/0.1.0 (+mailto:ops@example.org)"
    assert "gzip" in server.requests[0].headers["Accept-Encoding"]


async def test_conditional_get_gives_not_modified(
    server: FeedServer, settings: IngestSettings, clock: ManualClock
) -> None:
    server.add("/feed.xml", FEED, etag='"v1"', last_modified="Sun, 01 Mar 2026 10:00:00 GMT")
    async with Fetcher(settings, clock) as fetcher:
        first = await fetcher.fetch(server.url("/feed.xml"))
        second = await fetcher.fetch(
            server.url("/feed.xml"), etag=first.etag, last_modified=first.last_modified
        )
        by_date = await fetcher.fetch(server.url("/feed.xml"), last_modified=first.last_modified)
    assert second.status == "not_modified"
    assert second.body == b""
    assert second.etag == '"v1"'
    assert by_date.status == "not_modified"
    assert server.requests[1].headers["If-None-Match"] == '"v1"'
    assert server.requests[2].headers["If-Modified-Since"] == "Sun, 01 Mar 2026 10:00:00 GMT"


async def test_changed_etag_gives_the_new_body(
    server: FeedServer, settings: IngestSettings, clock: ManualClock
) -> None:
    server.add("/feed.xml", FEED, etag='"v2"')
    async with Fetcher(settings, clock) as fetcher:
        result = await fetcher.fetch(server.url("/feed.xml"), etag='"v1"')
    assert result.status == "ok"
    assert result.etag == '"v2"'


async def test_permanent_redirects_are_reported(
    server: FeedServer, settings: IngestSettings, clock: ManualClock
) -> None:
    server.add("/new.xml", FEED)
    server.redirect("/old.xml", "/middle.xml", 301)
    server.redirect("/middle.xml", "/new.xml", 308)
    server.redirect("/temp.xml", "/new.xml", 302)
    server.redirect("/mixed.xml", "/temp.xml", 301)
    async with Fetcher(settings, clock) as fetcher:
        moved = await fetcher.fetch(server.url("/old.xml"))
        temporary = await fetcher.fetch(server.url("/temp.xml"))
        mixed = await fetcher.fetch(server.url("/mixed.xml"))
    assert moved.body == FEED
    assert moved.permanent_redirect == server.url("/new.xml")
    assert temporary.url == server.url("/new.xml")
    assert temporary.permanent_redirect is None
    assert mixed.permanent_redirect is None


async def test_redirect_loop_is_a_clear_error(
    server: FeedServer, settings: IngestSettings, clock: ManualClock
) -> None:
    server.redirect("/a", "/b", 302)
    server.redirect("/b", "/a", 302)
    async with Fetcher(settings, clock) as fetcher:
        with pytest.raises(FetchError) as caught:
            await fetcher.fetch(server.url("/a"))
    assert caught.value.reason == "redirect loop"
    assert not caught.value.transient


async def test_too_many_redirects(server: FeedServer, settings: IngestSettings, clock: ManualClock) -> None:
    for hop in range(7):
        server.redirect(f"/r{hop}", f"/r{hop + 1}", 302)
    server.add("/r7", FEED)
    async with Fetcher(settings, clock) as fetcher:
        with pytest.raises(FetchError) as caught:
            await fetcher.fetch(server.url("/r0"))
    assert caught.value.reason == "too many redirects (max 5)"
    assert len(server.requests) == 6


async def test_gzip_body_is_decompressed(
    server: FeedServer, settings: IngestSettings, clock: ManualClock
) -> None:
    import gzip

    server.add("/feed.xml", gzip.compress(FEED), headers={"Content-Encoding": "gzip"})
    async with Fetcher(settings, clock) as fetcher:
        result = await fetcher.fetch(server.url("/feed.xml"))
    assert result.body == FEED


async def test_deflate_bodies_zlib_wrapped_and_raw(
    server: FeedServer, settings: IngestSettings, clock: ManualClock
) -> None:
    import zlib

    raw = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    server.add("/zlib.xml", zlib.compress(FEED), headers={"Content-Encoding": "deflate"})
    server.add("/raw.xml", raw.compress(FEED) + raw.flush(), headers={"Content-Encoding": "deflate"})
    server.add("/br.xml", b"\x0b\x00", headers={"Content-Encoding": "br"})
    async with Fetcher(settings, clock) as fetcher:
        assert (await fetcher.fetch(server.url("/zlib.xml"))).body == FEED
        assert (await fetcher.fetch(server.url("/raw.xml"))).body == FEED
        with pytest.raises(FetchError) as caught:
            await fetcher.fetch(server.url("/br.xml"))
    assert caught.value.reason == "unsupported content encoding br"


async def test_gzip_bomb_stops_at_the_cap_without_inflating(
    server: FeedServer, settings: IngestSettings, clock: ManualClock
) -> None:
    route = server.gzip_bomb("/bomb.xml", inflated_bytes=200_000_000)
    assert len(route.body) < 1_000_000  # it passes the wire check; only inflation reveals it
    tracemalloc.start()
    try:
        async with Fetcher(settings, clock) as fetcher:
            with pytest.raises(FetchError) as caught:
                await fetcher.fetch(server.url("/bomb.xml"))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert caught.value.reason == "body larger than 1 MB"
    assert peak < 20_000_000


async def test_body_over_the_cap(server: FeedServer, settings: IngestSettings, clock: ManualClock) -> None:
    server.add("/big.xml", b"x" * 1_500_000)
    server.slow("/big-chunked.xml", b"x" * 1_500_000, chunk=256 * 1024, interval=0, declare_length=False)
    async with Fetcher(settings, clock) as fetcher:
        for path in ("/big.xml", "/big-chunked.xml"):
            with pytest.raises(FetchError) as caught:
                await fetcher.fetch(server.url(path))
            assert caught.value.reason == "body larger than 1 MB"
            assert not caught.value.transient


async def test_slow_loris_is_cut_at_the_total_timeout(server: FeedServer, clock: ManualClock) -> None:
    settings = IngestSettings(allowed_private_hosts=("127.0.0.1",), timeout_s=1, politeness_delay_s=0)
    # One byte every 50 ms never trips the read timeout, but 5,000 bytes would take minutes.
    server.slow("/slow.xml", b"x" * 5000, chunk=1, interval=0.05)
    started = time.monotonic()
    async with Fetcher(settings, clock, read_timeout_s=0.5) as fetcher:
        with pytest.raises(FetchError) as caught:
            await fetcher.fetch(server.url("/slow.xml"))
    assert caught.value.reason == "timed out after 1 s"
    assert caught.value.transient
    assert time.monotonic() - started < 3


async def test_read_inactivity_timeout(server: FeedServer, clock: ManualClock) -> None:
    settings = IngestSettings(allowed_private_hosts=("127.0.0.1",), timeout_s=10, politeness_delay_s=0)
    server.slow("/stall.xml", b"xx", chunk=1, interval=2)
    async with Fetcher(settings, clock, read_timeout_s=0.3) as fetcher:
        with pytest.raises(FetchError) as caught:
            await fetcher.fetch(server.url("/stall.xml"))
    assert caught.value.reason == "timed out: no data for 0.3 s"


@pytest.mark.parametrize(
    ("status", "reason", "transient"),
    [
        (404, "HTTP 404 Not Found", False),
        (410, "HTTP 410 Gone", False),
        (500, "HTTP 500 Internal Server Error", True),
        (503, "HTTP 503 Service Unavailable", True),
        (429, "HTTP 429 Too Many Requests", True),
    ],
)
async def test_http_errors(
    server: FeedServer,
    settings: IngestSettings,
    clock: ManualClock,
    status: int,
    reason: str,
    transient: bool,
) -> None:
    server.add("/x", b"no", status=status, headers={"Retry-After": "120"})
    async with Fetcher(settings, clock) as fetcher:
        with pytest.raises(FetchError) as caught:
            await fetcher.fetch(server.url("/x"))
    assert (caught.value.reason, caught.value.transient, caught.value.status) == (reason, transient, status)
    assert caught.value.retry_after == 120


async def test_connection_refused_is_transient(settings: IngestSettings, clock: ManualClock) -> None:
    async with FeedServer() as gone:
        url = gone.url("/feed.xml")
    async with Fetcher(settings, clock) as fetcher:
        with pytest.raises(FetchError) as caught:
            await fetcher.fetch(url)
    assert caught.value.reason.startswith("connection failed")
    assert caught.value.transient


async def test_politeness_delay_spaces_requests_to_one_host(server: FeedServer, clock: ManualClock) -> None:
    settings = IngestSettings(
        allowed_private_hosts=("127.0.0.1",), politeness_delay_s=5, per_host_concurrency=4
    )
    server.add("/feed.xml", FEED)
    sleeps: list[float] = []
    original_sleep = clock.sleep

    async def record(seconds: float) -> None:
        sleeps.append(seconds)
        await original_sleep(0)

    clock.sleep = record  # type: ignore[method-assign]
    async with Fetcher(settings, clock) as fetcher:
        results = await asyncio.gather(*(fetcher.fetch(server.url("/feed.xml")) for _ in range(3)))
    assert [result.status for result in results] == ["ok"] * 3
    assert sorted(sleeps) == [5.0, 10.0]


async def test_per_host_concurrency_limit(server: FeedServer, clock: ManualClock) -> None:
    settings = IngestSettings(
        allowed_private_hosts=("127.0.0.1",), politeness_delay_s=0, per_host_concurrency=1
    )
    server.slow("/feed.xml", FEED, chunk=len(FEED) // 2 + 1, interval=0.05)
    async with Fetcher(settings, clock) as fetcher:
        await asyncio.gather(*(fetcher.fetch(server.url("/feed.xml")) for _ in range(3)))
    assert len(server.requests) == 3
    assert server.peak_active == 1


async def test_without_a_per_host_limit_requests_overlap(server: FeedServer, clock: ManualClock) -> None:
    settings = IngestSettings(
        allowed_private_hosts=("127.0.0.1",), politeness_delay_s=0, per_host_concurrency=3
    )
    server.slow("/feed.xml", FEED, chunk=len(FEED) // 2 + 1, interval=0.1)
    async with Fetcher(settings, clock) as fetcher:
        await asyncio.gather(*(fetcher.fetch(server.url("/feed.xml")) for _ in range(3)))
    assert server.peak_active > 1
