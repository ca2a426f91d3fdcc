"""Read queries over stories and developments: timelines, digest windows, search, each returning the
records their views are worked out from (bot.presentation presents them).

Every function loads what it shows in a fixed number of statements, whatever the number of developments
(no query per development), and reads inside one transaction so counts and rows agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, and_, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.models import Article, Story
from bot.store.db import Db, reading
from bot.store.records import MAX_LINKS, read_records
from bot.store.schema import development_articles, developments, stories
from bot.store.search import search_articles
from bot.store.sql import chunks
from bot.views import DevelopmentRecords

__all__ = [
    "MAX_LINKS",
    "development_records",
    "developments_since",
    "latest_of_story",
    "search_records",
    "story_timeline",
    "topic_timeline",
]

# Article hits fetched per development wanted: many hits usually fold into one development.
_HITS_PER_RESULT = 6


async def development_records(db: Db, development_ids: Sequence[int]) -> DevelopmentRecords:
    """The developments with these ids, in the order asked (missing ids left out), and what their views
    are worked out from."""
    async with reading(db) as conn:
        return await read_records(conn, development_ids)


def _story(row: Row[Any]) -> Story:
    return Story(
        id=row.id,
        topic_id=row.topic_id,
        title=row.title,
        first_seen=row.first_seen,
        last_seen=row.last_seen,
        development_count=row.development_count,
    )


async def latest_of_story(db: Db, story_id: int) -> tuple[Story, DevelopmentRecords] | None:
    """The story as stored, with its latest development's records (its view carries the story's label)."""
    async with reading(db) as conn:
        row = (await conn.execute(select(stories).where(stories.c.id == story_id))).first()
        if row is None:
            return None
        latest = (
            await conn.execute(
                select(developments.c.id)
                .where(developments.c.story_id == story_id)
                .order_by(developments.c.first_seen.desc(), developments.c.id.desc())
                .limit(1)
            )
        ).scalar()
        return _story(row), await read_records(conn, [latest] if latest is not None else [])


async def _counted_timeline(
    conn: AsyncConnection, condition: Any, limit: int
) -> tuple[DevelopmentRecords, int]:
    total = (await conn.execute(select(func.count()).select_from(developments).where(condition))).scalar()
    ids = (
        await conn.execute(
            select(developments.c.id)
            .where(condition)
            .order_by(developments.c.first_seen.desc(), developments.c.id.desc())
            .limit(max(limit, 0))
        )
    ).scalars()
    return await read_records(conn, list(ids)), int(total or 0)


async def story_timeline(db: Db, story_id: int, limit: int) -> tuple[Story, DevelopmentRecords, int] | None:
    """The story as stored and its latest `limit` developments, newest first, with how many it has in all."""
    async with reading(db) as conn:
        row = (await conn.execute(select(stories).where(stories.c.id == story_id))).first()
        if row is None:
            return None
        records, total = await _counted_timeline(conn, developments.c.story_id == story_id, limit)
        return _story(row), records, total


async def topic_timeline(db: Db, topic_id: str, limit: int) -> tuple[DevelopmentRecords, int]:
    """The topic's latest `limit` developments, newest first, with how many it has in all."""
    async with reading(db) as conn:
        return await _counted_timeline(conn, developments.c.topic_id == topic_id, limit)


async def developments_since(
    db: Db, topic_id: str, since: datetime, until: datetime | None = None, *, limit: int | None = None
) -> DevelopmentRecords:
    """The topic's developments first seen in [since, until), oldest first (a digest's contents)."""
    # Implied by first_seen >= since, the last_seen bound lets the (topic_id, last_seen) index work.
    condition = and_(
        developments.c.topic_id == topic_id,
        developments.c.last_seen >= since,
        developments.c.first_seen >= since,
    )
    if until is not None:
        condition = and_(condition, developments.c.first_seen < until)
    query = select(developments.c.id).where(condition).order_by(developments.c.first_seen, developments.c.id)
    if limit is not None:
        query = query.limit(limit)
    async with reading(db) as conn:
        ids = list((await conn.execute(query)).scalars())
        return await read_records(conn, ids)


async def search_records(db: Db, words: str, limit: int) -> tuple[list[int | Article], DevelopmentRecords]:
    """What matches all `words`, best match first (then newest): development ids, and articles that belong
    to no development (they matched no topic), with the developments' records."""
    if limit <= 0:
        return [], DevelopmentRecords()
    async with reading(db) as conn:
        hits = await search_articles(conn, words, limit=limit * _HITS_PER_RESULT)
        owners = await _developments_of(conn, hits)
        chosen: list[int | Article] = []
        seen: set[int] = set()
        for article in hits:
            owned = owners.get(article.id or 0, [])
            if not owned:
                chosen.append(article)
            for development_id in owned:
                if development_id not in seen:
                    seen.add(development_id)
                    chosen.append(development_id)
            if len(chosen) >= limit:
                break
        chosen = chosen[:limit]
        return chosen, await read_records(conn, [c for c in chosen if isinstance(c, int)])


async def _developments_of(conn: AsyncConnection, hits: Sequence[Article]) -> dict[int, list[int]]:
    """For each article hit, the developments it (or the original it copies) belongs to, newest first."""
    keys: dict[int, int] = {}
    for article in hits:
        if article.id is not None:
            keys[article.id] = article.id
            if article.original_id is not None:
                keys.setdefault(article.original_id, article.id)
    found: dict[int, list[int]] = {}
    for part in chunks(list(keys)):
        query = (
            select(development_articles.c.article_id, development_articles.c.development_id)
            .where(development_articles.c.article_id.in_(part))
            .order_by(development_articles.c.development_id.desc())
        )
        for row in await conn.execute(query):
            owner = found.setdefault(keys[row.article_id], [])
            if row.development_id not in owner:
                owner.append(row.development_id)
    return found
