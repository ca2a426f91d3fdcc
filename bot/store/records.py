"""What development views are worked out from (bot.presentation): the rows, their links, the stories'
latest developments, their first reports, and the topics' words.

A fixed number of statements loads what they need, however many developments are shown.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, case, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.models import Article, Link
from bot.store.schema import articles, development_articles, developments, sources, stories, topics
from bot.store.sql import chunks
from bot.views import DevelopmentRecord, DevelopmentRecords, StoryDevelopment, report_link

# Links carried per development: one per outlet, the representative article's first.
MAX_LINKS = 5
# Reports of a development looked at (its earliest), of its story's other developments, and how much of
# each one's text.
MAX_REPORTS = 10
CONTEXT_REPORTS = 4
TEXT_CHARS = 1_500
# A story's label and what it already said come from its latest developments.
CONTEXT_DEVELOPMENTS = 30
# A topic's latest developments, whose headlines tell which words all its stories use.
TOPIC_DEVELOPMENTS = 500


async def read_records(conn: AsyncConnection, development_ids: Sequence[int]) -> DevelopmentRecords:
    """The developments with these ids, in the order asked (missing ids left out), with what their views
    are worked out from."""
    wanted = list(dict.fromkeys(development_ids))
    if not wanted:
        return DevelopmentRecords()
    first_of_story = (
        select(func.min(developments.c.id))
        .where(developments.c.story_id == stories.c.id)
        .correlate(stories)
        .scalar_subquery()
    )
    found: dict[int, Row[Any]] = {}
    for part in chunks(wanted):
        query = (
            select(
                developments,
                stories.c.title.label("story_title"),
                first_of_story.label("story_first_id"),
            )
            .join_from(developments, stories, developments.c.story_id == stories.c.id, isouter=True)
            .where(developments.c.id.in_(part))
        )
        found.update({row.id: row for row in await conn.execute(query)})
    links = await _links(conn, list(found))
    rows = [found[i] for i in wanted if i in found]
    records = tuple(_record(row, tuple(links.get(row.id, ()))) for row in rows)
    story_ids = sorted({row.story_id for row in rows if row.story_id is not None})
    context = await _story_developments(conn, story_ids)
    # The story's other developments lend their headlines and words only: fewer reports each will do.
    every = [*(d.id for ds in context.values() for d in ds), *(r.development_id for r in records)]
    reports = await _reports(conn, list(dict.fromkeys(every)), {r.development_id for r in records})
    topic_ids = sorted({row.topic_id for row in rows if row.story_id is not None})
    queries, headlines = await _topic_words(conn, topic_ids)
    return DevelopmentRecords(records, context, reports, queries, headlines)


def _record(row: Row[Any], links: tuple[Link, ...]) -> DevelopmentRecord:
    return DevelopmentRecord(
        development_id=row.id,
        story_id=row.story_id,
        topic_id=row.topic_id,
        first_seen=row.first_seen,
        headline=row.headline,
        what_is_new=row.what_is_new,
        story_title=row.story_title or "",
        story_is_new=row.story_id is not None and row.story_first_id == row.id,
        links=links,
        source_count=max(row.source_count, len(links)),
    )


async def _links(conn: AsyncConnection, development_ids: list[int]) -> dict[int, list[Link]]:
    """Up to MAX_LINKS links per development, one per outlet: the representative article, then earliest."""
    result: dict[int, list[Link]] = {}
    if not development_ids:
        return result
    outlet = func.coalesce(articles.c.source_id, -articles.c.id)
    representative_first = case((articles.c.id == developments.c.representative_article_id, 0), else_=1)
    order = (representative_first, articles.c.published, articles.c.id)
    for part in chunks(development_ids):
        per_outlet = (
            select(
                development_articles.c.development_id,
                articles.c.url,
                articles.c.published,
                articles.c.id.label("article_id"),
                representative_first.label("lead"),
                sources.c.title.label("source_name"),
                func.row_number()
                .over(partition_by=(development_articles.c.development_id, outlet), order_by=order)
                .label("nth_of_outlet"),
            )
            .join_from(development_articles, articles, articles.c.id == development_articles.c.article_id)
            .join(developments, developments.c.id == development_articles.c.development_id)
            .join(sources, sources.c.id == articles.c.source_id, isouter=True)
            .where(development_articles.c.development_id.in_(part))
            .subquery()
        )
        ranked = select(
            per_outlet,
            func.row_number()
            .over(
                partition_by=per_outlet.c.development_id,
                order_by=(per_outlet.c.lead, per_outlet.c.published, per_outlet.c.article_id),
            )
            .label("nth"),
        ).where(per_outlet.c.nth_of_outlet == 1)
        ranked_sub = ranked.subquery()
        query = (
            select(ranked_sub)
            .where(ranked_sub.c.nth <= MAX_LINKS)
            .order_by(ranked_sub.c.development_id, ranked_sub.c.nth)
        )
        for row in await conn.execute(query):
            result.setdefault(row.development_id, []).append(report_link(row.source_name, row.url))
    return result


async def _story_developments(
    conn: AsyncConnection, story_ids: list[int]
) -> dict[int, list[StoryDevelopment]]:
    """Each story's latest CONTEXT_DEVELOPMENTS developments."""
    found: dict[int, list[StoryDevelopment]] = {}
    for part in chunks(story_ids):
        nth = (
            func.row_number()
            .over(
                partition_by=developments.c.story_id,
                order_by=(developments.c.first_seen.desc(), developments.c.id.desc()),
            )
            .label("nth")
        )
        inner = (
            select(developments.c.id, developments.c.story_id, developments.c.first_seen, nth)
            .where(developments.c.story_id.in_(part))
            .subquery()
        )
        query = select(inner).where(inner.c.nth <= CONTEXT_DEVELOPMENTS)
        for row in await conn.execute(query):
            found.setdefault(row.story_id, []).append(StoryDevelopment(row.id, row.story_id, row.first_seen))
    return found


async def _reports(
    conn: AsyncConnection, development_ids: list[int], shown: set[int]
) -> dict[int, list[Article]]:
    """Each development's first articles (text cut to TEXT_CHARS), earliest first: MAX_REPORTS of those
    `shown`, CONTEXT_REPORTS of the others."""
    found: dict[int, list[Article]] = {}
    for part in chunks(development_ids):
        nth = (
            func.row_number()
            .over(
                partition_by=development_articles.c.development_id,
                order_by=(articles.c.published, articles.c.id),
            )
            .label("nth")
        )
        inner = (
            select(
                development_articles.c.development_id,
                articles.c.id,
                articles.c.url,
                articles.c.title,
                func.substr(articles.c.text, 1, TEXT_CHARS).label("text"),
                articles.c.published,
                articles.c.source_id,
                sources.c.title.label("source_name"),
                nth,
            )
            .join_from(development_articles, articles, articles.c.id == development_articles.c.article_id)
            .join(sources, sources.c.id == articles.c.source_id, isouter=True)
            .where(development_articles.c.development_id.in_(part))
            .subquery()
        )
        wanted = inner.c.nth <= CONTEXT_REPORTS
        wanted |= inner.c.development_id.in_([i for i in part if i in shown]) & (inner.c.nth <= MAX_REPORTS)
        query = select(inner).where(wanted).order_by(inner.c.development_id, inner.c.nth)
        for row in await conn.execute(query):
            found.setdefault(row.development_id, []).append(
                Article(
                    url=row.url,
                    title=row.title,
                    text=row.text or "",
                    published=row.published,
                    source_id=row.source_id or 0,
                    item_key="",
                    source_name=row.source_name or "",
                    id=row.id,
                )
            )
    return found


async def _topic_words(
    conn: AsyncConnection, topic_ids: list[str]
) -> tuple[dict[str, str], dict[str, list[tuple[int, str]]]]:
    """Per topic: its query, and its latest developments' (story id, headline), which show in how many of
    its stories each word is used."""
    queries: dict[str, str] = {}
    headlines: dict[str, list[tuple[int, str]]] = {}
    if not topic_ids:
        return queries, headlines
    for topic_id, query in await conn.execute(
        select(topics.c.id, topics.c.query).where(topics.c.id.in_(topic_ids))
    ):
        queries[topic_id] = query or ""
    nth = (
        func.row_number()
        .over(
            partition_by=developments.c.topic_id,
            order_by=(developments.c.last_seen.desc(), developments.c.id.desc()),
        )
        .label("nth")
    )
    inner = (
        select(developments.c.topic_id, developments.c.story_id, developments.c.headline, nth)
        .where(developments.c.topic_id.in_(topic_ids), developments.c.story_id.is_not(None))
        .subquery()
    )
    for row in await conn.execute(select(inner).where(inner.c.nth <= TOPIC_DEVELOPMENTS)):
        headlines.setdefault(row.topic_id, []).append((row.story_id, row.headline))
    return queries, headlines
