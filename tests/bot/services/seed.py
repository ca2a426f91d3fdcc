"""A store with real news in it: a few articles through the real article store, story engine and persist."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.models import Article, Topic
from bot.store.articles import save_articles
from bot.store.db import Store
from bot.store.sources import add_source
from bot.store.topics import upsert_topic
from bot.stories.persist import open_engine, process_and_record

T0 = datetime(2026, 3, 3, 5, 0, tzinfo=UTC)
TOPICS = (
    Topic("korea", "Korea diplomacy", '"north korea" OR pyongyang OR "kim jong un"'),
    Topic("fed", "Central banks", '"federal reserve" OR "interest rates"'),
)
OUTLETS = ("Reuters", "AP", "BBC")
# (hours after T0, outlet, title, text)
NEWS = (
    (0, "Reuters", "US and North Korea agree to hold summit in Hanoi",
     "Washington and Pyongyang agreed to hold a second summit between Donald Trump and Kim Jong Un "
     "in Hanoi, Vietnam, officials said."),
    (1, "AP", "Trump and Kim will meet in Hanoi for second summit",
     "Donald Trump and Kim Jong Un will meet in Hanoi, Vietnam, for their second summit, "
     "the White House said."),
    (2, "BBC", "Hanoi chosen as venue for Trump-Kim summit",
     "Vietnam's capital Hanoi will host the second summit between Donald Trump and "
     "North Korea's Kim Jong Un."),
    (200, "Reuters", "North Korea summit in Hanoi ends without agreement",
     "The summit between Donald Trump and Kim Jong Un in Hanoi ended abruptly without any agreement on "
     "sanctions or denuclearization."),
    (260, "BBC", "Federal Reserve raises interest rates by a quarter point",
     "The Federal Reserve raised interest rates by a quarter point on Wednesday, citing strong job growth."),
    (261, "AP", "Volcano erupts on remote island",
     "A volcano erupted on a remote Pacific island, sending ash into the sky; no one was hurt."),
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Seeded:
    source_ids: dict[str, int]
    article_ids: list[int]
    now: datetime


async def seed_news(store: Store, topics: tuple[Topic, ...] = TOPICS) -> Seeded:
    """Store the topics, three sources and NEWS, each article through the engine as a poll would."""
    for topic in topics:
        await upsert_topic(store, topic, now=T0)
    ids = {}
    for name in OUTLETS:
        source = await add_source(store, f"https://{name.lower()}.example/feed", now=T0, title=name)
        ids[name] = source.id
    engine = await open_engine(store, topics)
    article_ids = []
    for n, (hours, outlet, title, text) in enumerate(NEWS):
        published = T0 + timedelta(hours=hours)
        article = Article(
            url=f"https://{outlet.lower()}.example/{n}",
            title=title,
            text=text,
            published=published,
            source_id=ids[outlet],
            item_key=str(n),
            source_name=outlet,
        )
        saved = await save_articles(store, ids[outlet], [article], now=published)
        await process_and_record(store, engine, list(saved.saved), now=published)
        article_ids.extend(a.id for a in saved.saved if a.id is not None)
    return Seeded(ids, article_ids, T0 + timedelta(hours=262))
