"""Who this worker is, and freeing the leases of workers on this host that died holding them.

Leases let several processes share work; a process killed mid-poll keeps its claims until they expire.
A restarted process on the same host can tell that their owner is gone and take them back at once.
"""

from __future__ import annotations

import os
import socket

from bot.store.db import Db
from bot.store.leases import release_leases_of


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
    return await release_leases_of(db, lambda owner: _dead_here(owner, host))
