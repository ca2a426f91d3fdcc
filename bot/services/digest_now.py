"""`digest now`: queue a channel's digests at once, built as the digest job builds them.

It covers what happened since the subscription's last scheduled digest (at most a week back) and
records no digest run, so the scheduled digest still comes at its time. The outbox key carries the
minute, so a double click queues one digest, and delivery takes it from there.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from bot.config import DigestSettings
from bot.messages import build_digest
from bot.messages.routing import routed
from bot.messages.serial import message_to_json
from bot.models import Subscription
from bot.store.db import Store
from bot.store.digests import developments_between, last_digest_run
from bot.store.outbox import enqueue_message
from bot.store.subscriptions import muted_stories
from bot.store.topics import get_topic

# Without an earlier digest, 'now' means the last day; never further back than the digest job goes.
DEFAULT_SPAN = timedelta(days=1)
MAX_LOOKBACK = timedelta(days=7)


def digest_now_key(subscription: Subscription, now: datetime) -> str:
    return f"digest-now:{subscription.destination.key}:{subscription.topic_id}:{now:%Y-%m-%dT%H:%M}"


async def queue_digests_now(
    store: Store, subscriptions: Sequence[Subscription], *, now: datetime, settings: DigestSettings
) -> int:
    """Queue one digest per subscription in one transaction; returns how many were new in the outbox."""
    queued = 0
    async with store.write() as conn:
        for subscription in subscriptions:
            previous = None
            if subscription.id is not None:
                previous = await last_digest_run(conn, subscription.id, before=now)
            since = max(previous.due_at if previous is not None else now - DEFAULT_SPAN, now - MAX_LOOKBACK)
            muted = await muted_stories(conn, subscription.destination)
            views = await developments_between(
                conn, subscription.topic_id, since=since, until=now, muted=muted
            )
            topic = await get_topic(conn, subscription.topic_id)
            message = build_digest(
                views,
                topic_id=subscription.topic_id,
                topic_name=(topic.name or topic.id) if topic is not None else subscription.topic_id,
                timezone=subscription.timezone,
                until=now,
                since=since,
                max_developments=settings.max_developments,
            )
            outbox_id = await enqueue_message(
                conn,
                idempotency_key=digest_now_key(subscription, now),
                destination=subscription.destination,
                kind="digest",
                payload=message_to_json(routed(message, subscription, story_id=None, story_title="")),
                now=now,
                subscription_id=subscription.id,
            )
            queued += outbox_id is not None
    return queued
