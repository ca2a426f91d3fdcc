"""What a development's view shows beyond its row: headline, 'what is new' sentence, its story's label.

All three are worked out from the stored articles when a view is built, so they follow the story as it
grows: the headline is the plainest of the development's reports, the sentence says what the story's
earlier developments had not, and the label comes from the story's latest developments. A fixed number
of statements loads what they need, however many developments are shown.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.models import Article
from bot.store.schema import articles, development_articles, developments, sources, topics
from bot.store.sql import chunks
from bot.stories.headlines import choose_headline, clean_headline
from bot.stories.labels import story_label
from bot.stories.novelty import known_stems, new_sentence, tidy_terms
from bot.stories.text import tokenize

# Reports of a development looked at (its earliest), of its story's other developments, and how much of
# each one's text.
MAX_REPORTS = 10
CONTEXT_REPORTS = 4
TEXT_CHARS = 1_500
# A story's label and what it already said come from its latest developments.
CONTEXT_DEVELOPMENTS = 30
# A topic's latest developments, whose headlines tell which words all its stories use.
TOPIC_DEVELOPMENTS = 500


@dataclass(frozen=True, slots=True)
class Presentation:
    headline: str
    # The article the headline is from (its outlet's link goes first), if any.
    headline_article: Article | None
    what_is_new: str


@dataclass(frozen=True, slots=True)
class _Development:
    id: int
    story_id: int | None
    first_seen: datetime


async def present(
    conn: AsyncConnection, rows: Sequence[Row[Any]]
) -> tuple[dict[int, Presentation], dict[int, str]]:
    """For the development rows: how each is shown, and the label of each of their stories ('' if none)."""
    story_ids = sorted({row.story_id for row in rows if row.story_id is not None})
    context = await _story_developments(conn, story_ids)
    wanted = {row.id: _Development(row.id, row.story_id, row.first_seen) for row in rows}
    every = {**{d.id: d for ds in context.values() for d in ds}, **wanted}
    # The story's other developments lend their headlines and words only: fewer reports each will do.
    reports = await _reports(conn, list(every), set(wanted))
    chosen = {dev_id: _ordered(reports.get(dev_id, [])) for dev_id in every}
    topic_ids = sorted({row.topic_id for row in rows if row.story_id is not None})
    common, frequency, counts = await _topic_words(conn, topic_ids)
    topic_of = {row.story_id: row.topic_id for row in rows if row.story_id is not None}
    labels = {
        story_id: _label(
            context.get(story_id, []),
            chosen,
            common.get(topic_of[story_id], set()),
            frequency.get(topic_of[story_id], Counter()),
            counts.get(topic_of[story_id], 0),
        )
        for story_id in story_ids
    }
    said: dict[int, set[str]] = {}
    shown: dict[int, Presentation] = {}
    for row in rows:
        ordered = chosen[row.id]
        headline = _headline(ordered) or clean_headline(row.headline)
        earlier = [
            d for d in context.get(row.story_id, []) if (d.first_seen, d.id) < (row.first_seen, row.id)
        ]
        known: set[str] = set()
        for d in earlier:
            if d.id not in said:
                said[d.id] = known_stems(_texts([chosen[d.id]]))
            known |= said[d.id]
        line = new_sentence(ordered, headline, known) or tidy_terms(row.what_is_new, headline)
        shown[row.id] = Presentation(headline, ordered[0] if ordered else None, line)
    return shown, labels


def _ordered(reports: list[Article]) -> list[Article]:
    """The reports with the chosen headline's first, the rest in the order they were published."""
    best = choose_headline(reports)
    return [best, *(a for a in reports if a is not best)] if best is not None else []


def _headline(ordered: list[Article]) -> str:
    return clean_headline(ordered[0].title, ordered[0].source_name) if ordered else ""


def _texts(groups: Iterable[list[Article]]) -> Iterable[str]:
    for group in groups:
        for article in group:
            yield article.title
            yield article.text


def _label(
    context: list[_Development],
    chosen: dict[int, list[Article]],
    common: set[str],
    frequency: Counter[str],
    stories_seen: int,
) -> str:
    ordered = sorted(context, key=lambda d: (d.first_seen, d.id))
    headlines = [
        list(dict.fromkeys(clean_headline(a.title, a.source_name) for a in chosen[d.id]))
        for d in ordered
        if chosen.get(d.id)
    ]
    hints = (a.text[:400] for d in ordered for a in chosen.get(d.id, []))
    return story_label(
        headlines, common=common, story_frequency=frequency, stories=stories_seen, case_hints=hints
    )


async def _story_developments(conn: AsyncConnection, story_ids: list[int]) -> dict[int, list[_Development]]:
    """Each story's latest CONTEXT_DEVELOPMENTS developments."""
    found: dict[int, list[_Development]] = {}
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
            found.setdefault(row.story_id, []).append(_Development(row.id, row.story_id, row.first_seen))
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
) -> tuple[dict[str, set[str]], dict[str, Counter[str]], dict[str, int]]:
    """Per topic: its query's words, and in how many of its stories (as its latest developments' headlines
    show them) each stem is used."""
    common: dict[str, set[str]] = {}
    frequency: dict[str, Counter[str]] = {}
    counts: dict[str, int] = {}
    if not topic_ids:
        return common, frequency, counts
    for topic_id, query in await conn.execute(
        select(topics.c.id, topics.c.query).where(topics.c.id.in_(topic_ids))
    ):
        common[topic_id] = {t.stem for t in tokenize(query or "") if t.content}
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
    words: dict[tuple[str, int], set[str]] = {}
    for row in await conn.execute(select(inner).where(inner.c.nth <= TOPIC_DEVELOPMENTS)):
        words.setdefault((row.topic_id, row.story_id), set()).update(
            t.stem for t in tokenize(clean_headline(row.headline)) if t.content
        )
    for (topic_id, _), stems in words.items():
        frequency.setdefault(topic_id, Counter()).update(stems)
        counts[topic_id] = counts.get(topic_id, 0) + 1
    return common, frequency, counts
