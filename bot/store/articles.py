"""Articles: batched saving with de-duplication (seen item, same URL, syndicated copy) and reading back.

`save_articles` is on ingest's hot path: a whole feed's entries are checked and written in one
transaction with a handful of set-based statements, never a statement or a commit per entry.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, and_, literal_column, select, union_all
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.fingerprint import (
    article_fingerprint,
)
from bot.models import Article
from bot.store.db import Db, reading, writing
from bot.store.schema import articles, source_items, sources
from bot.store.sql import IN_CHUNK, chunks, upsert_insert
from bot.store.syndication import find_originals

SYNDICATION_WINDOW_DAYS = 3
# Above this many characters, fingerprinting a batch moves off the event loop.
_THREAD_FINGERPRINT_CHARS = 200_000


@dataclass(frozen=True, slots=True)
class SaveResult:
    """What a batch did: counts, the inserted articles (with ids), and existing articles now also seen here.

    `new` counts inserted originals, `syndicated` inserted copies of another outlet's article,
    `duplicate` entries not inserted (item already seen from this source, or URL already stored).
    """

    new: int = 0
    duplicate: int = 0
    syndicated: int = 0
    saved: tuple[Article, ...] = ()
    linked_article_ids: tuple[int, ...] = ()


def article_from_row(row: Row[Any]) -> Article:
    mapping = row._mapping
    return Article(
        id=row.id,
        url=row.url,
        title=row.title,
        text=row.text,
        published=row.published,
        fetched_at=row.fetched_at,
        language=row.language,
        source_id=row.source_id if row.source_id is not None else 0,
        item_key=row.item_key,
        source_name=mapping.get("source_name") or "",
        original_id=row.original_id,
    )


def articles_with_source_name() -> Any:
    """SELECT articles.*, sources.title AS source_name (outer join: a source may have been removed)."""
    return select(articles, sources.c.title.label("source_name")).join_from(
        articles, sources, articles.c.source_id == sources.c.id, isouter=True
    )


async def get_article(db: Db, article_id: int) -> Article | None:
    async with reading(db) as conn:
        row = (await conn.execute(articles_with_source_name().where(articles.c.id == article_id))).first()
        return article_from_row(row) if row else None


async def get_articles(db: Db, article_ids: Sequence[int]) -> list[Article]:
    """The articles with these ids, in the order asked (missing ids are left out)."""
    found: dict[int, Article] = {}
    async with reading(db) as conn:
        for part in chunks(list(dict.fromkeys(article_ids))):
            query = articles_with_source_name().where(articles.c.id.in_(part))
            for row in await conn.execute(query):
                found[row.id] = article_from_row(row)
    return [found[i] for i in article_ids if i in found]


async def get_article_by_url(db: Db, url: str) -> Article | None:
    async with reading(db) as conn:
        row = (await conn.execute(articles_with_source_name().where(articles.c.url == url))).first()
        return article_from_row(row) if row else None


async def article_source_ids(db: Db, article_ids: Sequence[int]) -> dict[int, set[int]]:
    """For each article, every source that brought it (its seen-item rows)."""
    result: dict[int, set[int]] = {i: set() for i in article_ids}
    async with reading(db) as conn:
        for part in chunks(list(result)):
            query = select(source_items.c.article_id, source_items.c.source_id).where(
                source_items.c.article_id.in_(part)
            )
            for row in await conn.execute(query):
                result[row.article_id].add(row.source_id)
    return result


async def _fingerprints(
    batch: Sequence[Article], known: Mapping[str, int | None] | None = None
) -> list[int | None]:
    if known is not None and all(a.url in known for a in batch):
        return [known[a.url] for a in batch]

    def compute() -> list[int | None]:
        return [article_fingerprint(a.title, a.text) for a in batch]

    if sum(len(a.text) for a in batch) > _THREAD_FINGERPRINT_CHARS:
        return await asyncio.to_thread(compute)
    return compute()


async def _lookup(
    conn: AsyncConnection, source_id: int, keys: Sequence[str], urls: Sequence[str]
) -> tuple[set[str], dict[str, int]]:
    """Item keys this source already delivered, and ids of articles already stored under these URLs.

    One UNION ALL round trip per chunk: on the hot path round trips cost more than the queries.
    """
    seen: set[str] = set()
    found: dict[str, int] = {}
    for start in range(0, max(len(keys), len(urls)), IN_CHUNK):
        key_part, url_part = keys[start : start + IN_CHUNK], urls[start : start + IN_CHUNK]
        query = union_all(
            select(
                literal_column("0").label("kind"),
                source_items.c.item_key.label("value"),
                source_items.c.article_id,
            ).where(source_items.c.source_id == source_id, source_items.c.item_key.in_(key_part)),
            select(literal_column("1"), articles.c.url, articles.c.id).where(articles.c.url.in_(url_part)),
        )
        for kind, value, article_id in await conn.execute(query):
            if kind == 0:
                seen.add(value)
            else:
                found[value] = article_id
    return seen, found


async def _ids_by_url(conn: AsyncConnection, urls: Iterable[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for part in chunks(list(urls)):
        query = select(articles.c.url, articles.c.id).where(articles.c.url.in_(part))
        found.update({row.url: row.id for row in await conn.execute(query)})
    return found


async def save_articles(
    db: Db,
    source_id: int,
    batch: Sequence[Article],
    *,
    now: datetime,
    syndication_window_days: float = SYNDICATION_WINDOW_DAYS,
    fingerprints: Mapping[str, int | None] | None = None,
) -> SaveResult:
    """Store one source's entries, skipping those already seen, in one transaction.

    An entry whose item key this source already delivered, or whose canonical URL is already stored,
    is a duplicate (the latter also records that this source carried it). A new entry whose text is
    within 3 simhash bits of a recent article from another source is stored as a syndicated copy
    (original_id set). Articles without `fetched_at` get `now`. `fingerprints` (canonical URL ->
    fingerprint), when given, spares computing them here, inside the write transaction.
    """
    unique = _unique_in_batch(batch, source_id, now)
    duplicates = len(batch) - len(unique)
    if not unique:
        return SaveResult(duplicate=duplicates)

    async with writing(db) as conn:
        seen, existing = await _lookup(conn, source_id, [a.item_key for a in unique], [a.url for a in unique])
        fresh = [a for a in unique if a.item_key not in seen]
        duplicates += len(unique) - len(fresh)
        to_insert = [a for a in fresh if a.url not in existing]

        prints = await _fingerprints(to_insert, fingerprints)
        since = now - timedelta(days=syndication_window_days)
        known = [p for p in prints if p is not None]
        matched = iter(await find_originals(conn, source_id, known, since))
        originals = [next(matched) if p is not None else None for p in prints]

        inserted = await _insert(conn, source_id, to_insert, prints, originals, existing)
        linked_candidates = [existing[a.url] for a in fresh if a.url in existing]
        already_here = await _carried_by(conn, source_id, linked_candidates)
        await _record_items(conn, source_id, fresh, inserted, existing, now)

    saved: list[Article] = []
    syndicated = 0
    for article, original in zip(to_insert, originals, strict=True):
        article_id = inserted.get(article.url)
        if article_id is None:
            continue
        saved.append(replace(article, id=article_id, original_id=original))
        syndicated += original is not None
    linked = tuple(dict.fromkeys(i for i in linked_candidates if i not in already_here))
    return SaveResult(
        new=len(saved) - syndicated,
        duplicate=duplicates + (len(fresh) - len(saved)),
        syndicated=syndicated,
        saved=tuple(saved),
        linked_article_ids=linked,
    )


def _unique_in_batch(batch: Sequence[Article], source_id: int, now: datetime) -> list[Article]:
    """The batch less repeats of an item key or URL, each with its key, source and fetch time set."""
    unique: list[Article] = []
    keys_in_batch: set[str] = set()
    urls_in_batch: set[str] = set()
    for article in batch:
        key = article.item_key or article.url
        if key in keys_in_batch or article.url in urls_in_batch:
            continue
        keys_in_batch.add(key)
        urls_in_batch.add(article.url)
        if key != article.item_key or article.source_id != source_id or article.fetched_at is None:
            article = replace(
                article, item_key=key, source_id=source_id, fetched_at=article.fetched_at or now
            )
        unique.append(article)
    return unique


async def _insert(
    conn: AsyncConnection,
    source_id: int,
    to_insert: Sequence[Article],
    prints: Sequence[int | None],
    originals: Sequence[int | None],
    existing: dict[str, int],
) -> dict[str, int]:
    """Insert the new articles; their ids by URL. URLs another worker stored meanwhile join `existing`."""
    if not to_insert:
        return {}
    rows = [
        {
            "url": a.url,
            "title": a.title,
            "text": a.text,
            "published": a.published,
            "fetched_at": a.fetched_at,
            "language": a.language,
            "source_id": source_id,
            "fingerprint": fp,
            "original_id": original,
            "item_key": a.item_key,
        }
        for a, fp, original in zip(to_insert, prints, originals, strict=True)
    ]
    stmt = (
        upsert_insert(conn, articles)
        .on_conflict_do_nothing(index_elements=[articles.c.url])
        .returning(articles.c.url, articles.c.id)
    )
    result = await conn.execute(stmt, rows)
    inserted = {row.url: row.id for row in result}
    lost = [a.url for a in to_insert if a.url not in inserted]
    if lost:
        # Another worker stored these URLs between our check and our insert.
        existing.update(await _ids_by_url(conn, lost))
    return inserted


async def _carried_by(conn: AsyncConnection, source_id: int, article_ids: Sequence[int]) -> set[int]:
    """Which of these articles this source had already delivered."""
    found: set[int] = set()
    for part in chunks(list(article_ids)):
        query = select(source_items.c.article_id).where(
            and_(source_items.c.source_id == source_id, source_items.c.article_id.in_(part))
        )
        found.update((await conn.execute(query)).scalars())
    return found


async def _record_items(
    conn: AsyncConnection,
    source_id: int,
    fresh: Sequence[Article],
    inserted: Mapping[str, int],
    existing: Mapping[str, int],
    now: datetime,
) -> None:
    """Remember each fresh item key of this source, with the article it is."""
    item_rows = [
        {
            "source_id": source_id,
            "item_key": a.item_key,
            "article_id": inserted.get(a.url) or existing[a.url],
            "first_seen": now,
        }
        for a in fresh
        if a.url in inserted or a.url in existing
    ]
    if item_rows:
        await conn.execute(upsert_insert(conn, source_items).on_conflict_do_nothing(), item_rows)
