"""The digest job: each subscription's digest at its local time, once per period, caught up after downtime.

A period is a local date in the subscription's time zone, due at `digest_at` on that date there
(bot.digest_schedule). Only
the latest due period is considered: a bot down for days sends one digest, covering everything since
the last one (or since the subscription began). A period due longer ago than `grace_hours` is
recorded as skipped. Claiming the period (a digest_runs row), building the digest and queueing it
happen in one transaction, so a crash leaves all of it or none; the outbox key (destination, topic,
period) guards the rest.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.clock import Clock
from bot.config import DigestSettings
from bot.digest_schedule import latest_period
from bot.models import Subscription
from bot.services.digests import digest_since, queue_digest
from bot.store.db import Store
from bot.store.digests import (
    claim_digest_run,
    claimed_periods,
    finish_digest_run,
)
from bot.store.subscriptions import digest_subscriptions

log = logging.getLogger("storywatch.jobs.digest")


@dataclass(frozen=True, slots=True)
class DigestOutcome:
    subscription_id: int
    period: str
    status: str
    developments: int = 0


async def run_due_digests(store: Store, clock: Clock, settings: DigestSettings) -> list[DigestOutcome]:
    """Queue every digest whose period has come and was not yet claimed; returns what was done."""
    now = clock.now()
    due: dict[int, tuple[Subscription, str, datetime, datetime]] = {}
    for subscription, created_at in await digest_subscriptions(store):
        period = latest_period(subscription, now)
        if subscription.id is None or period is None:
            continue
        # A period that ended before the subscription existed is not owed to it.
        if period[1] < created_at:
            continue
        due[subscription.id] = (subscription, period[0], period[1], created_at)
    if not due:
        return []
    done = await claimed_periods(store, {sid: entry[1] for sid, entry in due.items()})
    outcomes = []
    for sid in sorted(set(due) - done):
        subscription, local_date, due_time, created_at = due[sid]
        outcome = await _run_one(
            store, subscription, local_date, due_time, created_at=created_at, now=now, settings=settings
        )
        if outcome is not None:
            outcomes.append(outcome)
    return outcomes


async def _run_one(
    store: Store,
    subscription: Subscription,
    period: str,
    due_time: datetime,
    *,
    created_at: datetime,
    now: datetime,
    settings: DigestSettings,
) -> DigestOutcome | None:
    assert subscription.id is not None
    sid, destination = subscription.id, subscription.destination
    async with store.write() as conn:
        if not await claim_digest_run(conn, sid, period, due_at=due_time, now=now):
            return None
        late = now - due_time
        if late > timedelta(hours=settings.grace_hours):
            await finish_digest_run(conn, sid, period, status="skipped", outbox_id=None, count=0)
            log.info(
                "digest subscription=%d dest=%s topic=%s period=%s status=skipped late_s=%d",
                sid,
                destination.key,
                subscription.topic_id,
                period,
                late.total_seconds(),
            )
            return DigestOutcome(sid, period, "skipped")
        # Everything since the last digest (or since the subscription began), however long we were down.
        since = await digest_since(conn, subscription, until=due_time, otherwise=created_at)
        queued = await queue_digest(
            conn,
            subscription,
            key=digest_key(subscription, period),
            since=since,
            until=due_time,
            now=now,
            settings=settings,
        )
        await finish_digest_run(
            conn, sid, period, status="sent", outbox_id=queued.outbox_id, count=queued.developments
        )
    log.info(
        "digest subscription=%d dest=%s topic=%s period=%s status=queued developments=%d late_s=%d",
        sid,
        destination.key,
        subscription.topic_id,
        period,
        queued.developments,
        late.total_seconds(),
    )
    return DigestOutcome(sid, period, "sent", queued.developments)


def digest_key(subscription: Subscription, period: str) -> str:
    return f"digest:{subscription.destination.key}:{subscription.topic_id}:{period}"
