"""The story engine's readable record: its development and story rows, and which articles joined which
development. Digests, lookups and timelines query these rows, never the engine's snapshot.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TypedDict

from sqlalchemy import select

from bot.store.db import Db, writing
from bot.store.schema import development_articles, developments, stories
from bot.store.sql import upsert_insert


class StoryRow(TypedDict):
    id: int
    topic_id: str
    title: str
    first_seen: datetime
    last_seen: datetime
    development_count: int
    key_terms: list[str]


class DevelopmentRow(TypedDict):
    id: int
    topic_id: str
    story_id: int
    headline: str
    what_is_new: str
    first_seen: datetime
    last_seen: datetime
    article_count: int
    source_count: int
    representative_article_id: int | None


class ArticleLink(TypedDict):
    """An article joined a development (new_development: it was the development's first)."""

    development_id: int
    article_id: int
    joined_at: datetime
    new_development: bool


async def write_engine_rows(
    db: Db,
    story_rows: Sequence[StoryRow],
    development_rows: Sequence[DevelopmentRow],
    links: Sequence[ArticleLink],
) -> None:
    """Insert or update the rows and add the links not yet recorded, in one transaction."""
    async with writing(db) as conn:
        for table, rows in ((stories, story_rows), (developments, development_rows)):
            for row in rows:
                stmt = upsert_insert(conn, table).values(**row)
                update = {k: v for k, v in row.items() if k != "id"}
                await conn.execute(stmt.on_conflict_do_update(index_elements=[table.c.id], set_=update))
        if links:
            known = {
                (row[0], row[1])
                for row in (
                    await conn.execute(
                        select(
                            development_articles.c.development_id, development_articles.c.article_id
                        ).where(development_articles.c.article_id.in_([link["article_id"] for link in links]))
                    )
                ).all()
            }
            fresh = [lk for lk in links if (lk["development_id"], lk["article_id"]) not in known]
            if fresh:
                await conn.execute(development_articles.insert(), fresh)
