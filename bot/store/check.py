"""`storywatch db check`: read-only health checks, each problem as one line a person can act on."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.clock import SystemClock
from bot.store.db import Store, connect_store, normalise_url
from bot.store.migrate import current_revision, head_revision
from bot.store.schema import job_state, metadata, outbox, sources

# A lease this long past its end means the worker that took it died; its work gets re-claimed.
STALE_LEASE = timedelta(minutes=15)
_FTS_TRIGGERS = frozenset({"articles_fts_ai", "articles_fts_ad", "articles_fts_au"})


async def check(url: str, *, now: datetime | None = None) -> list[str]:
    """Problems found in the database at `url` (an empty list means healthy). Changes nothing."""
    now = now or SystemClock().now()
    missing = _missing_sqlite_file(url)
    if missing:
        return [missing]
    store = await connect_store(url)
    try:
        return await check_store(store, now=now)
    finally:
        await store.close()


def _missing_sqlite_file(url: str) -> str | None:
    # Opening a missing SQLite file would create it, and a check must change nothing.
    parsed = normalise_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    path = Path(parsed.database).expanduser()
    return None if path.is_file() else f"{path}: no such database file"


async def check_store(store: Store, *, now: datetime) -> list[str]:
    problems: list[str] = []
    current, head = await current_revision(store), head_revision()
    if current is None:
        return ["database has no schema: run `storywatch db upgrade`"]
    if current != head:
        problems.append(
            f"database schema is at migration {current}, this code needs {head}: run `storywatch db upgrade`"
        )
    async with store.read() as conn:
        if conn.dialect.name == "sqlite":
            problems += await _sqlite_integrity(conn)
        if current != head:
            return problems
        problems += await _search_index(conn)
        problems += await _orphans(conn)
        problems += await _stale_leases(conn, now)
        dead = (await conn.execute(select(func.count()).where(outbox.c.status == "dead"))).scalar_one()
        if dead:
            problems.append(f"{dead} outbox message(s) gave up after repeated failures (status 'dead')")
    return problems


async def _sqlite_integrity(conn: AsyncConnection) -> list[str]:
    problems: list[str] = []
    rows = (await conn.exec_driver_sql("PRAGMA integrity_check")).scalars().all()
    if rows != ["ok"]:
        problems += [f"integrity_check: {line}" for line in rows[:20]]
    violations: list[Any] = list((await conn.exec_driver_sql("PRAGMA foreign_key_check")).all())
    for row in violations[:20]:
        problems.append(f"foreign_key_check: {row[0]} row {row[1]} points at a missing {row[2]} row")
    return problems


async def _search_index(conn: AsyncConnection) -> list[str]:
    if conn.dialect.name == "sqlite":
        query = "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'articles'"
        missing = _FTS_TRIGGERS - set((await conn.exec_driver_sql(query)).scalars())
        if missing:
            names = ", ".join(sorted(missing))
            return [f"full-text triggers missing ({names}): the index no longer follows articles"]
        try:
            # With rank 1, FTS5 compares its index against the articles table itself.
            await conn.exec_driver_sql(
                "INSERT INTO articles_fts(articles_fts, rank) VALUES ('integrity-check', 1)"
            )
        except DBAPIError as exc:
            return [
                f"full-text index disagrees with articles ({exc.orig}): rebuild it (rebuild_search_index)"
            ]
        return []
    valid = (
        await conn.exec_driver_sql(
            "SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "WHERE c.relname = 'ix_articles_search_vector'"
        )
    ).scalar()
    if valid is None:
        return ["full-text index ix_articles_search_vector is missing"]
    if not valid:
        return ["full-text index ix_articles_search_vector is invalid: REINDEX it"]
    return []


async def _orphans(conn: AsyncConnection) -> list[str]:
    """Rows pointing at rows that are gone (PostgreSQL enforces this; SQLite only with foreign_keys on)."""
    problems: list[str] = []
    for child in metadata.sorted_tables:
        for fk in child.foreign_keys:
            parent = fk.column.table
            missing = parent.alias("parent")
            query = (
                select(func.count())
                .select_from(child.outerjoin(missing, fk.parent == missing.c[fk.column.name]))
                .where(and_(fk.parent.is_not(None), missing.c[fk.column.name].is_(None)))
            )
            count = (await conn.execute(query)).scalar_one()
            if count:
                problems.append(
                    f"{count} {child.name} row(s) point at missing {parent.name} ({fk.parent.name})"
                )
    return problems


async def _stale_leases(conn: AsyncConnection, now: datetime) -> list[str]:
    problems: list[str] = []
    cutoff = now - STALE_LEASE
    for table, what in ((sources, "source"), (outbox, "outbox message"), (job_state, "job")):
        query = select(func.count(), func.min(table.c.lease_owner)).where(table.c.lease_until < cutoff)
        count, owner = (await conn.execute(query)).one()
        if count:
            problems.append(
                f"{count} {what} lease(s) expired over {STALE_LEASE} ago (e.g. held by {owner}): "
                "a worker died mid-task; the work will be claimed again"
            )
    return problems
