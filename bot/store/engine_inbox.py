"""The engine inbox: stored articles queued for the story engine, read by every partition in commit order.

A poll writes one row per newly stored article in the transaction that stores it, so an article is
never stored without being queued. Each partition reads the rows after its mark, in (xid, id) order,
and moves the mark in the transaction that records what it decided (see partitions.fence).

Why (xid, id) and not the id alone: on PostgreSQL ids come from a sequence when a row is inserted, not
when it commits, so a row with a smaller id can become visible after a larger one was read. A reader
therefore takes only rows whose writing transaction is older than every transaction still running
(`pg_snapshot_xmin`): no row can appear below that line later. SQLite has one writer at a time, so ids
are committed in order and xid is always 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import BigInteger, Text, cast, delete, func, literal, select, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement

from bot.store.db import Db, reading, writing
from bot.store.schema import engine_inbox, engine_partitions


@dataclass(frozen=True, slots=True)
class InboxItem:
    id: int
    xid: int
    article_id: int
    announce: bool
    batch_at: datetime

    @property
    def mark(self) -> tuple[int, int]:
        return (self.xid, self.id)


def _current_xid(conn: AsyncConnection) -> ColumnElement[int]:
    if conn.dialect.name == "postgresql":
        return cast(cast(func.pg_current_xact_id(), Text), BigInteger)
    return literal(0, BigInteger)


async def queue_for_engine(
    conn: AsyncConnection, items: Sequence[tuple[int, bool]], *, batch_at: datetime
) -> None:
    """Queue (article id, announce) pairs in `conn`'s transaction; `batch_at` stamps the poll pass."""
    if not items:
        return
    rows = [
        {"article_id": article_id, "announce": announce, "batch_at": batch_at}
        for article_id, announce in items
    ]
    await conn.execute(engine_inbox.insert().values(xid=_current_xid(conn)), rows)


async def pending(db: Db, after: tuple[int, int], *, limit: int) -> list[InboxItem]:
    """Up to `limit` rows after the mark `after`, in (xid, id) order, that no running transaction can
    still precede."""
    t = engine_inbox
    query = select(t).where(tuple_(t.c.xid, t.c.id) > tuple_(literal(after[0]), literal(after[1])))
    async with reading(db) as conn:
        if conn.dialect.name == "postgresql":
            horizon = cast(cast(func.pg_snapshot_xmin(func.pg_current_snapshot()), Text), BigInteger)
            query = query.where(t.c.xid < horizon)
        rows = await conn.execute(query.order_by(t.c.xid, t.c.id).limit(limit))
        return [
            InboxItem(int(r.id), int(r.xid), int(r.article_id), bool(r.announce), r.batch_at) for r in rows
        ]


async def trim_inbox(db: Db) -> int:
    """Delete the rows every partition has read; returns how many."""
    p = engine_partitions
    async with writing(db) as conn:
        lowest = (
            await conn.execute(
                select(p.c.inbox_xid, p.c.inbox_id).order_by(p.c.inbox_xid, p.c.inbox_id).limit(1)
            )
        ).first()
        if lowest is None:
            return 0
        t = engine_inbox
        mark = tuple_(literal(int(lowest.inbox_xid)), literal(int(lowest.inbox_id)))
        result = await conn.execute(delete(t).where(tuple_(t.c.xid, t.c.id) <= mark))
        return int(result.rowcount or 0)


async def inbox_depth(db: Db) -> int:
    """Rows queued (read by some partitions or none): what `storywatch status` shows."""
    async with reading(db) as conn:
        return int((await conn.execute(select(func.count()).select_from(engine_inbox))).scalar() or 0)
