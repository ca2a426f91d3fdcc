"""The subscriptions store: upsert replaces options and clears a pause; mutes; active-only queries."""

from __future__ import annotations

from datetime import UTC, datetime, time

from sqlalchemy import insert

from bot.models import AlertMode, Destination, Platform, Subscription, Topic
from bot.store import Store
from bot.store.schema import stories
from bot.store.subscriptions import (
    all_active_subscriptions,
    list_subscriptions,
    mute_story,
    muted_stories,
    mutes_for_stories,
    pause_subscriptions,
    remove_subscription,
    subscriptions_for_topic,
    unmute_story,
    upsert_subscription,
)
from bot.store.topics import add_topic

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
CHAN = Destination(Platform.SLACK, "T1", "C1")


async def test_upsert_pause_remove(store: Store) -> None:
    await add_topic(store, Topic("nk", "North Korea", "korea"), now=NOW)
    await add_topic(store, Topic("ai", "AI", "ai"), now=NOW)
    first = await upsert_subscription(store, Subscription(CHAN, "nk"), now=NOW)
    assert first.id is not None and first.mode is AlertMode.INSTANT
    await upsert_subscription(store, Subscription(CHAN, "ai", mode=AlertMode.DIGEST), now=NOW)
    assert await pause_subscriptions(store, CHAN, "channel_not_found", now=NOW) == 2
    assert await subscriptions_for_topic(store, "nk") == []
    assert [s.paused_reason for s in await list_subscriptions(store, CHAN)] == ["channel_not_found"] * 2
    again = await upsert_subscription(
        store,
        Subscription(
            CHAN, "nk", mode=AlertMode.BOTH, digest_at=time(7, 30), timezone="Asia/Seoul", min_sources=3
        ),
        now=NOW,
    )
    assert again.id == first.id
    assert again.paused_reason is None and again.digest_at == time(7, 30) and again.min_sources == 3
    assert [s.topic_id for s in await all_active_subscriptions(store)] == ["nk"]
    assert await remove_subscription(store, CHAN, "nk")
    assert not await remove_subscription(store, CHAN, "nk")
    assert [s.topic_id for s in await list_subscriptions(store, CHAN)] == ["ai"]


async def test_mutes(store: Store) -> None:
    await add_topic(store, Topic("nk", "North Korea", "korea"), now=NOW)
    async with store.write() as conn:
        await conn.execute(
            insert(stories).values(
                id=7, topic_id="nk", title="t", first_seen=NOW, last_seen=NOW, key_terms=[]
            )
        )
    assert await mute_story(store, CHAN, 7)
    assert not await mute_story(store, CHAN, 7)
    assert await muted_stories(store, CHAN) == {7}
    assert await muted_stories(store, Destination(Platform.SLACK, "T1", "C2")) == set()
    assert await mutes_for_stories(store, [7, 8]) == {(("slack", "T1", "C1"), 7)}
    assert await unmute_story(store, CHAN, 7)
    assert await muted_stories(store, CHAN) == set()
