"""The maintenance job: drop old articles (keeping those recent developments still show), old outbox rows
and digest runs, then let the database tidy itself (ANALYZE; VACUUM after large deletions)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, exists, select, text

from bot.clock import Clock
from bot.store.db import Store
from bot.store.digests import purge_digest_runs
from bot.store.outbox import purge_messages
from bot.store.schema import articles, development_articles, developments

log = logging.getLogger("storywatch.jobs.maintenance")
_CHUNK = 2_000


@dataclass(frozen=True, slots=True)
class MaintenanceSettings:
    article_retention_days: float = 90.0
    outbox_retention_days: float = 30.0
    digest_run_retention_days: float = 120.0
    # Rows deleted in one run above which the database file is compacted too.
    vacuum_after_rows: int = 50_000


@dataclass(frozen=True, slots=True)
class MaintenanceReport:
    articles: int
    messages: int
    digest_runs: int
    vacuumed: bool


async def run_maintenance(store: Store, clock: Clock, settings: MaintenanceSettings) -> MaintenanceReport:
    now = clock.now()
    cutoff = now - timedelta(days=settings.article_retention_days)
    still_shown = exists().where(
        development_articles.c.article_id == articles.c.id,
        development_articles.c.development_id == developments.c.id,
        developments.c.last_seen >= cutoff,
    )
    stale = (
        select(articles.c.id)
        .where(articles.c.fetched_at < cutoff, articles.c.published < cutoff, ~still_shown)
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
            break
    messages = await purge_messages(store, before=now - timedelta(days=settings.outbox_retention_days))
    runs = await purge_digest_runs(store, before=now - timedelta(days=settings.digest_run_retention_days))
    vacuum = removed + messages >= settings.vacuum_after_rows
    await _tidy(store, vacuum=vacuum)
    log.info(
        "maintenance articles_deleted=%d messages_deleted=%d digest_runs_deleted=%d vacuum=%s",
        removed,
        messages,
        runs,
        vacuum,
    )
    return MaintenanceReport(removed, messages, runs, vacuum)


async def _tidy(store: Store, *, vacuum: bool) -> None:
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
