"""The digest runs that make each digest go out once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import delete, select, update

from bot.store.db import Db, reading, writing
from bot.store.schema import digest_runs
from bot.store.sql import chunks, upsert_insert

DigestStatus = Literal["sent", "empty", "skipped"]


@dataclass(frozen=True, slots=True)
class DigestRun:
    subscription_id: int
    period: str
    due_at: datetime
    status: DigestStatus
    outbox_id: int | None


async def claim_digest_run(
    db: Db, subscription_id: int, period: str, *, due_at: datetime, now: datetime
) -> bool:
    """Claim a subscription's digest for one period; False if it was claimed before (by anyone).

    Made in the transaction that also queues the digest, so a crash leaves no claim behind.
    """
    async with writing(db) as conn:
        stmt = (
            upsert_insert(conn, digest_runs)
            .values(
                subscription_id=subscription_id,
                period=period,
                due_at=due_at,
                status="skipped",
                created_at=now,
            )
            .on_conflict_do_nothing()
        )
        return bool((await conn.execute(stmt)).rowcount)


async def finish_digest_run(
    db: Db, subscription_id: int, period: str, *, status: DigestStatus, outbox_id: int | None, count: int
) -> None:
    async with writing(db) as conn:
        stmt = (
            update(digest_runs)
            .where(digest_runs.c.subscription_id == subscription_id, digest_runs.c.period == period)
            .values(status=status, outbox_id=outbox_id, development_count=count)
        )
        await conn.execute(stmt)


async def last_digest_run(
    db: Db, subscription_id: int, *, before: datetime | None = None
) -> DigestRun | None:
    """The subscription's latest digest run (due before `before`, if given)."""
    query = (
        select(digest_runs)
        .where(digest_runs.c.subscription_id == subscription_id)
        .order_by(digest_runs.c.due_at.desc())
        .limit(1)
    )
    if before is not None:
        query = query.where(digest_runs.c.due_at < before)
    async with reading(db) as conn:
        row = (await conn.execute(query)).first()
    if row is None:
        return None
    return DigestRun(row.subscription_id, row.period, row.due_at, row.status, row.outbox_id)


async def claimed_periods(db: Db, periods: dict[int, str]) -> set[int]:
    """Which of these subscriptions already have a run for the period given for each."""
    found: set[int] = set()
    async with reading(db) as conn:
        for chunk in chunks(sorted(periods)):
            query = select(digest_runs.c.subscription_id, digest_runs.c.period).where(
                digest_runs.c.subscription_id.in_(chunk),
                digest_runs.c.period.in_({periods[s] for s in chunk}),
            )
            found.update(int(sid) for sid, period in await conn.execute(query) if periods[int(sid)] == period)
    return found


async def list_digest_runs(db: Db, subscription_id: int) -> list[DigestRun]:
    query = (
        select(digest_runs)
        .where(digest_runs.c.subscription_id == subscription_id)
        .order_by(digest_runs.c.due_at)
    )
    async with reading(db) as conn:
        return [
            DigestRun(row.subscription_id, row.period, row.due_at, row.status, row.outbox_id)
            for row in await conn.execute(query)
        ]


async def purge_digest_runs(db: Db, *, before: datetime) -> int:
    async with writing(db) as conn:
        result = await conn.execute(delete(digest_runs).where(digest_runs.c.due_at < before))
        return int(result.rowcount or 0)
