"""Fan-out: which subscriptions get an alert for the engine's events, once, in the engine's transaction."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert

from bot.messages.serial import message_from_json, message_to_json
from bot.models import AlertMode, Article, Destination, Platform, Subscription, Topic
from bot.pipeline.fanout import enqueue_alerts, ingest_articles
from bot.store import Store, open_store
from bot.store.articles import save_articles
from bot.store.outbox import list_messages
from bot.store.schema import developments, stories
from bot.store.sources import add_source
from bot.store.subscriptions import mute_story, pause_subscriptions, upsert_subscription
from bot.store.topics import upsert_topic
from bot.stories.engine import StoryEngine
from bot.stories.events import DevelopmentEvent
from jobs.maintenance import MaintenanceSettings, run_maintenance
from tests.jobs.helpers import sample_message

NOW = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)


def dest(name: str) -> Destination:
    return Destination(Platform.SLACK, "T1", name)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await open_store(f"sqlite:///{tmp_path / 'fanout.sqlite'}")
    yield opened
    await opened.close()


async def _development(store: Store, n: int, story: int, sources: int) -> None:
    async with store.write() as conn:
        await conn.execute(
            insert(stories)
            .prefix_with("OR IGNORE")
            .values(
                id=story, topic_id="nk", title=f"Story {story}", first_seen=NOW, last_seen=NOW, key_terms=[]
            )
        )
        await conn.execute(
            insert(developments).values(
                id=n,
                topic_id="nk",
                story_id=story,
                headline=f"Dev {n}",
                first_seen=NOW,
                last_seen=NOW,
                source_count=sources,
            )
        )


def _new(n: int, story: int, sources: int = 1) -> DevelopmentEvent:
    return DevelopmentEvent("nk", n, story, False, f"Dev {n}", "what", sources, None, first=True)


def _grew(n: int, story: int, sources: int) -> DevelopmentEvent:
    return DevelopmentEvent("nk", n, story, False, f"Dev {n}", "what", sources, None, first=False)


async def test_modes_min_sources_mutes_pauses_and_idempotency(store: Store) -> None:
    await upsert_topic(store, Topic("nk", "North Korea", "korea"), now=NOW)
    subs = {
        "instant": Subscription(dest("instant"), "nk"),
        "both": Subscription(dest("both"), "nk", mode=AlertMode.BOTH, timezone="Asia/Seoul"),
        "digest": Subscription(dest("digest"), "nk", mode=AlertMode.DIGEST),
        "three": Subscription(dest("three"), "nk", min_sources=3),
        "muted": Subscription(dest("muted"), "nk"),
        "paused": Subscription(dest("paused"), "nk"),
    }
    for sub in subs.values():
        await upsert_subscription(store, sub, now=NOW)
    await pause_subscriptions(store, dest("paused"), "gone: channel_not_found", now=NOW)
    await _development(store, 1, story=10, sources=1)
    await _development(store, 2, story=20, sources=1)
    await mute_story(store, dest("muted"), 20)
    async with store.write() as conn:
        report = await enqueue_alerts(conn, [_new(1, 10), _new(2, 20)], now=NOW)
    assert report.alerts == report.queued == 2 + 2 + 1
    channels = sorted((m.destination.channel, m.development_id) for m in await list_messages(store))
    assert channels == [("both", 1), ("both", 2), ("instant", 1), ("instant", 2), ("muted", 1)]
    # Development 1 grows to three outlets: only the min_sources=3 channel is new to it.
    async with store.write() as conn:
        await conn.execute(developments.update().where(developments.c.id == 1).values(source_count=3))
        grown = await enqueue_alerts(conn, [_grew(1, 10, 2), _grew(1, 10, 3), _new(1, 10)], now=NOW)
    # Four channels are due an alert for it; three had it already, so the outbox takes one.
    assert (grown.alerts, grown.queued) == (4, 1)
    rows = await list_messages(store)
    assert len(rows) == 6 and ("three", 1) in {(m.destination.channel, m.development_id) for m in rows}
    alert = message_from_json(next(m.payload for m in rows if m.destination.channel == "both"))
    assert alert.metadata["development_id"] == "1" and alert.title == "Story: Story 10"


async def test_new_story_caution_holds_a_story_s_first_development_until_its_own_sources(
    store: Store,
) -> None:
    await upsert_topic(store, Topic("nk", "North Korea", "korea"), now=NOW)
    await upsert_subscription(store, Subscription(dest("eager"), "nk"), now=NOW)
    await upsert_subscription(store, Subscription(dest("cautious"), "nk", new_story_sources=2), now=NOW)
    await _development(store, 1, story=10, sources=1)
    await _development(store, 2, story=20, sources=1)
    starts_story = DevelopmentEvent("nk", 1, 10, True, "Dev 1", "what", 1, None, first=True)
    async with store.write() as conn:
        await enqueue_alerts(conn, [starts_story, _new(2, 20)], now=NOW)
    sent = {(m.destination.channel, m.development_id) for m in await list_messages(store)}
    # A development continuing a story is not held; one starting a story waits for a second outlet.
    assert sent == {("eager", 1), ("eager", 2), ("cautious", 2)}
    async with store.write() as conn:
        await conn.execute(developments.update().where(developments.c.id == 1).values(source_count=2))
        grown = DevelopmentEvent("nk", 1, 10, True, "Dev 1", "what", 2, None, first=False)
        await enqueue_alerts(conn, [grown], now=NOW)
    sent = {(m.destination.channel, m.development_id) for m in await list_messages(store)}
    assert ("cautious", 1) in sent and len(sent) == 4


async def test_threaded_and_webhook_subscriptions_get_their_routing(store: Store) -> None:
    await upsert_topic(store, Topic("nk", "North Korea", "korea"), now=NOW)
    await upsert_subscription(store, Subscription(dest("plain"), "nk"), now=NOW)
    await upsert_subscription(
        store, Subscription(dest("threads"), "nk", threaded=True, broadcast=True, webhook=True), now=NOW
    )
    await _development(store, 1, story=10, sources=1)
    async with store.write() as conn:
        await enqueue_alerts(conn, [_new(1, 10)], now=NOW)
    by_channel = {m.destination.channel: message_from_json(m.payload) for m in await list_messages(store)}
    threads = by_channel["threads"].metadata
    assert (threads["thread"], threads["story_id"], threads["thread_name"]) == ("story", "10", "Story 10")
    assert threads["broadcast"] == "1" and threads["via"] == "webhook"
    assert not {"thread", "broadcast", "via"} & set(by_channel["plain"].metadata)


async def test_alerts_roll_back_with_the_development(store: Store) -> None:
    await upsert_topic(store, Topic("nk", "North Korea", "korea"), now=NOW)
    await upsert_subscription(store, Subscription(dest("a"), "nk"), now=NOW)
    with pytest.raises(RuntimeError):
        async with store.write() as conn:
            await conn.execute(
                insert(developments).values(id=5, topic_id="nk", headline="x", first_seen=NOW, last_seen=NOW)
            )
            await enqueue_alerts(conn, [_new(5, 0)], now=NOW)
            raise RuntimeError("the engine's write failed")
    assert await list_messages(store) == []


async def test_ingest_runs_the_engine_and_queues_in_one_pass(store: Store) -> None:
    topic = Topic("nk", "North Korea", "korea OR pyongyang")
    await upsert_topic(store, topic, now=NOW)
    await upsert_subscription(store, Subscription(dest("a"), "nk"), now=NOW)
    source = await add_source(store, "https://news.example/feed", now=NOW, title="Example News")
    texts = [
        ("North Korea fires missile over Sea of Japan", "Pyongyang launched a ballistic missile on Tuesday."),
        (
            "Korea summit planned in Seoul next month",
            "Leaders of North and South Korea agreed to meet in Seoul.",
        ),
    ]
    batch = [
        Article(
            url=f"https://news.example/{i}",
            title=title,
            text=text,
            published=NOW + timedelta(hours=i * 30),
            source_id=source.id,
            item_key=f"k{i}",
        )
        for i, (title, text) in enumerate(texts)
    ]
    saved = (await save_articles(store, source.id, batch, now=NOW)).saved
    result = await ingest_articles(store, StoryEngine([topic]), saved, {a.id for a in saved}, now=NOW)
    rows = await list_messages(store)
    assert result.events >= 1 and len(rows) == result.fanout.alerts >= 1
    assert all(m.destination == dest("a") and m.kind == "alert" for m in rows)


def test_message_json_round_trip() -> None:
    message = sample_message(3, sections=2)
    assert message_from_json(message_to_json(message)) == message
    assert message_from_json(message_to_json(message)).metadata == message.metadata


async def test_maintenance_keeps_articles_of_recent_developments(store: Store) -> None:
    source = await add_source(store, "https://news.example/feed", now=NOW)
    old = NOW - timedelta(days=200)
    batch = [
        Article(
            url=f"https://news.example/{i}",
            title=f"t{i}",
            text=f"x{i}",
            published=old,
            source_id=source.id,
            item_key=f"k{i}",
        )
        for i in range(3)
    ]
    saved = (await save_articles(store, source.id, batch, now=old)).saved
    await upsert_topic(store, Topic("nk", "NK", "korea"), now=NOW)
    await _development(store, 1, story=1, sources=1)
    from bot.store.schema import development_articles

    async with store.write() as conn:
        await conn.execute(
            insert(development_articles).values(development_id=1, article_id=saved[0].id, joined_at=old)
        )

    class Clock:
        def now(self) -> datetime:
            return NOW

        async def sleep(self, seconds: float) -> None: ...

    report = await run_maintenance(store, Clock(), MaintenanceSettings(vacuum_after_rows=1))
    assert report.articles == 2 and report.vacuumed
