"""Reads for `storywatch status` and the demo: counts and latest times across the tables."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Table, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store.db import Db, reading
from bot.store.schema import developments, digest_runs, outbox, sources, stories, topics


async def outbox_counts(conn: AsyncConnection) -> dict[str, int]:
    """Outbox rows by status (statuses with no row left out)."""
    by_status = select(outbox.c.status, func.count()).group_by(outbox.c.status)
    return {str(status): int(count) for status, count in await conn.execute(by_status)}


async def pipeline_totals(db: Db) -> dict[str, int]:
    """How many developments and stories there are, and how many alerts and digests were sent."""
    async with reading(db) as conn:
        developments_n = (await conn.execute(select(func.count()).select_from(developments))).scalar_one()
        stories_n = (await conn.execute(select(func.count()).select_from(stories))).scalar_one()
        query = select(outbox.c.kind, func.count()).where(outbox.c.status == "sent").group_by(outbox.c.kind)
        sent = {str(kind): int(n) for kind, n in await conn.execute(query)}
    return {
        "developments": int(developments_n),
        "stories": int(stories_n),
        "alert": sent.get("alert", 0),
        "digest": sent.get("digest", 0),
    }


async def oldest_pending_at(conn: AsyncConnection) -> datetime | None:
    query = select(func.min(outbox.c.created_at)).where(outbox.c.status == "pending")
    found: datetime | None = (await conn.execute(query)).scalar()
    return found


async def last_poll_at(conn: AsyncConnection) -> datetime | None:
    found: datetime | None = (await conn.execute(select(func.max(sources.c.last_polled_at)))).scalar()
    return found


async def topic_names(conn: AsyncConnection) -> dict[str, str]:
    return {row.id: row.name for row in await conn.execute(select(topics.c.id, topics.c.name))}


async def digest_periods_since(conn: AsyncConnection, period: str) -> dict[int, set[str]]:
    """Per subscription, the digest periods (local dates) run from `period` on."""
    runs: dict[int, set[str]] = {}
    query = select(digest_runs.c.subscription_id, digest_runs.c.period).where(digest_runs.c.period >= period)
    for subscription_id, found in await conn.execute(query):
        runs.setdefault(subscription_id, set()).add(found)
    return runs


async def _leased(conn: AsyncConnection, table: Table, now: datetime) -> dict[str, int]:
    query = (
        select(table.c.lease_owner, func.count())
        .where(table.c.lease_owner.is_not(None), table.c.lease_until > now)
        .group_by(table.c.lease_owner)
    )
    return {str(owner): int(count) for owner, count in await conn.execute(query)}


async def leased_sources(conn: AsyncConnection, now: datetime) -> dict[str, int]:
    """Per owner, how many sources it holds a live lease on."""
    return await _leased(conn, sources, now)


async def leased_messages(conn: AsyncConnection, now: datetime) -> dict[str, int]:
    """Per owner, how many outbox rows it holds a live lease on."""
    return await _leased(conn, outbox, now)
