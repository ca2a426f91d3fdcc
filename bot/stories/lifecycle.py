"""What the engine holds and for how long: developments and stories are adopted from a snapshot, grow with
each article, close past the window and are summarised once dormant.

Only recent developments are held (and indexed): a development idle past the window is dropped, so the
cost of an article does not grow with the length of history. Every change marks what the store must
write again.
"""

from __future__ import annotations

import heapq
from typing import Any

from bot.stories.clusters import (
    DORMANT_STORY_TERMS,
    MAX_DEVELOPMENT_TERMS,
    MAX_MEMBERS,
    MAX_STORY_TERMS,
    DevelopmentState,
    StoryState,
)
from bot.stories.engine_config import EngineConfig
from bot.stories.index import DenseRows, TermIndex, lightest
from bot.stories.regroup import Regrouping
from bot.stories.vectors import SparseVector


class Lifecycle(Regrouping):
    """The held developments and stories, their indexes, expiry and the rows the store must write."""

    next_development_id: int
    next_story_id: int
    id_step: int

    def __init__(self, config: EngineConfig) -> None:
        self.config = config
        self.developments = {}
        self.stories = {}
        self.next_development_id = 1
        self.next_story_id = 1
        # Ids advance by this step: partition p of n starts at p + 1 and steps by n, so ids stay unique.
        self.id_step = 1
        self.merged_into = {}
        # Active developments per topic, and of every topic in one index (which topics is an article near?),
        # with their model vectors and expiry times.
        self._topic_devs = {}
        self._devs = TermIndex()
        self._dev_rows = DenseRows()
        self._dev_expiry = []
        # Stories per topic: summarised once dormant, and at most max_stories of them kept.
        self._story_index = {}
        self._topic_stories = {}
        self._story_rows = DenseRows()
        self._dormant = []
        # What changed since the store last looked: persist.py writes these rows and clears the sets.
        self.dirty_developments = {}
        self.dirty_stories = {}

    def take_dirty(self) -> tuple[list[DevelopmentState], list[StoryState]]:
        """Developments and stories changed since the last call, in id order; the store writes these."""
        devs = [d for _, d in sorted(self.dirty_developments.items())]
        stories = [s for _, s in sorted(self.dirty_stories.items())]
        self.dirty_developments.clear()
        self.dirty_stories.clear()
        return devs, stories

    def adopt_development(self, dev: DevelopmentState) -> None:
        """Take back a development from a snapshot, indexing it again."""
        self.developments[dev.id] = dev
        self._index_terms(dev, dev.centroid.terms)
        if dev.embedding is not None:
            self._dev_rows.set(dev.id, dev.embedding)
        heapq.heappush(self._dev_expiry, (dev.last_seen, dev.id))

    def adopt_story(self, story: StoryState) -> None:
        self.stories[story.id] = story
        self._topic_stories.setdefault(story.topic_id, set()).add(story.id)
        self._story_index.setdefault(story.topic_id, TermIndex()).add(story.id, story.centroid.terms)
        if story.embedding is not None:
            self._story_rows.set(story.id, story.embedding)
        heapq.heappush(self._dormant, (story.last_seen, story.id))

    def _expire(self, now: float) -> None:
        """Drop developments idle past the window; summarise stories idle past their dormancy."""
        heap = self._dev_expiry
        limit = now - self.config.window_h * 3600.0
        while heap and heap[0][0] < limit:
            when, dev_id = heapq.heappop(heap)
            dev = self.developments.get(dev_id)
            if dev is None or dev.last_seen != when:
                continue
            self.close(dev)
        heap = self._dormant
        limit = now - self.config.story_dormant_h * 3600.0
        while heap and heap[0][0] < limit:
            when, story_id = heapq.heappop(heap)
            story = self.stories.get(story_id)
            if story is not None and story.last_seen == when:
                dropped = story.centroid.prune(DORMANT_STORY_TERMS)
                self._story_index[story.topic_id].remove(story_id, dropped)

    def close(self, dev: DevelopmentState) -> None:
        """The development takes no more articles: it leaves the engine (its row stays in the store)."""
        self._unindex_terms(dev, dev.centroid.terms)
        self._dev_rows.remove(dev.id)
        del self.developments[dev.id]

    def _grow(
        self,
        dev: DevelopmentState,
        vec: SparseVector,
        salience: dict[str, float],
        embedding: Any,
        source: str,
        now: float,
    ) -> None:
        dev.centroid.add(vec)
        self._index_terms(dev, vec)
        if embedding is not None:
            dev.embedding = embedding if dev.embedding is None else dev.embedding + embedding
            self._dev_rows.set(dev.id, dev.embedding)
        dev.members.append(vec)
        if len(dev.members) > MAX_MEMBERS:
            dev.members.pop(0)
        dev.sources[source] = max(now, dev.sources.get(source, now))
        dev.article_count += 1
        if now >= dev.last_seen:
            dev.last_seen = now
            heapq.heappush(self._dev_expiry, (now, dev.id))
        self.dirty_developments[dev.id] = dev
        for term, weight in salience.items():
            dev.salience[term] = dev.salience.get(term, 0.0) + weight
        if len(dev.centroid.terms) > 2 * MAX_DEVELOPMENT_TERMS:
            # A big development is summarised by its heaviest terms, so memory stays bounded.
            self._unindex_terms(dev, dev.centroid.prune(MAX_DEVELOPMENT_TERMS))
            for term in lightest(dev.salience, MAX_DEVELOPMENT_TERMS):
                del dev.salience[term]

    def _grow_story(self, story: StoryState, vec: SparseVector, embedding: Any, now: float) -> None:
        index = self._story_index[story.topic_id]
        story.centroid.add(vec)
        index.add(story.id, vec)
        if embedding is not None:
            story.embedding = embedding if story.embedding is None else story.embedding + embedding
            self._story_rows.set(story.id, story.embedding)
        if now >= story.last_seen:
            story.last_seen = now
            heapq.heappush(self._dormant, (now, story.id))
        self.dirty_stories[story.id] = story
        if len(story.centroid.terms) > 2 * MAX_STORY_TERMS:
            index.remove(story.id, story.centroid.prune(MAX_STORY_TERMS))

    def _open_story(self, topic_id: str, title: str, now: float) -> StoryState:
        """A new story of the topic; past the cap, the topic's least kept story leaves the engine."""
        story = StoryState(self.next_story_id, topic_id, title, now, now)
        self.next_story_id += self.id_step
        self.stories[story.id] = story
        members = self._topic_stories.setdefault(topic_id, set())
        members.add(story.id)
        if len(members) > self.config.max_stories:
            self._retire_story(members, now)
        return story
