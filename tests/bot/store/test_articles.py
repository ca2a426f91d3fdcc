from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from bot.store import Store
from bot.store.articles import (
    article_source_ids,
    get_article,
    get_article_by_url,
    get_articles,
    save_articles,
)
from bot.store.schema import articles, source_items
from bot.store.sources import add_source
from tests.bot.store.conftest import make_article

STORY = (
    "Foreign Minister Cho Hyun, visiting the United States on Sept. 26, expressed hope that a North "
    "Korea-U.S. summit could take place soon to reduce tensions on the Korean Peninsula and welcomed a "
    "potential meeting between U.S. President Trump and North Korean leader Kim Jong Un. During an "
    "interview at South Korea's UN mission in New York, Cho highlighted that President Lee Jae-myung had "
    "asked Trump to act as a peacemaker. He added that while South Korea may not lead the talks, it "
    "expects Trump to take a proactive role in bringing North Korea back to the negotiating table."
)
# Long enough that a byline or footer is a small share of the words, as with real articles.
LONG_STORY = (
    STORY + " Cho cited the heightened global instability following Russia's 2022 invasion of Ukraine to "
    "underline the need for renewed North Korea-U.S. dialogue. He stressed South Korea's concern over "
    "potential military conflict on the peninsula and the importance of maintaining communication with "
    "North Korea, even through a hotline, to ease tensions. A senior South Korean government official in "
    "New York expressed expectations for renewed dialogue. The official highlighted that the APEC summit "
    "in Gyeongju next month could create an opportunity and said officials were closely monitoring "
    "possible contact in New York, noting that any talks would be welcomed but are not guaranteed. The "
    "official reaffirmed that Seoul would keep working with Washington on a common approach and that "
    "dialogue with Pyongyang remained the only sustainable path toward peace on the peninsula."
)
OTHER_STORY = (
    "The central bank held interest rates steady on Thursday, saying inflation had cooled faster than "
    "expected over the summer while unemployment edged higher in several regions. Economists had "
    "predicted the pause after weaker retail figures, and markets rose modestly after the announcement "
    "as traders priced in a cut before the end of the year, according to analysts in the capital."
)


async def _count(store: Store, table: object) -> int:
    async with store.read() as conn:
        return int((await conn.execute(select(func.count()).select_from(table))).scalar_one())  # type: ignore[arg-type]


async def test_new_articles_are_saved_with_ids(store: Store, t0: datetime) -> None:
    source = await add_source(store, "https://a.example/feed", now=t0, title="Outlet A")
    batch = [make_article(n, fetched_at=None) for n in range(3)]
    result = await save_articles(store, source.id, batch, now=t0)
    assert (result.new, result.duplicate, result.syndicated) == (3, 0, 0)
    assert [a.url for a in result.saved] == [a.url for a in batch]
    assert all(a.id and a.source_id == source.id and a.fetched_at == t0 for a in result.saved)
    stored = await get_articles(store, [a.id or 0 for a in result.saved])
    assert [a.title for a in stored] == [a.title for a in batch]
    assert stored[0].source_name == "Outlet A" and stored[0].published == t0
    assert stored[0].published.tzinfo is UTC


async def test_same_item_twice_is_a_duplicate(store: Store, t0: datetime) -> None:
    source = await add_source(store, "https://a.example/feed", now=t0)
    first = await save_articles(store, source.id, [make_article(1), make_article(2)], now=t0)
    assert first.new == 2
    # Same item key again (even with an updated URL) and an in-batch repeat are duplicates.
    again = await save_articles(
        store,
        source.id,
        [make_article(1, url="https://news.example/1?utm=x"), make_article(3), make_article(3)],
        now=t0 + timedelta(minutes=5),
    )
    assert (again.new, again.duplicate, again.syndicated) == (1, 2, 0)
    assert await _count(store, articles) == 3
    assert await _count(store, source_items) == 3


async def test_same_url_from_two_sources_is_one_article_two_items(store: Store, t0: datetime) -> None:
    a = await add_source(store, "https://a.example/feed", now=t0)
    b = await add_source(store, "https://b.example/feed", now=t0)
    first = await save_articles(store, a.id, [make_article(1, item_key="a-guid-1")], now=t0)
    second = await save_articles(store, b.id, [make_article(1, item_key="b-guid-77")], now=t0)
    assert (second.new, second.duplicate, second.syndicated) == (0, 1, 0)
    article_id = first.saved[0].id
    assert article_id is not None and second.linked_article_ids == (article_id,)
    assert await _count(store, articles) == 1
    assert await article_source_ids(store, [article_id]) == {article_id: {a.id, b.id}}
    # Seen again from b: still a duplicate, and no longer newly linked.
    third = await save_articles(store, b.id, [make_article(1, item_key="b-guid-77")], now=t0)
    assert (third.duplicate, third.linked_article_ids) == (1, ())
    stored = await get_article_by_url(store, make_article(1).url)
    assert stored is not None and stored.source_id == a.id


async def test_syndicated_copy_is_linked_to_its_original(store: Store, t0: datetime) -> None:
    a = await add_source(store, "https://a.example/feed", now=t0)
    b = await add_source(store, "https://b.example/feed", now=t0)
    c = await add_source(store, "https://c.example/feed", now=t0)
    first = [make_article(1, text=LONG_STORY), make_article(2, text=OTHER_STORY)]
    original = await save_articles(store, a.id, first, now=t0)
    original_id = original.saved[0].id
    copy = make_article(
        10, text="By AP staff. " + LONG_STORY + " Reporting by the wire.", url="https://b.example/c"
    )
    later = t0 + timedelta(hours=2)
    result = await save_articles(store, b.id, [copy, make_article(11)], now=later)
    assert (result.new, result.duplicate, result.syndicated) == (1, 0, 1)
    saved_copy = next(x for x in result.saved if x.url == copy.url)
    assert saved_copy.original_id == original_id and saved_copy.id != original_id
    stored = await get_article(store, saved_copy.id or 0)
    assert stored is not None and stored.original_id == original_id
    # Another outlet's exact copy (its own headline) points at the root original too.
    exact = make_article(20, title="Another headline", text=LONG_STORY, url="https://c.example/x")
    third = await save_articles(store, c.id, [exact], now=later)
    assert third.syndicated == 1 and third.saved[0].original_id == original_id


async def test_near_identical_text_from_the_same_source_is_not_syndication(
    store: Store, t0: datetime
) -> None:
    a = await add_source(store, "https://a.example/feed", now=t0)
    await save_articles(store, a.id, [make_article(1, text=STORY)], now=t0)
    update = await save_articles(store, a.id, [make_article(2, text=STORY + " Updated.")], now=t0)
    assert (update.new, update.syndicated) == (1, 0)


async def test_old_articles_are_outside_the_syndication_window(store: Store, t0: datetime) -> None:
    a = await add_source(store, "https://a.example/feed", now=t0)
    b = await add_source(store, "https://b.example/feed", now=t0)
    await save_articles(store, a.id, [make_article(1, text=STORY)], now=t0)
    much_later = t0 + timedelta(days=30)
    result = await save_articles(store, b.id, [make_article(2, text=STORY)], now=much_later)
    assert (result.new, result.syndicated) == (1, 0)


async def test_short_texts_are_never_called_copies(store: Store, t0: datetime) -> None:
    a = await add_source(store, "https://a.example/feed", now=t0)
    b = await add_source(store, "https://b.example/feed", now=t0)
    await save_articles(store, a.id, [make_article(1, title="Breaking", text="Quake hits")], now=t0)
    result = await save_articles(store, b.id, [make_article(2, title="Breaking", text="Quake hits")], now=t0)
    assert (result.new, result.syndicated) == (1, 0)


async def test_large_batch_in_one_call(store: Store, t0: datetime) -> None:
    source = await add_source(store, "https://a.example/feed", now=t0)
    batch = [make_article(n) for n in range(1200)]
    result = await save_articles(store, source.id, batch, now=t0)
    assert result.new == 1200 and len({a.id for a in result.saved}) == 1200
    again = await save_articles(store, source.id, batch, now=t0)
    assert (again.new, again.duplicate) == (0, 1200)


async def test_empty_batch(store: Store, t0: datetime) -> None:
    source = await add_source(store, "https://a.example/feed", now=t0)
    result = await save_articles(store, source.id, [], now=t0)
    assert (result.new, result.duplicate, result.syndicated, result.saved) == (0, 0, 0, ())


async def test_missing_item_key_falls_back_to_url(store: Store, t0: datetime) -> None:
    source = await add_source(store, "https://a.example/feed", now=t0)
    article = replace(make_article(1), item_key="")
    first = await save_articles(store, source.id, [article], now=t0)
    assert first.saved[0].item_key == article.url
    assert (await save_articles(store, source.id, [article], now=t0)).duplicate == 1


async def test_save_inside_callers_transaction(store: Store, t0: datetime) -> None:
    source = await add_source(store, "https://a.example/feed", now=t0)
    async with store.write() as conn:
        result = await save_articles(conn, source.id, [make_article(1)], now=t0)
        assert result.new == 1
        await conn.rollback()
    assert await _count(store, articles) == 0
