"""The maintenance job: drop old articles (keeping those recent developments still show), old outbox rows
and digest runs, then let the database tidy itself (ANALYZE; VACUUM after large deletions)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from bot.clock import Clock
from bot.store.db import Store
from bot.store.digests import purge_digest_runs
from bot.store.maintenance import purge_articles, tidy
from bot.store.outbox import purge_messages

log = logging.getLogger("storywatch.jobs.maintenance")


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
    removed = await purge_articles(store, before=now - timedelta(days=settings.article_retention_days))
    messages = await purge_messages(store, before=now - timedelta(days=settings.outbox_retention_days))
    runs = await purge_digest_runs(store, before=now - timedelta(days=settings.digest_run_retention_days))
    vacuum = removed + messages >= settings.vacuum_after_rows
    await tidy(store, vacuum=vacuum)
    log.info(
        "maintenance articles_deleted=%d messages_deleted=%d digest_runs_deleted=%d vacuum=%s",
        removed,
        messages,
        runs,
        vacuum,
    )
    return MaintenanceReport(removed, messages, runs, vacuum)
