"""Engine <-> store: development and story rows for the rest of the house, and the snapshot for restarts.

The snapshot (engine_state) is what a restart rebuilds from, so assignments after a restart are the
ones the engine would have made without it. The rows are the readable record: digests, lookups and
timelines query them, never the snapshot.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime

from bot.models import Article, Topic
from bot.store.db import Db
from bot.store.engine_rows import ArticleLink, DevelopmentRow, StoryRow, write_engine_rows
from bot.store.state import get_engine_state, put_engine_state
from bot.stories.clusters import DevelopmentState, StoryState
from bot.stories.embedding import Embedder
from bot.stories.engine import StoryEngine
from bot.stories.engine_config import EngineConfig
from bot.stories.events import Decision
from bot.stories.state import dump_engine, load_engine

STATE_KEY = "story_engine"
_KEY_TERMS = 12


def _when(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


async def open_engine(
    db: Db,
    topics: Sequence[Topic],
    config: EngineConfig | None = None,
    embedder: Embedder | None = None,
) -> StoryEngine:
    """The engine as the last snapshot left it, or a fresh one."""
    blob = await get_engine_state(db, STATE_KEY)
    if blob is None:
        return StoryEngine(topics, config, embedder)
    return await asyncio.to_thread(load_engine, blob, topics, config, embedder)


async def process_and_record(
    db: Db, engine: StoryEngine, articles: Sequence[Article], *, now: datetime, snapshot: bool = True
) -> list[Decision]:
    """Run the engine on a batch off the event loop, then write its rows and snapshot in one transaction.

    snapshot=False skips the snapshot: only for replays that write one at the end (save_snapshot).
    """
    decisions = await asyncio.to_thread(engine.process_batch, articles)
    blob = await asyncio.to_thread(dump_engine, engine) if snapshot else None
    await record(db, engine, articles, decisions, blob, now=now)
    return decisions


async def save_snapshot(db: Db, engine: StoryEngine, *, now: datetime) -> None:
    """Write the engine's snapshot on its own (a replay's last step)."""
    blob = await asyncio.to_thread(dump_engine, engine)
    await put_engine_state(db, STATE_KEY, blob, now=now)


async def record(
    db: Db,
    engine: StoryEngine,
    articles: Sequence[Article],
    decisions: Sequence[Decision],
    blob: bytes | None,
    *,
    now: datetime,
) -> None:
    dirty_developments, dirty_stories = engine.take_dirty()
    links: list[ArticleLink] = [
        {
            "development_id": a.development_id,
            "article_id": article.id,
            "joined_at": article.published,
            "new_development": a.new_development,
        }
        for article, decision in zip(articles, decisions, strict=True)
        if article.id is not None
        for a in decision.assignments
    ]
    story_rows = [_story_row(story) for story in dirty_stories]
    await write_engine_rows(db, story_rows, [_development_row(dev) for dev in dirty_developments], links)
    if blob is not None:
        await put_engine_state(db, STATE_KEY, blob, now=now)


def _story_row(story: StoryState) -> StoryRow:
    key_terms = sorted(story.centroid.terms.items(), key=lambda kv: (-kv[1], kv[0]))[:_KEY_TERMS]
    return {
        "id": story.id,
        "topic_id": story.topic_id,
        "title": story.title,
        "first_seen": _when(story.first_seen),
        "last_seen": _when(story.last_seen),
        "development_count": story.development_count,
        "key_terms": [term for term, _ in key_terms if "_" not in term],
    }


def _development_row(dev: DevelopmentState) -> DevelopmentRow:
    return {
        "id": dev.id,
        "topic_id": dev.topic_id,
        "story_id": dev.story_id,
        "headline": dev.headline,
        "what_is_new": dev.what_is_new,
        "first_seen": _when(dev.first_seen),
        "last_seen": _when(dev.last_seen),
        "article_count": dev.article_count,
        "source_count": len(dev.sources),
        "representative_article_id": dev.representative_article_id,
    }
