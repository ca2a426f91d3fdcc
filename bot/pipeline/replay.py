"""Deciding again the batches decided after a partition's state was last saved (a takeover's catch-up).

The state is saved every few batches, not after each; the batches between are journalled as their
article ids and a digest of what was decided. A worker loading the partition decides those batches again
on the saved state, writing nothing (their rows, alerts and mark were recorded when first decided), and
compares digests. The engine is deterministic and is given the topics it had then, so they agree. Should
they not (an article deleted since, another model), the caller decides them again numbering above every
stored row, so that no id is reused, and saves that state at once.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Sequence

from bot.models import Article
from bot.store.articles import get_articles
from bot.store.db import Db
from bot.stories.engine import StoryEngine
from bot.stories.events import Decision
from bot.stories.partition_state import StateTracker

log = logging.getLogger("storywatch.engine")


def decision_order(found: Sequence[Article]) -> list[Article]:
    """The order a batch is decided in: one that does not depend on which worker stored which first."""
    return sorted(found, key=lambda a: (a.published, a.url, a.id or 0))


def decision_digest(decisions: Sequence[Decision], engine: StoryEngine) -> str:
    """A digest of a batch's decisions (assignments with their scores, events) and the ids it used up."""
    digest = hashlib.blake2b(digest_size=16)
    for decision in decisions:
        digest.update(repr((decision.article_id, decision.assignments, decision.events)).encode())
    digest.update(repr((engine.next_development_id, engine.next_story_id)).encode())
    return digest.hexdigest()


async def replay_unsaved(
    db: Db, engine: StoryEngine, tracker: StateTracker, partition: int, *, check: bool = True
) -> bool:
    """Decide again the batches `tracker.unsaved` lists; False as soon as one decides otherwise than
    before (with `check`; without, all are decided)."""
    for number, (article_ids, digest) in enumerate(tracker.unsaved):
        articles = await get_articles(db, article_ids)
        decisions = await asyncio.to_thread(engine.process_batch, articles) if articles else []
        tracker.note(engine)
        engine.take_dirty()
        if check and decision_digest(decisions, engine) != digest:
            log.warning(
                "engine partition=%d status=replay_differs batch=%d of %d articles=%d/%d: the batch decided "
                "differently when decided again (articles deleted since, or another model); deciding "
                "them again under new ids",
                partition,
                number + 1,
                len(tracker.unsaved),
                len(articles),
                len(article_ids),
            )
            return False
    return True
