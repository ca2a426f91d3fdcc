"""The poll pass end to end: real fetches over loopback, real parsing, a real store on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

from bot.clock import ManualClock
from bot.config import IngestSettings
from bot.ingest.fetch import Fetcher
from bot.pipeline.polling import poll_due
from bot.store import Store
from bot.store.sources import add_source, get_source, list_source_statuses
from tests.fakes.feed_server import FeedServer

START = datetime(2025, 9, 29, 8, 0, tzinfo=UTC)


def rss(title: str, items: list[tuple[str, str]], when: datetime = START) -> bytes:
    body = "".join(
        f"<item><title>{t}</title><link>{link}</link><guid>{link}</guid>"
        f"<pubDate>{format_datetime(when)}</pubDate><description>{t} in detail.</description></item>"
        for t, link in items
    )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>{title}</title>'
        f"<link>https://example.org/</link>{body}</channel></rss>"
    ).encode()


def settings(**overrides: object) -> IngestSettings:
    base: dict[str, object] = {
        "allowed_private_hosts": ("127.0.0.1",),
        "politeness_delay_s": 0.0,
        "poll_interval_s": 600,
        "disable_after_failures": 3,
        "timeout_s": 5.0,
    }
    base.update(overrides)
    return IngestSettings.model_validate(base)


async def test_a_broken_source_records_its_error_and_the_others_carry_on(store: Store) -> None:
    clock = ManualClock(START)
    async with FeedServer() as server:
        server.add("/good.xml", rss("Good", [("Talks resume", "https://news.example/a")]))
        server.add("/html", b"<html><body>not a feed</body></html>", content_type="text/html")
        server.fail("/down.xml", status=500)
        good = await add_source(store, server.url("/good.xml"), now=clock.now())
        html = await add_source(store, server.url("/html"), now=clock.now())
        down = await add_source(store, server.url("/down.xml"), now=clock.now())
        async with Fetcher(settings(), clock) as fetcher:
            report = await poll_due(store, fetcher, clock=clock, settings=settings(), owner="t")
    by_id = {p.source.id: p for p in report.polls}
    assert by_id[good.id].status == "stored" and by_id[good.id].new == 1
    assert by_id[html.id].status == "error" and "not a feed" in (by_id[html.id].error or "").lower()
    assert by_id[down.id].status == "error" and "500" in (by_id[down.id].error or "")
    failed = await get_source(store, down.id)
    assert failed is not None and failed.consecutive_failures == 1
    assert failed.next_poll_at is not None and failed.next_poll_at > clock.now()


async def test_first_poll_is_history_then_new_entries_are_announced(store: Store) -> None:
    clock = ManualClock(START)
    async with FeedServer() as server:
        route = server.add(
            "/feed.xml", rss("Wire", [("Old one", "https://w.example/1"), ("Old two", "https://w.example/2")])
        )
        await add_source(store, server.url("/feed.xml"), now=clock.now())
        async with Fetcher(settings(), clock) as fetcher:
            first = await poll_due(store, fetcher, clock=clock, settings=settings(), owner="t")
            assert first.new == 2 and first.announce == []
            clock.advance(3600)
            route.body = rss(
                "Wire",
                [("Fresh", "https://w.example/3?utm_source=rss"), ("Old one", "https://w.example/1")],
                START + timedelta(minutes=5),
            )
            second = await poll_due(store, fetcher, clock=clock, settings=settings(), owner="t")
    assert second.new == 1 and second.polls[0].seen == 1
    assert [a.title for a in second.announce] == ["Fresh"]
    assert second.announce[0].url == "https://w.example/3"


async def test_backfill_announces_the_newest_entries_of_a_new_source(store: Store) -> None:
    clock = ManualClock(START)
    items = [(f"Item {i}", f"https://b.example/{i}") for i in range(5)]
    async with FeedServer() as server:
        server.add("/feed.xml", rss("Backfill", items))
        await add_source(store, server.url("/feed.xml"), now=clock.now())
        async with Fetcher(settings(backfill=2), clock) as fetcher:
            report = await poll_due(store, fetcher, clock=clock, settings=settings(backfill=2), owner="t")
    assert report.new == 5 and len(report.announce) == 2


async def test_not_modified_and_the_same_article_from_two_feeds(store: Store) -> None:
    clock = ManualClock(START)
    shared = ("Summit set for June", "https://agency.example/summit")
    async with FeedServer() as server:
        server.add("/a.xml", rss("A", [shared]), etag='"a1"')
        server.add("/b.xml", rss("B", [(shared[0], shared[1] + "?fbclid=xyz")]), etag='"b1"')
        await add_source(store, server.url("/a.xml"), now=clock.now())
        await add_source(store, server.url("/b.xml"), now=clock.now())
        async with Fetcher(settings(), clock) as fetcher:
            first = await poll_due(store, fetcher, clock=clock, settings=settings(), owner="t")
            clock.advance(3600)
            second = await poll_due(store, fetcher, clock=clock, settings=settings(), owner="t")
        conditional = [r for r in server.requests if "If-None-Match" in r.headers]
    assert first.new == 1 and first.folded == 1
    assert [p.status for p in second.polls] == ["not_modified", "not_modified"]
    assert len(conditional) == 2


async def test_repeated_failures_disable_a_source_with_the_reason_kept(store: Store) -> None:
    clock = ManualClock(START)
    async with FeedServer() as server:
        server.fail("/gone.xml", status=404, body=b"no")
        source = await add_source(store, server.url("/gone.xml"), now=clock.now())
        async with Fetcher(settings(), clock) as fetcher:
            for _ in range(3):
                await poll_due(store, fetcher, clock=clock, settings=settings(), owner="t")
                clock.advance(7 * 3600)
            after = await poll_due(store, fetcher, clock=clock, settings=settings(), owner="t")
    assert after.polls == []
    statuses = {s.source.id: s for s in await list_source_statuses(store)}
    status = statuses[source.id]
    assert status.source.disabled
    assert "3 failed polls" in (status.disabled_reason or "") and "404" in (status.disabled_reason or "")


async def test_permanent_redirect_is_remembered(store: Store) -> None:
    clock = ManualClock(START)
    async with FeedServer() as server:
        server.add("/new.xml", rss("Moved", [("Here now", "https://m.example/1")]))
        server.redirect("/old.xml", "/new.xml", status=301)
        source = await add_source(store, server.url("/old.xml"), now=clock.now())
        async with Fetcher(settings(), clock) as fetcher:
            await poll_due(store, fetcher, clock=clock, settings=settings(), owner="t")
    moved = await get_source(store, source.id)
    assert moved is not None and moved.url == server.url("/new.xml")
