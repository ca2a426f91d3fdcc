"""How developments and stories are regrouped once made: merges, moves between stories, retirement.

The engine decides each article as it comes; these are the later corrections its evidence allows (see
merging.py for when), kept apart from scoring. Every change marks what the store must write again.
"""

from __future__ import annotations

import dataclasses
import heapq
from collections.abc import Iterable

from bot.stories.clusters import MAX_MEMBERS, DevelopmentState, StoryState
from bot.stories.engine_config import EngineConfig
from bot.stories.events import Decision, Event
from bot.stories.index import DenseRows, SparseVector, TermIndex
from bot.stories.vectors import cosine

# Copies are looked for among, and merges bridged between, the closest two developments only.
COPY_CANDIDATES = 2
# Merge records kept for the snapshot: only recent merges can still matter to a reader.
_MAX_MERGES = 4096


class Regrouping:
    """The engine's state as the regrouping methods use it (Lifecycle sets every attribute)."""

    config: EngineConfig
    developments: dict[int, DevelopmentState]
    stories: dict[int, StoryState]
    merged_into: dict[int, int]
    dirty_developments: dict[int, DevelopmentState]
    dirty_stories: dict[int, StoryState]
    _topic_devs: dict[str, TermIndex]
    _devs: TermIndex
    _dev_rows: DenseRows
    _dev_expiry: list[tuple[float, int]]
    _story_index: dict[str, TermIndex]
    _topic_stories: dict[str, set[int]]
    _story_rows: DenseRows
    _dormant: list[tuple[float, int]]

    def _index_terms(self, dev: DevelopmentState, vec: SparseVector) -> None:
        """Add a vector to a development's weights in both indexes (its centroid takes it separately)."""
        index = self._topic_devs.get(dev.topic_id)
        if index is None:
            index = self._topic_devs[dev.topic_id] = TermIndex()
        index.add(dev.id, vec)
        self._devs.add(dev.id, vec)

    def _unindex_terms(self, dev: DevelopmentState, terms: Iterable[str]) -> None:
        self._topic_devs[dev.topic_id].remove(dev.id, terms)
        self._devs.remove(dev.id, terms)

    def topic_index(self, topic_id: str) -> TermIndex | None:
        """The term index of a topic's active developments."""
        return self._topic_devs.get(topic_id)

    def topic_story_ids(self, topic_id: str) -> set[int]:
        return self._topic_stories.get(topic_id, set())

    def move_to_story(self, dev: DevelopmentState, story_id: int) -> None:
        """The development leaves its story for another with its reports (a story left empty goes)."""
        left = self.stories[dev.story_id]
        story = self.stories[story_id]
        self._detach(left, dev)
        story.centroid.add(dev.centroid.terms)
        self._story_index[story.topic_id].add(story.id, dev.centroid.terms)
        if dev.embedding is not None:
            story.embedding = dev.embedding if story.embedding is None else story.embedding + dev.embedding
            self._story_rows.set(story.id, story.embedding)
        story.development_count += 1
        if dev.last_seen > story.last_seen:
            story.last_seen = dev.last_seen
            heapq.heappush(self._dormant, (story.last_seen, story.id))
        dev.story_id = story.id
        dev.story_is_new = False
        self.dirty_developments[dev.id] = dev
        self.dirty_stories[story.id] = story

    def _detach(self, story: StoryState, dev: DevelopmentState) -> None:
        """Take a development's reports out of a story; a story left with none leaves the engine."""
        story.development_count -= 1
        self.dirty_stories[story.id] = story
        if story.development_count <= 0:
            self._drop_story(story)
            return
        terms = story.centroid.terms
        touched = [t for t in dev.centroid.terms if t in terms]
        for term in touched:
            rest = terms[term] - dev.centroid.terms[term]
            if rest > 1e-9:
                terms[term] = rest
            else:
                del terms[term]
        story.centroid.norm2 = sum([w * w for w in terms.values()])
        index = self._story_index[story.topic_id]
        index.remove(story.id, touched)
        index.add(story.id, {t: terms[t] for t in touched if t in terms})
        if dev.embedding is not None and story.embedding is not None:
            story.embedding = story.embedding - dev.embedding
            self._story_rows.set(story.id, story.embedding)

    def absorb(self, keep: DevelopmentState, gone: DevelopmentState) -> None:
        """Merge `gone` into `keep`; a story `gone` started alone goes with it into `keep`'s story."""
        self._absorb(keep, gone)
        if gone.story_id == keep.story_id:
            return
        story = self.stories[keep.story_id]
        story.centroid.add(gone.centroid.terms)
        self._story_index[story.topic_id].add(story.id, gone.centroid.terms)
        if gone.embedding is not None:
            story.embedding = gone.embedding if story.embedding is None else story.embedding + gone.embedding
            self._story_rows.set(story.id, story.embedding)
        self.dirty_stories[story.id] = story
        left = self.stories.get(gone.story_id)
        if left is not None:
            left.development_count -= 1
            self.dirty_stories[left.id] = left
            if left.development_count <= 0:
                self._drop_story(left)

    def _absorb(self, keep: DevelopmentState, gone: DevelopmentState) -> None:
        self._unindex_terms(gone, gone.centroid.terms)
        self._dev_rows.remove(gone.id)
        keep.centroid.add(gone.centroid.terms)
        self._index_terms(keep, gone.centroid.terms)
        if gone.embedding is not None:
            keep.embedding = gone.embedding if keep.embedding is None else keep.embedding + gone.embedding
            self._dev_rows.set(keep.id, keep.embedding)
        keep.members = (gone.members + keep.members)[-MAX_MEMBERS:]
        for name, when in gone.sources.items():
            keep.sources[name] = max(when, keep.sources.get(name, when))
        keep.article_count += gone.article_count
        keep.first_seen = min(keep.first_seen, gone.first_seen)
        if gone.last_seen > keep.last_seen:
            keep.last_seen = gone.last_seen
            heapq.heappush(self._dev_expiry, (keep.last_seen, keep.id))
        for term, weight in gone.salience.items():
            keep.salience[term] = keep.salience.get(term, 0.0) + weight
        del self.developments[gone.id]
        self.merged_into[gone.id] = keep.id
        if len(self.merged_into) > _MAX_MERGES:
            del self.merged_into[next(iter(self.merged_into))]
        self.dirty_developments[keep.id] = keep

    def _drop_story(self, story: StoryState) -> None:
        """The story leaves the engine (its row stays in the store)."""
        del self.stories[story.id]
        self._topic_stories[story.topic_id].discard(story.id)
        self._story_index[story.topic_id].remove(story.id, story.centroid.terms)
        self._story_rows.remove(story.id)

    def _follow_merges(self, decision: Decision) -> Decision:
        events = tuple(self._current(e) for e in decision.events)
        if all(a is b for a, b in zip(events, decision.events, strict=True)):
            return decision
        return dataclasses.replace(decision, events=events)

    def _current(self, event: Event) -> Event:
        dev_id = event.development_id
        while dev_id in self.merged_into:
            dev_id = self.merged_into[dev_id]
        dev = self.developments.get(dev_id)
        if dev is None or (dev_id, dev.story_id, dev.story_is_new) == (
            event.development_id,
            event.story_id,
            event.story_is_new,
        ):
            return event
        return dataclasses.replace(
            event,
            development_id=dev.id,
            story_id=dev.story_id,
            story_is_new=dev.story_is_new,
            headline=dev.headline,
            what_is_new=dev.what_is_new,
            source_count=len(dev.sources),
        )

    def _merge_neighbours(self, dev: DevelopmentState, ranked: list[tuple[float, int]]) -> DevelopmentState:
        """An article fitting two developments may show they are one: merge them if their centroids agree."""
        cfg = self.config
        for score, other_id in ranked[1:COPY_CANDIDATES]:
            if score < cfg.join_threshold:
                break
            other = self.developments.get(other_id)
            if other is None:
                continue
            if cosine(dev.centroid.terms, other.centroid.terms) < cfg.merge_threshold:
                continue
            keep, gone = (dev, other) if dev.article_count >= other.article_count else (other, dev)
            self._absorb(keep, gone)
            dev = keep
        return dev

    def _retire_story(self, members: set[int], now: float) -> None:
        """Past the cap, a topic's least kept story leaves the engine (its rows stay in the store): one-off
        stories before threads, the longest idle first. Stories with a development still open stay."""
        idle = now - self.config.window_h * 3600.0
        stories = self.stories
        victims = [
            (stories[sid].development_count > 1, stories[sid].last_seen, sid)
            for sid in members
            if stories[sid].last_seen < idle
        ]
        if not victims:
            return
        *_, story_id = min(victims)
        self._drop_story(stories[story_id])
