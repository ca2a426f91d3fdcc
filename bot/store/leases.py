"""Leases left by dead workers: cleared at once rather than waiting for them to run out.

Which owners are dead is the caller's to say (bot.operations.workers knows this host's processes); the
store only finds the owners holding leases and frees those it is told are gone.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import Table, delete, select, update

from bot.store.db import Db, writing
from bot.store.schema import engine_partitions, job_state, outbox, sources, workers

_EXPIRED = datetime(1970, 1, 1, tzinfo=UTC)
_LEASED: tuple[Table, ...] = (sources, outbox, job_state, engine_partitions)


async def release_leases_of(db: Db, is_dead: Callable[[str], bool]) -> int:
    """Clear every lease whose owner `is_dead`, and forget such owners in the workers' registry;
    return how many leases."""
    released = 0
    async with writing(db) as conn:
        for table in _LEASED:
            owners = {
                row[0]
                for row in await conn.execute(
                    table.select()
                    .with_only_columns(table.c.lease_owner)
                    .where(table.c.lease_owner.is_not(None))
                )
            }
            dead = [owner for owner in owners if is_dead(owner)]
            if dead:
                # An outbox row keeps its dead owner (only the lease ends): the next claim then knows
                # the part being sent may have reached the platform, and asks it before sending again.
                values = (
                    {"lease_until": _EXPIRED}
                    if table is outbox
                    else {"lease_owner": None, "lease_until": None}
                )
                result = await conn.execute(
                    update(table).where(table.c.lease_owner.in_(dead)).values(**values)
                )
                released += result.rowcount or 0
        registered = {row[0] for row in await conn.execute(select(workers.c.owner))}
        gone = [owner for owner in registered if is_dead(owner)]
        if gone:
            await conn.execute(delete(workers).where(workers.c.owner.in_(gone)))
    return released
