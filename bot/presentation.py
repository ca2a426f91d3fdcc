"""Stories and developments as messages and commands show them: the store's records presented.

A development's headline, 'what is new' sentence and its story's label are worked out from its stored
reports when a view is built, so they follow the story as it grows: the headline is the plainest of the
development's reports, the sentence says what the story's earlier developments had not, and the label
comes from the story's latest developments. The store reads the records (bot.store.stories); this module
holds the choosing, which belongs to the story engine's words (bot.stories), above the store.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime

from bot.messages.text import clip
from bot.models import Article, Link, Story, web_link
from bot.store import stories as story_queries
from bot.store.db import Db
from bot.stories.headlines import choose_headline, clean_headline
from bot.stories.labels import story_label
from bot.stories.novelty import known_stems, new_sentence, tidy_terms
from bot.stories.text import tokenize
from bot.views import (
    DevelopmentRecord,
    DevelopmentRecords,
    DevelopmentView,
    StoryDevelopment,
    Timeline,
    report_link,
)

_SNIPPET = 280


async def development_views(db: Db, development_ids: Sequence[int]) -> list[DevelopmentView]:
    """The developments with these ids as messages show them, in the order asked (missing ids left out)."""
    return present(await story_queries.development_records(db, development_ids))


async def development_views_by_id(db: Db, development_ids: Sequence[int]) -> dict[int, DevelopmentView]:
    """The developments as messages show them, keyed by id."""
    return {view.development_id: view for view in await development_views(db, development_ids)}


async def get_story(db: Db, story_id: int) -> Story | None:
    """The story, titled with its label as it stands (its latest development's view carries it)."""
    found = await story_queries.latest_of_story(db, story_id)
    if found is None:
        return None
    story, records = found
    return _titled(story, present(records))


async def story_timeline(db: Db, story_id: int, limit: int) -> Timeline | None:
    """The story and its latest `limit` developments, newest first, with how many it has in all."""
    found = await story_queries.story_timeline(db, story_id, limit)
    if found is None:
        return None
    stored, records, total = found
    views = present(records)
    story = _titled(stored, views)
    return Timeline(story.title, tuple(views), total, story)


async def topic_timeline(db: Db, topic_id: str, limit: int, *, title: str = "") -> Timeline:
    """The topic's latest `limit` developments, newest first, with how many it has in all."""
    records, total = await story_queries.topic_timeline(db, topic_id, limit)
    return Timeline(title, tuple(present(records)), total)


async def developments_since(
    db: Db, topic_id: str, since: datetime, until: datetime | None = None, *, limit: int | None = None
) -> list[DevelopmentView]:
    """The topic's developments first seen in [since, until), oldest first (a digest's contents)."""
    return present(await story_queries.developments_since(db, topic_id, since, until, limit=limit))


async def developments_between(
    db: Db, topic_id: str, *, since: datetime, until: datetime, muted: set[int] | None = None
) -> list[DevelopmentView]:
    """The topic's developments first seen in [since, until), leaving out muted stories."""
    views = await developments_since(db, topic_id, since, until)
    return [view for view in views if view.story_id not in (muted or set())]


async def search_developments(db: Db, words: str, limit: int) -> list[DevelopmentView]:
    """Developments whose articles match all `words`, best match first (then newest).

    An article that belongs to no development (it matched no topic) is shown on its own, as a view
    with development id 0 and no story, so a lookup still finds everything the bot has read.
    """
    chosen, records = await story_queries.search_records(db, words, limit)
    views = {view.development_id: view for view in present(records)}
    found: list[DevelopmentView] = []
    for choice in chosen:
        if isinstance(choice, Article):
            found.append(_article_view(choice))
        elif choice in views:
            found.append(views[choice])
    return found


def _titled(story: Story, views: Sequence[DevelopmentView]) -> Story:
    label = views[0].story_title if views else ""
    return replace(story, title=label or story.title)


def _article_view(article: Article) -> DevelopmentView:
    return DevelopmentView(
        development_id=0,
        story_id=None,
        story_title="",
        story_is_new=False,
        headline=article.title or web_link(article.url),
        what_is_new=clip(article.text, _SNIPPET),
        first_seen=article.published,
        sources=(report_link(article.source_name, article.url),),
        source_count=1,
    )


def present(found: DevelopmentRecords) -> list[DevelopmentView]:
    """The records as messages show them, in their order: headline, 'what is new', the story's label."""
    records = found.records
    context = found.story_developments
    wanted = {r.development_id for r in records}
    every = [*(d.id for ds in context.values() for d in ds), *wanted]
    chosen = {dev_id: _ordered(list(found.reports.get(dev_id, ()))) for dev_id in every}
    labels = _labels(found, chosen)
    said: dict[int, set[str]] = {}
    views: list[DevelopmentView] = []
    for record in records:
        ordered = chosen[record.development_id]
        headline = _headline(ordered) or clean_headline(record.headline)
        known: set[str] = set()
        for d in context.get(record.story_id, []) if record.story_id is not None else []:
            if (d.first_seen, d.id) < (record.first_seen, record.development_id):
                if d.id not in said:
                    said[d.id] = known_stems(_texts([chosen[d.id]]))
                known |= said[d.id]
        line = new_sentence(ordered, headline, known) or tidy_terms(record.what_is_new, headline)
        views.append(_view(record, headline, line, ordered[0] if ordered else None, labels))
    return views


def _view(
    record: DevelopmentRecord, headline: str, line: str, article: Article | None, labels: dict[int, str]
) -> DevelopmentView:
    story_id = record.story_id
    return DevelopmentView(
        development_id=record.development_id,
        story_id=story_id,
        story_title=(labels.get(story_id, "") if story_id is not None else "")
        or clean_headline(record.story_title),
        story_is_new=record.story_is_new,
        headline=headline,
        what_is_new=line,
        first_seen=record.first_seen,
        sources=_headline_first(list(record.links), article),
        source_count=record.source_count,
        topic_id=record.topic_id,
    )


def _headline_first(links: list[Link], article: Article | None) -> tuple[Link, ...]:
    """The links with the shown headline's own first (in place of its outlet's other link, if any)."""
    if article is None or not links:
        return tuple(links)
    first = report_link(article.source_name, article.url)
    rest = [link for link in links if (not link.url or link.url != first.url) and link.label != first.label]
    return (first, *rest)[: max(len(links), 1)]


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


def _labels(found: DevelopmentRecords, chosen: dict[int, list[Article]]) -> dict[int, str]:
    """The label of each of the records' stories ('' if none)."""
    topic_of = {r.story_id: r.topic_id for r in found.records if r.story_id is not None}
    common, frequency, counts = _topic_words(found)
    return {
        story_id: _label(
            found.story_developments.get(story_id, []),
            chosen,
            common.get(topic_of[story_id], set()),
            frequency.get(topic_of[story_id], Counter()),
            counts.get(topic_of[story_id], 0),
        )
        for story_id in sorted(topic_of)
    }


def _label(
    context: Sequence[StoryDevelopment],
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


def _topic_words(
    found: DevelopmentRecords,
) -> tuple[dict[str, set[str]], dict[str, Counter[str]], dict[str, int]]:
    """Per topic: its query's words, and in how many of its stories (as its latest developments' headlines
    show them) each stem is used."""
    common = {
        topic_id: {t.stem for t in tokenize(query) if t.content}
        for topic_id, query in found.topic_queries.items()
    }
    frequency: dict[str, Counter[str]] = {}
    counts: dict[str, int] = {}
    for topic_id, headlines in found.topic_headlines.items():
        words: dict[int, set[str]] = {}
        for story_id, headline in headlines:
            words.setdefault(story_id, set()).update(
                t.stem for t in tokenize(clean_headline(headline)) if t.content
            )
        for stems in words.values():
            frequency.setdefault(topic_id, Counter()).update(stems)
        counts[topic_id] = len(words)
    return common, frequency, counts
