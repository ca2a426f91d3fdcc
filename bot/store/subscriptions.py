"""Subscriptions (a channel's interest in a topic) and story mutes (a channel's "not this story")."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, time
from typing import Any

from sqlalchemy import Row, and_, delete, select, update

from bot.models import AlertMode, ChannelKey, Destination, Platform, Subscription, channel_key
from bot.store.db import Db, reading, writing
from bot.store.schema import story_mutes, subscriptions
from bot.store.sql import chunks, upsert_insert


def _subscription(row: Row[Any]) -> Subscription:
    hour, minute = (int(part) for part in row.digest_at.split(":"))
    return Subscription(
        destination=Destination(Platform(row.platform), row.workspace, row.channel, row.thread),
        topic_id=row.topic_id,
        mode=AlertMode(row.mode),
        digest_at=time(hour, minute),
        timezone=row.timezone,
        min_sources=row.min_sources,
        new_story_sources=row.new_story_sources,
        threaded=bool(row.threaded),
        paused_reason=row.paused_reason,
        id=int(row.id),
        broadcast=bool(row.broadcast),
        webhook=bool(row.webhook),
    )


def _same_channel(destination: Destination) -> Any:
    return and_(
        subscriptions.c.platform == destination.platform.value,
        subscriptions.c.workspace == destination.workspace,
        subscriptions.c.channel == destination.channel,
    )


async def upsert_subscription(db: Db, subscription: Subscription, *, now: datetime) -> Subscription:
    """Subscribe a channel to a topic, or replace the options of its subscription; clears a pause."""
    options = {
        "thread": subscription.destination.thread,
        "mode": subscription.mode.value,
        "digest_at": subscription.digest_at.strftime("%H:%M"),
        "timezone": subscription.timezone,
        "min_sources": subscription.min_sources,
        "new_story_sources": subscription.new_story_sources,
        "threaded": subscription.threaded,
        "broadcast": subscription.broadcast,
        "webhook": subscription.webhook,
        "paused_reason": None,
    }
    destination = subscription.destination
    async with writing(db) as conn:
        stmt = upsert_insert(conn, subscriptions).values(
            platform=destination.platform.value,
            workspace=destination.workspace,
            channel=destination.channel,
            topic_id=subscription.topic_id,
            created_at=now,
            **options,
        )
        returning = stmt.on_conflict_do_update(
            index_elements=[
                subscriptions.c.platform,
                subscriptions.c.workspace,
                subscriptions.c.channel,
                subscriptions.c.topic_id,
            ],
            set_=options,
        ).returning(*subscriptions.c)
        row = (await conn.execute(returning)).one()
        return _subscription(row)


async def remove_subscription(db: Db, destination: Destination, topic_id: str) -> bool:
    """Unsubscribe; False if the channel was not subscribed to the topic."""
    async with writing(db) as conn:
        stmt = delete(subscriptions).where(_same_channel(destination), subscriptions.c.topic_id == topic_id)
        return bool((await conn.execute(stmt)).rowcount)


async def get_subscription(db: Db, subscription_id: int) -> Subscription | None:
    async with reading(db) as conn:
        row = (await conn.execute(select(subscriptions).where(subscriptions.c.id == subscription_id))).first()
        return _subscription(row) if row else None


async def list_subscriptions(db: Db, destination: Destination) -> list[Subscription]:
    """Every subscription of the channel (paused ones too), by topic."""
    query = select(subscriptions).where(_same_channel(destination)).order_by(subscriptions.c.topic_id)
    async with reading(db) as conn:
        return [_subscription(row) for row in await conn.execute(query)]


async def subscriptions_for_topic(db: Db, topic_id: str) -> list[Subscription]:
    """The active (not paused) subscriptions to a topic."""
    query = (
        select(subscriptions)
        .where(subscriptions.c.topic_id == topic_id, subscriptions.c.paused_reason.is_(None))
        .order_by(subscriptions.c.id)
    )
    async with reading(db) as conn:
        return [_subscription(row) for row in await conn.execute(query)]


async def all_active_subscriptions(db: Db) -> list[Subscription]:
    query = select(subscriptions).where(subscriptions.c.paused_reason.is_(None)).order_by(subscriptions.c.id)
    async with reading(db) as conn:
        return [_subscription(row) for row in await conn.execute(query)]


async def digest_subscriptions(db: Db) -> list[tuple[Subscription, datetime]]:
    """Active subscriptions that get a daily digest (mode digest or both), with when each was made."""
    query = (
        select(subscriptions)
        .where(
            subscriptions.c.paused_reason.is_(None),
            subscriptions.c.mode.in_([AlertMode.DIGEST.value, AlertMode.BOTH.value]),
        )
        .order_by(subscriptions.c.id)
    )
    async with reading(db) as conn:
        return [(_subscription(row), row.created_at) for row in await conn.execute(query)]


async def pause_subscriptions(db: Db, destination: Destination, reason: str, *, now: datetime) -> int:
    """Stop sending to a channel (it is gone, or the bot lost access), keeping why; returns how many."""
    del now  # kept in the signature so a paused_at column can come without touching callers
    async with writing(db) as conn:
        stmt = (
            update(subscriptions)
            .where(_same_channel(destination), subscriptions.c.paused_reason.is_(None))
            .values(paused_reason=reason)
        )
        return int((await conn.execute(stmt)).rowcount)


async def mute_story(db: Db, destination: Destination, story_id: int, *, now: datetime | None = None) -> bool:
    """Mute a story in a channel; False if it was muted already."""
    platform, workspace, channel = channel_key(destination)
    async with writing(db) as conn:
        stmt = (
            upsert_insert(conn, story_mutes)
            .values(
                platform=platform, workspace=workspace, channel=channel, story_id=story_id, created_at=now
            )
            .on_conflict_do_nothing()
        )
        return bool((await conn.execute(stmt)).rowcount)


async def unmute_story(db: Db, destination: Destination, story_id: int) -> bool:
    """Unmute a story; False if it was not muted."""
    async with writing(db) as conn:
        stmt = delete(story_mutes).where(
            _mute_of(channel_key(destination)), story_mutes.c.story_id == story_id
        )
        return bool((await conn.execute(stmt)).rowcount)


async def muted_stories(db: Db, destination: Destination) -> set[int]:
    query = select(story_mutes.c.story_id).where(_mute_of(channel_key(destination)))
    async with reading(db) as conn:
        return {int(story_id) for story_id in (await conn.execute(query)).scalars()}


async def mutes_for_stories(db: Db, story_ids: Iterable[int]) -> set[tuple[ChannelKey, int]]:
    """(channel, story) pairs muted among these stories: one query for a whole fan-out batch."""
    wanted = sorted(set(story_ids))
    found: set[tuple[ChannelKey, int]] = set()
    async with reading(db) as conn:
        for chunk in chunks(wanted):
            query = select(story_mutes).where(story_mutes.c.story_id.in_(chunk))
            for row in await conn.execute(query):
                found.add(((row.platform, row.workspace, row.channel), int(row.story_id)))
    return found


def _mute_of(key: ChannelKey) -> Any:
    platform, workspace, channel = key
    return and_(
        story_mutes.c.platform == platform,
        story_mutes.c.workspace == workspace,
        story_mutes.c.channel == channel,
    )
