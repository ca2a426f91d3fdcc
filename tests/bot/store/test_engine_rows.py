"""The engine's rows: written again as developments grow, and each article's link to its development once."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from bot.models import Topic
from bot.store import Store
from bot.store.articles import save_articles
from bot.store.engine_rows import ArticleLink, DevelopmentRow, StoryRow, write_engine_rows
from bot.store.schema import development_articles, developments, stories
from bot.store.sources import add_source
from bot.store.topics import add_topic
from tests.bot.store.conftest import make_article


def _story(t0: datetime, developments: int) -> StoryRow:
    return {
        "id": 7,
        "topic_id": "korea",
        "title": "Talks resume",
        "first_seen": t0,
        "last_seen": t0 + timedelta(hours=developments),
        "development_count": developments,
        "key_terms": ["talk", "korea"],
    }


def _development(t0: datetime, dev_id: int, articles: int, article_id: int) -> DevelopmentRow:
    return {
        "id": dev_id,
        "topic_id": "korea",
        "story_id": 7,
        "headline": f"Development {dev_id}, {articles} reports",
        "what_is_new": "envoys",
        "first_seen": t0,
        "last_seen": t0 + timedelta(hours=articles),
        "article_count": articles,
        "source_count": articles,
        "representative_article_id": article_id,
    }


def _link(t0: datetime, dev_id: int, article_id: int, first: bool) -> ArticleLink:
    return {"development_id": dev_id, "article_id": article_id, "joined_at": t0, "new_development": first}


async def _links(store: Store) -> list[tuple[int, int, bool]]:
    query = select(
        development_articles.c.development_id,
        development_articles.c.article_id,
        development_articles.c.new_development,
    ).order_by(development_articles.c.development_id, development_articles.c.article_id)
    async with store.read() as conn:
        return [(row[0], row[1], bool(row[2])) for row in (await conn.execute(query)).all()]


async def _story_count(store: Store, story_id: int) -> int | None:
    query = select(stories.c.development_count).where(stories.c.id == story_id)
    async with store.read() as conn:
        return (await conn.execute(query)).scalar()


async def _developments(store: Store) -> list[tuple[int, int, int | None]]:
    query = select(
        developments.c.id, developments.c.article_count, developments.c.representative_article_id
    ).order_by(developments.c.id)
    async with store.read() as conn:
        return [(row[0], row[1], row[2]) for row in (await conn.execute(query)).all()]


async def test_rows_are_updated_and_links_recorded_once(store: Store, t0: datetime) -> None:
    await add_topic(store, Topic(id="korea", name="Korea", query="korea"), now=t0)
    source = await add_source(store, "https://a.example/feed", now=t0, title="Outlet A")
    saved = (await save_articles(store, source.id, [make_article(n) for n in range(3)], now=t0)).saved
    a, b, c = (article.id for article in saved)
    assert a is not None and b is not None and c is not None

    await write_engine_rows(store, [_story(t0, 1)], [_development(t0, 11, 1, a)], [_link(t0, 11, a, True)])
    # The next batch grows the development, starts another, and repeats a link already recorded.
    await write_engine_rows(
        store,
        [_story(t0, 2)],
        [_development(t0, 11, 2, a), _development(t0, 12, 1, c)],
        [_link(t0, 11, a, True), _link(t0, 11, b, False), _link(t0, 12, c, True)],
    )

    assert await _story_count(store, 7) == 2
    assert await _developments(store) == [(11, 2, a), (12, 1, c)]
    assert await _links(store) == [(11, a, True), (11, b, False), (12, c, True)]


async def test_nothing_to_write_is_no_error(store: Store, t0: datetime) -> None:
    await write_engine_rows(store, [], [], [])
    assert await _links(store) == [] and await _developments(store) == []
    assert await _story_count(store, 7) is None
