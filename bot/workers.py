"""Who this worker is, and freeing the leases of workers on this host that died holding them.

Leases let several processes share work; a process killed mid-poll keeps its claims until they expire.
A restarted process on the same host can tell that their owner is gone and take them back at once.
"""

from __future__ import annotations

import os
import socket
from datetime import UTC, datetime

from sqlalchemy import Table, delete, select, update

from bot.store.db import Db, writing
from bot.store.schema import engine_partitions, job_state, outbox, sources, workers

_EXPIRED = datetime(1970, 1, 1, tzinfo=UTC)
_LEASED: tuple[Table, ...] = (sources, outbox, job_state, engine_partitions)


def worker_id() -> str:
    """`host:pid`: unique among live processes, and tells a later process whether the owner still runs."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _dead_here(owner: str, host: str) -> bool:
    name, _, pid = owner.rpartition(":")
    if name != host or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


async def release_dead_leases(db: Db) -> int:
    """Clear every lease held by a process of this host that no longer exists (and forget the process);
    return how many leases."""
    host = socket.gethostname()
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
            dead = [owner for owner in owners if _dead_here(owner, host)]
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
        gone = [owner for owner in registered if _dead_here(owner, host)]
        if gone:
            await conn.execute(delete(workers).where(workers.c.owner.in_(gone)))
    return released
