"""A subscription's digest built and queued: shared by the digest job and `digest now`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.config import DigestSettings
from bot.messages import build_digest
from bot.messages.routing import routed
from bot.messages.serial import message_to_json
from bot.models import Subscription
from bot.presentation import developments_between
from bot.store.db import StoreConnection
from bot.store.digests import last_digest_run
from bot.store.outbox import enqueue_message
from bot.store.subscriptions import muted_stories
from bot.store.topics import get_topic

# A digest never reaches back further than this, however long the bot was away.
MAX_LOOKBACK = timedelta(days=7)


async def digest_since(
    conn: StoreConnection, subscription: Subscription, *, until: datetime, otherwise: datetime
) -> datetime:
    """Where a digest ending at `until` starts: the subscription's previous digest (else `otherwise`),
    never more than MAX_LOOKBACK back. The digest job and `digest now` both take their window here."""
    previous = None
    if subscription.id is not None:
        previous = await last_digest_run(conn, subscription.id, before=until)
    return max(previous.due_at if previous is not None else otherwise, until - MAX_LOOKBACK)


@dataclass(frozen=True, slots=True)
class QueuedDigest:
    # None when the key was queued before (a double click, a replayed period).
    outbox_id: int | None
    developments: int


async def queue_digest(
    conn: StoreConnection,
    subscription: Subscription,
    *,
    key: str,
    since: datetime,
    until: datetime,
    now: datetime,
    settings: DigestSettings,
) -> QueuedDigest:
    """Queue the digest of the topic's developments in [since, until), less the channel's muted stories."""
    muted = await muted_stories(conn, subscription.destination)
    views = await developments_between(conn, subscription.topic_id, since=since, until=until, muted=muted)
    topic = await get_topic(conn, subscription.topic_id)
    message = build_digest(
        views,
        topic_id=subscription.topic_id,
        topic_name=(topic.name or topic.id) if topic is not None else subscription.topic_id,
        timezone=subscription.timezone,
        until=until,
        since=since,
        max_developments=settings.max_developments,
    )
    outbox_id = await enqueue_message(
        conn,
        idempotency_key=key,
        destination=subscription.destination,
        kind="digest",
        payload=message_to_json(routed(message, subscription, story_id=None, story_title="")),
        now=now,
        subscription_id=subscription.id,
    )
    return QueuedDigest(outbox_id, len(views))
