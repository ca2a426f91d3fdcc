"""`digest now`: queue a channel's digests at once, built as the digest job builds them.

It covers what happened since the subscription's last scheduled digest (at most a week back) and
records no digest run, so the scheduled digest still comes at its time. The outbox key carries the
minute, so a double click queues one digest, and delivery takes it from there.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from bot.config import DigestSettings
from bot.models import Subscription
from bot.services.digests import digest_since, queue_digest
from bot.store.db import Store

# Without an earlier digest, 'now' means the last day.
DEFAULT_SPAN = timedelta(days=1)


def digest_now_key(subscription: Subscription, now: datetime) -> str:
    return f"digest-now:{subscription.destination.key}:{subscription.topic_id}:{now:%Y-%m-%dT%H:%M}"


async def queue_digests_now(
    store: Store, subscriptions: Sequence[Subscription], *, now: datetime, settings: DigestSettings
) -> int:
    """Queue one digest per subscription in one transaction; returns how many were new in the outbox."""
    queued = 0
    async with store.write() as conn:
        for subscription in subscriptions:
            since = await digest_since(conn, subscription, until=now, otherwise=now - DEFAULT_SPAN)
            queued_now = await queue_digest(
                conn,
                subscription,
                key=digest_now_key(subscription, now),
                since=since,
                until=now,
                now=now,
                settings=settings,
            )
            queued += queued_now.outbox_id is not None
    return queued
