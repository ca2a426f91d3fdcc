"""Developments as messages show them, and the digest runs that make each digest go out once."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from urllib.parse import urlsplit

from sqlalchemy import delete, select, update

from bot.messages.views import DevelopmentView
from bot.models import Link
from bot.store.db import Db, reading, writing
from bot.store.schema import articles, development_articles, developments, digest_runs, sources, stories
from bot.store.sql import chunks, upsert_insert

DigestStatus = Literal["sent", "empty", "skipped"]
MAX_LINKS = 5


@dataclass(frozen=True, slots=True)
class DigestRun:
    subscription_id: int
    period: str
    due_at: datetime
    status: DigestStatus
    outbox_id: int | None


async def development_views(db: Db, development_ids: Sequence[int]) -> dict[int, DevelopmentView]:
    """The developments as messages show them, with one link per outlet (earliest report first)."""
    wanted = sorted(set(development_ids))
    views: dict[int, DevelopmentView] = {}
    async with reading(db) as conn:
        for chunk in chunks(wanted):
            query = (
                select(
                    developments,
                    stories.c.title.label("story_title"),
                    stories.c.first_seen.label("story_first_seen"),
                )
                .select_from(developments.outerjoin(stories, stories.c.id == developments.c.story_id))
                .where(developments.c.id.in_(chunk))
            )
            dev_rows = (await conn.execute(query)).all()
            link_query = (
                select(
                    development_articles.c.development_id,
                    articles.c.url,
                    articles.c.source_id,
                    sources.c.title.label("source_title"),
                )
                .select_from(
                    development_articles.join(
                        articles, articles.c.id == development_articles.c.article_id
                    ).outerjoin(sources, sources.c.id == articles.c.source_id)
                )
                .where(development_articles.c.development_id.in_(chunk))
                .order_by(development_articles.c.development_id, articles.c.published, articles.c.id)
            )
            links: dict[int, list[Link]] = {}
            outlets: dict[int, set[object]] = {}
            for row in await conn.execute(link_query):
                seen = outlets.setdefault(row.development_id, set())
                outlet = row.source_id if row.source_id is not None else urlsplit(row.url).hostname
                if outlet in seen:
                    continue
                seen.add(outlet)
                label = row.source_title or urlsplit(row.url).hostname or row.url
                links.setdefault(row.development_id, []).append(Link(label, row.url))
            for row in dev_rows:
                found = links.get(row.id, [])
                views[int(row.id)] = DevelopmentView(
                    development_id=int(row.id),
                    story_id=row.story_id,
                    story_title=row.story_title or "",
                    story_is_new=row.story_first_seen is not None and row.story_first_seen >= row.first_seen,
                    headline=row.headline,
                    what_is_new=row.what_is_new,
                    first_seen=row.first_seen,
                    sources=tuple(found[:MAX_LINKS]),
                    source_count=max(int(row.source_count), len(found)),
                    topic_id=row.topic_id,
                )
    return views


async def developments_between(
    db: Db, topic_id: str, *, since: datetime, until: datetime, muted: set[int] | None = None
) -> list[DevelopmentView]:
    """The topic's developments first seen in [since, until), leaving out muted stories."""
    query = (
        select(developments.c.id)
        .where(
            developments.c.topic_id == topic_id,
            developments.c.first_seen >= since,
            developments.c.first_seen < until,
        )
        .order_by(developments.c.first_seen, developments.c.id)
    )
    async with reading(db) as conn:
        ids = [int(i) for i in (await conn.execute(query)).scalars()]
        views = await development_views(conn, ids)
    return [views[i] for i in ids if i in views and (views[i].story_id not in (muted or set()))]


async def claim_digest_run(
    db: Db, subscription_id: int, period: str, *, due_at: datetime, now: datetime
) -> bool:
    """Claim a subscription's digest for one period; False if it was claimed before (by anyone).

    Made in the transaction that also queues the digest, so a crash leaves no claim behind.
    """
    async with writing(db) as conn:
        stmt = (
            upsert_insert(conn, digest_runs)
            .values(
                subscription_id=subscription_id,
                period=period,
                due_at=due_at,
                status="skipped",
                created_at=now,
            )
            .on_conflict_do_nothing()
        )
        return bool((await conn.execute(stmt)).rowcount)


async def finish_digest_run(
    db: Db, subscription_id: int, period: str, *, status: DigestStatus, outbox_id: int | None, count: int
) -> None:
    async with writing(db) as conn:
        stmt = (
            update(digest_runs)
            .where(digest_runs.c.subscription_id == subscription_id, digest_runs.c.period == period)
            .values(status=status, outbox_id=outbox_id, development_count=count)
        )
        await conn.execute(stmt)


async def last_digest_run(
    db: Db, subscription_id: int, *, before: datetime | None = None
) -> DigestRun | None:
    """The subscription's latest digest run (due before `before`, if given)."""
    query = (
        select(digest_runs)
        .where(digest_runs.c.subscription_id == subscription_id)
        .order_by(digest_runs.c.due_at.desc())
        .limit(1)
    )
    if before is not None:
        query = query.where(digest_runs.c.due_at < before)
    async with reading(db) as conn:
        row = (await conn.execute(query)).first()
    if row is None:
        return None
    return DigestRun(row.subscription_id, row.period, row.due_at, row.status, row.outbox_id)


async def claimed_periods(db: Db, periods: dict[int, str]) -> set[int]:
    """Which of these subscriptions already have a run for the period given for each."""
    found: set[int] = set()
    async with reading(db) as conn:
        for chunk in chunks(sorted(periods)):
            query = select(digest_runs.c.subscription_id, digest_runs.c.period).where(
                digest_runs.c.subscription_id.in_(chunk),
                digest_runs.c.period.in_({periods[s] for s in chunk}),
            )
            found.update(int(sid) for sid, period in await conn.execute(query) if periods[int(sid)] == period)
    return found


async def list_digest_runs(db: Db, subscription_id: int) -> list[DigestRun]:
    query = (
        select(digest_runs)
        .where(digest_runs.c.subscription_id == subscription_id)
        .order_by(digest_runs.c.due_at)
    )
    async with reading(db) as conn:
        return [
            DigestRun(row.subscription_id, row.period, row.due_at, row.status, row.outbox_id)
            for row in await conn.execute(query)
        ]


async def purge_digest_runs(db: Db, *, before: datetime) -> int:
    async with writing(db) as conn:
        result = await conn.execute(delete(digest_runs).where(digest_runs.c.due_at < before))
        return int(result.rowcount or 0)
