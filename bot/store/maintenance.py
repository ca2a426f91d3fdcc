"""Housekeeping queries: old articles dropped in small batches, and the database's own tidying."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, exists, select, text

from bot.store.db import Store
from bot.store.schema import articles, development_articles, developments

_CHUNK = 2_000


async def purge_articles(store: Store, *, before: datetime) -> int:
    """Delete articles fetched and published before `before` that no development seen since shows;
    how many went."""
    still_shown = exists().where(
        development_articles.c.article_id == articles.c.id,
        development_articles.c.development_id == developments.c.id,
        developments.c.last_seen >= before,
    )
    stale = (
        select(articles.c.id)
        .where(articles.c.fetched_at < before, articles.c.published < before, ~still_shown)
        .limit(_CHUNK)
    )
    removed = 0
    while True:
        # Small transactions: pollers and the deliverer share the one SQLite writer meanwhile.
        async with store.write() as conn:
            ids = list((await conn.execute(stale)).scalars())
            if ids:
                await conn.execute(delete(articles).where(articles.c.id.in_(ids)))
        removed += len(ids)
        if len(ids) < _CHUNK:
            return removed


async def tidy(store: Store, *, vacuum: bool) -> None:
    """Refresh the planner's statistics; with `vacuum`, compact the database file too."""
    # VACUUM cannot run inside a transaction on either database: outside SQLAlchemy's BEGIN.
    async with store.engine.connect() as conn:
        if store.is_sqlite:
            raw = await conn.get_raw_connection()
            driver: Any = raw.driver_connection
            if vacuum:
                await driver.execute("VACUUM")
            await driver.execute("PRAGMA optimize")
        else:
            auto = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await auto.execute(text("VACUUM (ANALYZE)" if vacuum else "ANALYZE"))
