"""Read queries over stories and developments: views with their source links, timelines, search, digests.

Every function loads what it shows in a fixed number of statements, whatever the number of developments
(no query per development), and reads inside one transaction so counts and rows agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Row, and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.messages.text import clip
from bot.models import Article, Link, Story, web_link
from bot.store.db import Db, reading
from bot.store.presentation import present
from bot.store.schema import articles, development_articles, developments, sources, stories
from bot.store.search import search_articles
from bot.store.sql import chunks
from bot.stories.headlines import clean_headline
from bot.views import DevelopmentView

# Links carried per development: one per outlet, the representative article's first.
MAX_LINKS = 5
# Article hits fetched per development wanted: many hits usually fold into one development.
_HITS_PER_RESULT = 6
_SNIPPET = 280


@dataclass(frozen=True, slots=True)
class StoryTimeline:
    story: Story
    developments: tuple[DevelopmentView, ...]
    total: int


@dataclass(frozen=True, slots=True)
class TopicTimeline:
    developments: tuple[DevelopmentView, ...]
    total: int


def _story(row: Row[Any], label: str = "") -> Story:
    return Story(
        id=row.id,
        topic_id=row.topic_id,
        title=label or row.title,
        first_seen=row.first_seen,
        last_seen=row.last_seen,
        development_count=row.development_count,
    )


async def get_story(db: Db, story_id: int) -> Story | None:
    """The story, titled with its label as it stands (its latest development's view carries it)."""
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
        views = await _views(conn, [latest] if latest is not None else [])
        return _story(row, views[0].story_title if views else "")


async def development_views(db: Db, development_ids: Sequence[int]) -> list[DevelopmentView]:
    """The developments with these ids as messages show them, in the order asked (missing ids left out)."""
    async with reading(db) as conn:
        return await _views(conn, development_ids)


async def _views(conn: AsyncConnection, development_ids: Sequence[int]) -> list[DevelopmentView]:
    wanted = list(dict.fromkeys(development_ids))
    if not wanted:
        return []
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
    shown, labels = await present(conn, list(found.values()))
    return [
        DevelopmentView(
            development_id=row.id,
            story_id=row.story_id,
            story_title=labels.get(row.story_id, "") or clean_headline(row.story_title or ""),
            story_is_new=row.story_id is not None and row.story_first_id == row.id,
            headline=shown[row.id].headline,
            what_is_new=shown[row.id].what_is_new,
            first_seen=row.first_seen,
            sources=_headline_first(links.get(row.id, []), shown[row.id].headline_article),
            source_count=max(row.source_count, len(links.get(row.id, ()))),
            topic_id=row.topic_id,
        )
        for row in (found[i] for i in wanted if i in found)
    ]


def _headline_first(links: list[Link], article: Article | None) -> tuple[Link, ...]:
    """The links with the shown headline's own first (in place of its outlet's other link, if any)."""
    if article is None or not links:
        return tuple(links)
    first = _link(article.source_name, article.url)
    rest = [link for link in links if (not link.url or link.url != first.url) and link.label != first.label]
    return (first, *rest)[: max(len(links), 1)]


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
            result.setdefault(row.development_id, []).append(_link(row.source_name, row.url))
    return result


def _link(source_name: str | None, url: str) -> Link:
    """A report's link; one without a web address keeps its outlet's name and links nowhere."""
    href = web_link(url)
    return Link(source_name or urlsplit(href).hostname or href or "unknown source", href)


async def _counted_timeline(
    conn: AsyncConnection, condition: Any, limit: int
) -> tuple[tuple[DevelopmentView, ...], int]:
    total = (await conn.execute(select(func.count()).select_from(developments).where(condition))).scalar()
    ids = (
        await conn.execute(
            select(developments.c.id)
            .where(condition)
            .order_by(developments.c.first_seen.desc(), developments.c.id.desc())
            .limit(max(limit, 0))
        )
    ).scalars()
    return tuple(await _views(conn, list(ids))), int(total or 0)


async def story_timeline(db: Db, story_id: int, limit: int) -> StoryTimeline | None:
    """The story and its latest `limit` developments, newest first, with how many it has in all."""
    async with reading(db) as conn:
        row = (await conn.execute(select(stories).where(stories.c.id == story_id))).first()
        if row is None:
            return None
        views, total = await _counted_timeline(conn, developments.c.story_id == story_id, limit)
        return StoryTimeline(_story(row, views[0].story_title if views else ""), views, total)


async def topic_timeline(db: Db, topic_id: str, limit: int) -> TopicTimeline:
    """The topic's latest `limit` developments, newest first, with how many it has in all."""
    async with reading(db) as conn:
        views, total = await _counted_timeline(conn, developments.c.topic_id == topic_id, limit)
        return TopicTimeline(views, total)


async def developments_since(
    db: Db, topic_id: str, since: datetime, until: datetime | None = None, *, limit: int | None = None
) -> list[DevelopmentView]:
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
        return await _views(conn, ids)


async def search_developments(db: Db, words: str, limit: int) -> list[DevelopmentView]:
    """Developments whose articles match all `words`, best match first (then newest).

    An article that belongs to no development (it matched no topic) is shown on its own, as a view
    with development id 0 and no story, so a lookup still finds everything the bot has read.
    """
    if limit <= 0:
        return []
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
        views = {
            view.development_id: view
            for view in await _views(conn, [c for c in chosen[:limit] if isinstance(c, int)])
        }
    found: list[DevelopmentView] = []
    for choice in chosen[:limit]:
        if isinstance(choice, Article):
            found.append(_article_view(choice))
        elif choice in views:
            found.append(views[choice])
    return found


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


def _article_view(article: Article) -> DevelopmentView:
    return DevelopmentView(
        development_id=0,
        story_id=None,
        story_title="",
        story_is_new=False,
        headline=article.title or web_link(article.url),
        what_is_new=clip(article.text, _SNIPPET),
        first_seen=article.published,
        sources=(_link(article.source_name, article.url),),
        source_count=1,
    )
