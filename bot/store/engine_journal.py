"""A partition's engine state as stored: its last full snapshot, then one journal entry per batch since.

Saving a batch appends only what the batch changed (a few hundred kilobytes at most), where writing the
whole engine after every batch cost seconds at 200k articles of history. Once the journal outweighs the
snapshot, the holder writes a new snapshot and drops the entries it folds in, so loading never reads
more than about twice a snapshot. Every write here runs in the caller's fenced transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store.db import Db, reading
from bot.store.schema import developments, engine_journal, engine_snapshots, stories
from bot.store.sql import upsert_insert


@dataclass(slots=True)
class StoredState:
    """What loading a partition reads: the snapshot (None before the first) and the entries after it."""

    snapshot: bytes | None = None
    snapshot_seq: int = 0
    journal: list[bytes] = field(default_factory=list)
    last_seq: int = 0

    @property
    def journal_bytes(self) -> int:
        return sum(len(entry) for entry in self.journal)


async def load_state(db: Db, partition: int) -> StoredState:
    async with reading(db) as conn:
        row = (
            await conn.execute(
                select(engine_snapshots.c.data, engine_snapshots.c.journal_seq).where(
                    engine_snapshots.c.partition == partition
                )
            )
        ).first()
        state = StoredState()
        if row is not None:
            state.snapshot, state.snapshot_seq = bytes(row.data), int(row.journal_seq)
        state.last_seq = state.snapshot_seq
        entries = await conn.execute(
            select(engine_journal.c.seq, engine_journal.c.data)
            .where(engine_journal.c.partition == partition, engine_journal.c.seq > state.snapshot_seq)
            .order_by(engine_journal.c.seq)
        )
        for seq, data in entries:
            state.journal.append(bytes(data))
            state.last_seq = int(seq)
        return state


async def append_journal(
    conn: AsyncConnection, partition: int, seq: int, data: bytes, *, now: datetime
) -> None:
    await conn.execute(
        engine_journal.insert().values(partition=partition, seq=seq, data=data, created_at=now)
    )


async def write_snapshot(
    conn: AsyncConnection, partition: int, seq: int, data: bytes, *, now: datetime
) -> None:
    """Store a full snapshot taken after journal entry `seq`, and drop the entries it folds in."""
    stmt = upsert_insert(conn, engine_snapshots).values(
        partition=partition, journal_seq=seq, data=data, updated_at=now
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=[engine_snapshots.c.partition],
        set_={"journal_seq": seq, "data": data, "updated_at": now},
    )
    await conn.execute(stmt)
    await conn.execute(
        delete(engine_journal).where(engine_journal.c.partition == partition, engine_journal.c.seq <= seq)
    )


async def state_sizes(db: Db) -> dict[int, tuple[int, int]]:
    """Per partition: (snapshot bytes, journal bytes), for status and the benchmark."""
    sizes: dict[int, tuple[int, int]] = {}
    async with reading(db) as conn:
        for partition, size in await conn.execute(
            select(engine_snapshots.c.partition, func.length(engine_snapshots.c.data))
        ):
            sizes[int(partition)] = (int(size or 0), 0)
        query = select(engine_journal.c.partition, func.sum(func.length(engine_journal.c.data))).group_by(
            engine_journal.c.partition
        )
        for partition, size in await conn.execute(query):
            snap = sizes.get(int(partition), (0, 0))[0]
            sizes[int(partition)] = (snap, int(size or 0))
    return sizes


async def highest_ids(db: Db) -> tuple[int, int]:
    """The highest development and story ids stored (0 when none): where a fresh engine numbers from."""
    async with reading(db) as conn:
        dev = (await conn.execute(select(func.max(developments.c.id)))).scalar() or 0
        story = (await conn.execute(select(func.max(stories.c.id)))).scalar() or 0
    return int(dev), int(story)
