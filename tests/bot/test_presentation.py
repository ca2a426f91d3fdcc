"""The story read queries on both databases: views with links, timelines, digest windows, search."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import event

from bot.models import Article, Topic
from bot.presentation import (
    development_views,
    developments_since,
    get_story,
    search_developments,
    story_timeline,
    topic_timeline,
)
from bot.store import Store
from bot.store.articles import save_articles
from bot.store.schema import development_articles, developments, stories
from bot.store.sources import add_source
from bot.store.stories import MAX_LINKS
from bot.store.topics import add_topic

T0 = datetime(2026, 3, 3, 5, 0, tzinfo=UTC)


async def _articles(store: Store, outlets: int, per_outlet: int = 1) -> list[Article]:
    """Articles about a summit from `outlets` sources; returns them with ids, outlet by outlet."""
    saved: list[Article] = []
    for n in range(outlets):
        source = await add_source(store, f"https://outlet{n}.example/feed", now=T0, title=f"Outlet {n}")
        batch = [
            Article(
                url=f"https://outlet{n}.example/{k}",
                title=f"Summit talks report {n} {k}",
                text=f"Summit in Hanoi, report {n}-{k} with unique{n}x{k} words.",
                published=T0 + timedelta(minutes=10 * n + k),
                source_id=source.id,
                item_key=f"{n}-{k}",
            )
            for k in range(per_outlet)
        ]
        result = await save_articles(store, source.id, batch, now=T0)
        saved.extend(result.saved)
    return saved


async def _story(store: Store, story_id: int, topic_id: str = "korea", title: str = "Talks") -> None:
    async with store.write() as conn:
        await conn.execute(
            stories.insert().values(
                id=story_id,
                topic_id=topic_id,
                title=title,
                first_seen=T0,
                last_seen=T0 + timedelta(days=5),
                development_count=0,
                key_terms=[],
            )
        )


async def _development(
    store: Store,
    development_id: int,
    *,
    story_id: int | None,
    hours: float,
    members: list[Article],
    topic_id: str = "korea",
    representative: Article | None = None,
) -> None:
    when = T0 + timedelta(hours=hours)
    async with store.write() as conn:
        await conn.execute(
            developments.insert().values(
                id=development_id,
                topic_id=topic_id,
                story_id=story_id,
                headline=f"Development {development_id}",
                what_is_new=f"What is new in {development_id}",
                first_seen=when,
                last_seen=when + timedelta(hours=1),
                article_count=len(members),
                source_count=len({a.source_id for a in members}),
                representative_article_id=representative.id if representative else None,
            )
        )
        if members:
            await conn.execute(
                development_articles.insert(),
                [{"development_id": development_id, "article_id": a.id, "joined_at": when} for a in members],
            )


async def _topics(store: Store) -> None:
    await add_topic(store, Topic("korea", "Korea", "korea"), now=T0)
    await add_topic(store, Topic("fed", "Fed", "fed"), now=T0)


@contextmanager
def count_statements(store: Store) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(*args: Any) -> None:
        seen.append(args[2])

    event.listen(store.engine.sync_engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(store.engine.sync_engine, "before_cursor_execute", record)


async def test_views_carry_one_link_per_outlet_headline_first(store: Store) -> None:
    await _topics(store)
    await _story(store, 1)
    members = await _articles(store, outlets=7, per_outlet=2)
    representative = members[9]
    await _development(store, 1, story_id=1, hours=0, members=members, representative=representative)
    [view] = await development_views(store, [1])
    assert len(view.sources) == MAX_LINKS
    # The headlines are alike: the earliest is shown, and its link goes first.
    assert view.headline == members[0].title and view.sources[0].url == members[0].url
    outlets = [link.label for link in view.sources]
    assert len(set(outlets)) == MAX_LINKS
    # Then the representative's outlet, then the earliest outlets, each by its first article.
    assert outlets == ["Outlet 0", "Outlet 4", "Outlet 1", "Outlet 2", "Outlet 3"]
    assert view.sources[1].url == representative.url
    assert view.source_count == 7
    # What is new: the lead of the summaries, a sentence.
    assert view.what_is_new.startswith("Summit in Hanoi, report 0-0")
    # The story's label comes from its developments' headlines, not its stored title.
    assert view.story_title == "Summit · talks" and view.story_is_new and view.topic_id == "korea"
    # The story itself is titled with its label too, wherever it is shown.
    story = await get_story(store, 1)
    timeline = await story_timeline(store, 1, 5)
    assert story is not None and story.title == "Summit · talks"
    assert timeline is not None and timeline.story.title == "Summit · talks"


async def test_only_a_storys_first_development_is_new_and_order_is_kept(store: Store) -> None:
    await _topics(store)
    await _story(store, 1)
    members = await _articles(store, outlets=2)
    await _development(store, 1, story_id=1, hours=0, members=members[:1])
    await _development(store, 2, story_id=1, hours=5, members=members[1:])
    await _development(store, 3, story_id=None, hours=6, members=[])
    views = await development_views(store, [3, 2, 99, 1])
    assert [v.development_id for v in views] == [3, 2, 1]
    assert [v.story_is_new for v in views] == [False, False, True]
    assert views[0].sources == () and views[0].story_title == ""


async def test_timelines_are_newest_first_with_the_total(store: Store) -> None:
    await _topics(store)
    await _story(store, 1)
    await _story(store, 2, topic_id="fed", title="Rates")
    members = await _articles(store, outlets=1)
    for n in range(1, 7):
        await _development(store, n, story_id=1, hours=n, members=members)
    await _development(store, 7, story_id=2, hours=3, members=[], topic_id="fed")
    found = await topic_timeline(store, "korea", 4)
    assert [v.development_id for v in found.developments] == [6, 5, 4, 3] and found.total == 6
    story = await story_timeline(store, 2, 10)
    assert story is not None and story.story.title == "Rates" and story.total == 1
    assert [v.development_id for v in story.developments] == [7]
    assert await story_timeline(store, 42, 10) is None
    assert (await topic_timeline(store, "nothing", 5)).total == 0
    assert (await get_story(store, 1)) is not None and await get_story(store, 3) is None


async def test_views_take_a_fixed_number_of_statements(store: Store) -> None:
    await _topics(store)
    await _story(store, 1)
    members = await _articles(store, outlets=3)
    for n in range(1, 21):
        await _development(store, n, story_id=1, hours=n, members=members)
    with count_statements(store) as one:
        await topic_timeline(store, "korea", 1)
    with count_statements(store) as twenty:
        found = await topic_timeline(store, "korea", 20)
    assert len(found.developments) == 20 and all(len(v.sources) == 3 for v in found.developments)
    assert len(one) == len(twenty)


async def test_developments_since_is_the_digest_window(store: Store) -> None:
    await _topics(store)
    members = await _articles(store, outlets=1)
    for n in range(1, 6):
        await _development(store, n, story_id=None, hours=n * 10, members=members)
    await _development(store, 9, story_id=None, hours=25, members=members, topic_id="fed")
    window = await developments_since(store, "korea", T0 + timedelta(hours=20), T0 + timedelta(hours=40))
    assert [v.development_id for v in window] == [2, 3]
    everything = await developments_since(store, "korea", T0)
    assert [v.development_id for v in everything] == [1, 2, 3, 4, 5]


async def test_search_maps_articles_to_their_developments(store: Store) -> None:
    await _topics(store)
    await _story(store, 1)
    members = await _articles(store, outlets=3)
    await _development(store, 1, story_id=1, hours=0, members=members[:2])
    # The third article belongs to no development: it is shown on its own.
    found = await search_developments(store, "summit hanoi", 5)
    assert [v.development_id for v in found].count(1) == 1
    loose = [v for v in found if v.development_id == 0]
    assert [v.sources[0].url for v in loose] == [members[2].url]
    assert loose[0].headline == members[2].title and loose[0].story_id is None
    [only] = await search_developments(store, "unique1x0", 5)
    assert only.development_id == 1 and len(only.sources) == 2
    assert await search_developments(store, "nothing-like-this", 5) == []
    assert await search_developments(store, "summit", 1) == found[:1]
