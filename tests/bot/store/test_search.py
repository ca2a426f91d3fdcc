from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, update

from bot.store import Store
from bot.store.articles import save_articles
from bot.store.check import check_store
from bot.store.schema import articles
from bot.store.search import rebuild_search_index, search_articles, search_terms
from bot.store.sources import add_source
from tests.bot.store.conftest import make_article


async def _seed(store: Store, t0: datetime) -> dict[str, int]:
    source = await add_source(store, "https://a.example/feed", now=t0)
    batch = [
        make_article(
            1, title="Korea summit talks", text="alpha beta korea gamma", published=t0 - timedelta(hours=3)
        ),
        make_article(
            2, title="Market news", text="shares rose while korea exports fell sharply today in trade"
        ),
        make_article(
            3, title="Weather", text="rain expected in the north", published=t0 - timedelta(hours=1)
        ),
        make_article(
            4, title="Korea summit talks", text="alpha beta korea delta", published=t0 - timedelta(hours=2)
        ),
        make_article(5, title="Café politique", text="Élysée budget plan", published=t0),
    ]
    result = await save_articles(store, source.id, batch, now=t0)
    return {a.url.rsplit("/", 1)[1]: a.id or 0 for a in result.saved}


async def test_best_match_first_then_newest(store: Store, t0: datetime) -> None:
    ids = await _seed(store, t0)
    found = await search_articles(store, "korea", limit=10)
    assert [a.id for a in found] == [ids["4"], ids["1"], ids["2"]]
    both = await search_articles(store, ["Korea", "SUMMIT"], limit=10)
    assert [a.id for a in both] == [ids["4"], ids["1"]]
    assert [a.id for a in await search_articles(store, "korea", limit=1)] == [ids["4"]]


async def test_words_are_plain_words_never_syntax(store: Store, t0: datetime) -> None:
    ids = await _seed(store, t0)
    assert await search_articles(store, "", limit=5) == []
    assert await search_articles(store, '" OR * NOT (', limit=5) == []
    assert [a.id for a in await search_articles(store, "korea's", limit=5)] == []
    assert [a.id for a in await search_articles(store, "korea!", limit=5)][:1] == [ids["4"]]
    assert [a.id for a in await search_articles(store, "café", limit=5)] == [ids["5"]]
    assert [a.id for a in await search_articles(store, "élysée", limit=5)] == [ids["5"]]
    assert search_terms("North_Korea, U.S.!") == ["north", "korea", "u", "s"]


async def test_index_follows_updates_and_deletes(store: Store, t0: datetime) -> None:
    ids = await _seed(store, t0)
    async with store.write() as conn:
        await conn.execute(update(articles).where(articles.c.id == ids["3"]).values(title="Korea weather"))
        await conn.execute(delete(articles).where(articles.c.id == ids["2"]))
    found = await search_articles(store, "korea", limit=10)
    assert set(a.id for a in found) == {ids["1"], ids["3"], ids["4"]}
    assert await search_articles(store, "exports", limit=10) == []
    assert await check_store(store, now=t0) == []
    await rebuild_search_index(store)
    assert len(await search_articles(store, "korea", limit=10)) == 3
