"""Is the store reachable, and the figures an operator watches: outbox depth and age, failing sources.

Both are cheap (indexed or small tables) because `/healthz` and `/metrics` ask on every scrape;
`storywatch status` shows the same figures.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, false, func, select

from bot.store.db import Db, Store, StoreError, reading
from bot.store.schema import outbox, sources

SOURCE_STATES = ("ok", "new", "failing", "disabled")


@dataclass(frozen=True, slots=True)
class StoreFigures:
    """Read at one moment: `outbox_retrying` are pending messages a platform refused at least once."""

    now: datetime
    outbox_pending: int
    outbox_retrying: int
    outbox_dead: int
    oldest_pending: datetime | None
    sources: dict[str, int]

    @property
    def oldest_pending_age(self) -> timedelta | None:
        if self.oldest_pending is None:
            return None
        return max(self.now - self.oldest_pending, timedelta(0))


async def store_figures(db: Db, now: datetime) -> StoreFigures:
    # Only pending and dead rows are counted: the (status, not_before) index serves them, while sent
    # rows (kept for weeks) would make every scrape walk the table.
    by_status = (
        select(
            outbox.c.status,
            func.count(),
            func.count(outbox.c.last_error),
            func.min(outbox.c.created_at),
        )
        .where(outbox.c.status.in_(("pending", "dead")))
        .group_by(outbox.c.status)
    )
    state = case(
        (sources.c.disabled_at.is_not(None), "disabled"),
        (sources.c.consecutive_failures > 0, "failing"),
        (sources.c.primed == false(), "new"),
        else_="ok",
    ).label("state")
    by_state = select(state, func.count()).group_by(state)
    counts: dict[str, tuple[int, int, datetime | None]] = {"pending": (0, 0, None), "dead": (0, 0, None)}
    async with reading(db) as conn:
        for status, count, with_error, oldest in await conn.execute(by_status):
            counts[status] = (int(count), int(with_error), oldest)
        states = dict.fromkeys(SOURCE_STATES, 0)
        states.update({str(name): int(count) for name, count in await conn.execute(by_state)})
    pending, retrying, oldest = counts["pending"]
    return StoreFigures(now, pending, retrying, counts["dead"][0], oldest, states)


async def ping(store: Store) -> None:
    """Raise StoreError unless the database answers a query (and, on SQLite, its file is still there)."""
    url = store.engine.url
    if store.is_sqlite and url.database and url.database != ":memory:" and url.query.get("mode") != "memory":
        problem = _file_problem(url.database)
        if problem is not None:
            raise StoreError(problem)
    async with store.read() as conn:
        await conn.execute(select(1))


def _file_problem(path: str) -> str | None:
    # An open SQLite connection keeps working on a deleted file, and writes to it would be lost.
    if not os.path.isfile(path):
        return f"database file {path} is missing"
    if not os.access(path, os.R_OK | os.W_OK):
        return f"database file {path} is not readable and writable"
    return None
