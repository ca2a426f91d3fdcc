"""Engine partitions: leases with a fencing token, and the registry of live workers that share them.

A topic belongs to one of a fixed number of partitions; a partition's articles are decided by the one
worker holding its lease. Each takeover raises the partition's `generation`, and every write the
engine makes for a partition runs in a transaction that first checks the generation it was given
(`fence`): a worker paused past its lease and resumed finds a newer generation and writes nothing.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store.db import Db, StoreError, reading, writing
from bot.store.schema import engine_partitions, workers
from bot.store.sql import upsert_insert


class PartitionCountError(StoreError):
    """The configured partition count differs from the one the database's engine was built with."""


class FencedOut(StoreError):
    """A write for a partition whose lease another worker has taken since (a newer generation)."""

    def __init__(self, partition: int, generation: int) -> None:
        super().__init__(f"engine partition {partition}: generation {generation} was superseded")
        self.partition = partition
        self.generation = generation


@dataclass(frozen=True, slots=True)
class PartitionLease:
    partition: int
    generation: int
    lease_until: datetime


@dataclass(frozen=True, slots=True)
class PartitionRow:
    """A partition as `storywatch status` shows it."""

    partition: int
    generation: int
    lease_owner: str | None
    lease_until: datetime | None
    inbox_id: int
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class WorkerRow:
    owner: str
    roles: tuple[str, ...]
    started_at: datetime
    seen_at: datetime


def partition_of(topic_id: str, count: int) -> int:
    """The partition a topic belongs to: a stable hash, the same in every process and on every run."""
    return zlib.crc32(topic_id.encode("utf-8")) % count if count > 1 else 0


async def ensure_partitions(db: Db, count: int, *, now: datetime) -> int:
    """Create the partitions on first use; refuse a count other than the one already in use."""
    if count < 1:
        raise PartitionCountError("engine.partitions must be at least 1")
    async with writing(db) as conn:
        existing = int(
            (await conn.execute(select(func.count()).select_from(engine_partitions))).scalar() or 0
        )
        if existing == 0:
            stmt = upsert_insert(conn, engine_partitions).on_conflict_do_nothing(
                index_elements=[engine_partitions.c.partition]
            )
            await conn.execute(stmt, [{"partition": p, "updated_at": now} for p in range(count)])
            existing = int(
                (await conn.execute(select(func.count()).select_from(engine_partitions))).scalar() or 0
            )
        if existing != count:
            raise PartitionCountError(
                f"engine.partitions is {count} but this database's story engine has {existing} partitions; "
                "the count is fixed once the engine has run (set it back to "
                f"{existing}, or see the README's deployment section)"
            )
    return count


async def partition_count(db: Db) -> int:
    async with reading(db) as conn:
        return int((await conn.execute(select(func.count()).select_from(engine_partitions))).scalar() or 0)


async def acquire_partitions(
    db: Db, *, owner: str, now: datetime, lease_s: float, want: int
) -> list[PartitionLease]:
    """Renew the partitions `owner` holds and take free or expired ones until it holds `want`.

    Renewing keeps the generation (nobody else wrote meanwhile); a takeover raises it. On PostgreSQL
    the free rows are locked with SKIP LOCKED, so workers taking partitions at once pass each other by.
    Returns every partition `owner` now holds, in partition order.
    """
    until = now + timedelta(seconds=lease_s)
    t = engine_partitions
    async with writing(db) as conn:
        renew = (
            update(t)
            .where(t.c.lease_owner == owner)
            .values(lease_until=until, updated_at=now)
            .returning(t.c.partition)
        )
        held = len((await conn.execute(renew)).all())
        if held < want:
            free = (
                select(t.c.partition)
                .where(or_(t.c.lease_owner.is_(None), t.c.lease_until.is_(None), t.c.lease_until <= now))
                .order_by(t.c.partition)
                .limit(want - held)
            )
            if conn.dialect.name == "postgresql":
                free = free.with_for_update(skip_locked=True)
            take = (
                update(t)
                .where(t.c.partition.in_(free.scalar_subquery()))
                .values(lease_owner=owner, lease_until=until, generation=t.c.generation + 1, updated_at=now)
            )
            await conn.execute(take)
        rows = await conn.execute(
            select(t.c.partition, t.c.generation, t.c.lease_until)
            .where(t.c.lease_owner == owner)
            .order_by(t.c.partition)
        )
        return [PartitionLease(int(r.partition), int(r.generation), r.lease_until) for r in rows]


async def release_partitions(db: Db, *, owner: str, partitions: Sequence[int] | None = None) -> int:
    """Give back `owner`'s leases (all, or the given partitions); the next taker raises the generation."""
    t = engine_partitions
    condition = t.c.lease_owner == owner
    if partitions is not None:
        condition = and_(condition, t.c.partition.in_(list(partitions)))
    async with writing(db) as conn:
        result = await conn.execute(update(t).where(condition).values(lease_owner=None, lease_until=None))
        return int(result.rowcount or 0)


async def fence(
    conn: AsyncConnection,
    partition: int,
    generation: int,
    *,
    now: datetime,
    inbox_mark: tuple[int, int] | None = None,
    lease_s: float | None = None,
) -> None:
    """Check, first thing in a write transaction, that `generation` is still the partition's; raise
    FencedOut if not. The row stays locked until commit, so no takeover can slip in before it.

    `inbox_mark` moves the partition's inbox position in the same statement; `lease_s` renews the lease
    (a long backlog is decided batch after batch without the lease running out in between).
    """
    t = engine_partitions
    values: dict[str, object] = {"updated_at": now}
    if inbox_mark is not None:
        values["inbox_xid"], values["inbox_id"] = inbox_mark
    if lease_s is not None:
        values["lease_until"] = now + timedelta(seconds=lease_s)
    stmt = (
        update(t)
        .where(t.c.partition == partition, t.c.generation == generation)
        .values(**values)
        .returning(t.c.partition)
    )
    if (await conn.execute(stmt)).first() is None:
        raise FencedOut(partition, generation)


async def inbox_mark(db: Db, partition: int) -> tuple[int, int]:
    """How far the partition has read the engine inbox: the last (xid, id) it decided."""
    t = engine_partitions
    async with reading(db) as conn:
        row = (
            await conn.execute(select(t.c.inbox_xid, t.c.inbox_id).where(t.c.partition == partition))
        ).first()
    return (int(row.inbox_xid), int(row.inbox_id)) if row is not None else (0, 0)


async def list_partitions(db: Db) -> list[PartitionRow]:
    t = engine_partitions
    async with reading(db) as conn:
        rows = await conn.execute(select(t).order_by(t.c.partition))
        return [
            PartitionRow(
                int(r.partition),
                int(r.generation),
                r.lease_owner,
                r.lease_until,
                int(r.inbox_id),
                r.updated_at,
            )
            for r in rows
        ]


async def register_worker(db: Db, owner: str, roles: Sequence[str], *, now: datetime) -> None:
    """Say `owner` is alive (its first call also records when it started)."""
    encoded = ",".join(roles)
    async with writing(db) as conn:
        stmt = upsert_insert(conn, workers).values(owner=owner, roles=encoded, started_at=now, seen_at=now)
        stmt = stmt.on_conflict_do_update(
            index_elements=[workers.c.owner], set_={"roles": encoded, "seen_at": now}
        )
        await conn.execute(stmt)


async def forget_worker(db: Db, owner: str) -> None:
    async with writing(db) as conn:
        await conn.execute(delete(workers).where(workers.c.owner == owner))


async def live_workers(db: Db, *, now: datetime, within_s: float, role: str | None = None) -> list[WorkerRow]:
    """Workers seen in the last `within_s` seconds (with `role`, those in it), in owner order."""
    since = now - timedelta(seconds=within_s)
    async with reading(db) as conn:
        rows = await conn.execute(select(workers).where(workers.c.seen_at > since).order_by(workers.c.owner))
        found = [WorkerRow(r.owner, tuple(r.roles.split(",")), r.started_at, r.seen_at) for r in rows]
    return [w for w in found if role is None or role in w.roles]


async def list_workers(db: Db) -> list[WorkerRow]:
    async with reading(db) as conn:
        rows = await conn.execute(select(workers).order_by(workers.c.owner))
        return [WorkerRow(r.owner, tuple(r.roles.split(",")), r.started_at, r.seen_at) for r in rows]


def fair_share(count: int, owners: Sequence[str], owner: str) -> int:
    """How many of `count` partitions `owner` should hold among the live `owners`: an even split, the
    remainder to the first in owner order (every worker computes the same split)."""
    ranked = sorted(set(owners) | {owner})
    base, extra = divmod(count, len(ranked))
    return base + (1 if ranked.index(owner) < extra else 0)
