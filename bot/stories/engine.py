"""The story engine: each article, in arrival order, joins or starts a development and a story per topic."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.models import Article, Topic
from bot.stories.clusters import (
    MAX_DEVELOPMENT_TERMS,
    MAX_MEMBERS,
    MAX_STORY_TERMS,
    DevelopmentState,
    RecentIndex,
    StoryState,
)
from bot.stories.embedding import Embedder
from bot.stories.events import Decision, DevelopmentGrew, Event, NewDevelopment, TopicAssignment
from bot.stories.novelty import what_is_new
from bot.stories.similarity import blend
from bot.stories.text import lead
from bot.stories.topics import IMPLICIT_TOPIC, TopicMatcher
from bot.stories.vectors import ArticleText, SparseVector, Vocabulary, cosine, dot, weigh

_COPY_CANDIDATES = 2
# An article with no keyword of a topic is weighed only for the topics of its few nearest developments.
_NEAR_TOPICS = 3
_NEAR_TERMS = 10


@dataclass(frozen=True, slots=True)
class EngineConfig:
    """The few numbers that shape the engine; the defaults are the same for every stream."""

    # Cosine (after time decay) at which an article joins a development.
    join_threshold: float = 0.07
    # Cosine to one earlier member at which an article is a copy of it, whatever the time gap.
    near_duplicate: float = 0.80
    # Similarity decays with the gap to a development's latest article (hours for it to halve).
    half_life_h: float = 18.0
    # A development idle for longer stops taking articles...
    window_h: float = 96.0
    # ...and so does one older than this: an event is reported over hours to days, not weeks.
    max_span_h: float = 168.0
    # Cosine to a story's centroid at which a new development continues that story.
    story_threshold: float = 0.27
    # Centroid cosine at which two developments bridged by one article are merged.
    merge_threshold: float = 0.3
    # Time constant of a story's burst: soon after a development's last article, story similarity suffices.
    burst_h: float = 24.0
    # How strongly an article's preference for another story vetoes joining this story's development.
    story_consistency: float = 0.5
    # Share of the model's similarity in the blend, and the model cosine that counts as unrelated.
    dense_weight: float = 0.3
    dense_floor: float = 0.2


# Without the model, similarities run lower (no dense share), so the cut-offs sit lower too.
LEXICAL_CONFIG = EngineConfig(join_threshold=0.055, story_threshold=0.20)


def embedding_text(article: Article) -> str:
    """Headline plus the first sentence: what the item reports."""
    body = lead(article.text, 200)
    return f"{article.title}. {body}" if body and not body.startswith(article.title) else article.title


class StoryEngine:
    """Online clustering of a topic's articles into developments and stories.

    Not thread-safe and synchronous on purpose: the async layer calls it through asyncio.to_thread.
    """

    def __init__(
        self,
        topics: Sequence[Topic] = (),
        config: EngineConfig | None = None,
        embedder: Embedder | None = None,
    ) -> None:
        self.config = config or (EngineConfig() if embedder is not None else LEXICAL_CONFIG)
        self.embedder = embedder
        self.vocab = Vocabulary()
        self.matcher = TopicMatcher(topics)
        self.developments: dict[int, DevelopmentState] = {}
        self.stories: dict[int, StoryState] = {}
        self.next_development_id = 1
        self.next_story_id = 1
        self._dev_index: dict[str, RecentIndex] = {}
        self._story_index: dict[str, RecentIndex] = {}
        self.merged_into: dict[int, int] = {}
        # The current article's model vector, for the topic matcher's look at the developments.
        self.pending_embedding: Any = None
        # Active developments of every topic in one index: which topics an article without keywords is near.
        self._all_devs = RecentIndex((self.config.window_h + 1.0) * 3600.0)
        # The current article's ranking per topic: topic matching and assignment share it.
        self._ranked: dict[str, tuple[SparseVector, list[tuple[float, int]]]] = {}
        # What changed since the store last looked: persist.py writes these rows and clears the sets.
        self.dirty_developments: dict[int, DevelopmentState] = {}
        self.dirty_stories: dict[int, StoryState] = {}

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
        index = self._dev_index.setdefault(dev.topic_id, RecentIndex(self.config.window_h * 3600.0))
        index.add(dev.id, dev.centroid.terms, dev.last_seen)
        self._all_devs.add(dev.id, dev.centroid.terms, dev.last_seen)

    def adopt_story(self, story: StoryState) -> None:
        self.stories[story.id] = story
        self._story_index.setdefault(story.topic_id, RecentIndex(None)).add(
            story.id, story.centroid.terms, story.last_seen
        )

    def process_batch(self, articles: Sequence[Article]) -> list[Decision]:
        """Decide a batch in order; the model embeds the whole batch at once, which is much faster."""
        embeddings: list[Any] = [None] * len(articles)
        if self.embedder is not None and articles:
            embeddings = self.embedder.embed([embedding_text(a) for a in articles])
        return [self.process(a, e) for a, e in zip(articles, embeddings, strict=True)]

    def process(self, article: Article, embedding: Any = None) -> Decision:
        now = article.published.timestamp()
        text = ArticleText.of(article.title, article.text)
        self.vocab.observe(text.terms(), text.title + text.body)
        vec, salience = weigh(text, self.vocab)
        if embedding is None and self.embedder is not None:
            embedding = self.embedder.embed([embedding_text(article)])[0]
        self.pending_embedding = embedding
        self._ranked.clear()
        for dev_id in self._all_devs.expire(now):
            self.developments.pop(dev_id, None)
        topic_ids = self.matcher.match(article, text, vec, self) if self.matcher.topics else [IMPLICIT_TOPIC]
        assignments: list[TopicAssignment] = []
        events: list[Event] = []
        for topic_id in topic_ids:
            assignment, event = self._assign(topic_id, article, text, vec, salience, embedding, now)
            assignments.append(assignment)
            if event is not None:
                events.append(event)
            self.matcher.learn(topic_id, vec, embedding)
        return Decision(article.id, article.item_key, tuple(assignments), tuple(events))

    def rank_developments(
        self, topic_id: str, vec: SparseVector, now: float, embedding: Any = None
    ) -> list[tuple[float, int]]:
        """Active developments of a topic that share a term with the article, best first, time-decayed."""
        index = self._dev_index.get(topic_id)
        if index is None:
            return []
        for dev_id in index.expire(now):
            self.developments.pop(dev_id, None)
        cached = self._ranked.get(topic_id)
        if cached is not None and cached[0] is vec:
            return cached[1]
        ranked = self._rank(index, topic_id, vec, now, embedding)
        self._ranked[topic_id] = (vec, ranked)
        return ranked

    def _rank(
        self, index: RecentIndex, topic_id: str, vec: SparseVector, now: float, embedding: Any
    ) -> list[tuple[float, int]]:
        cfg = self.config
        decay = -math.log(2.0) / (cfg.half_life_h * 3600.0)
        burst = -1.0 / (max(cfg.burst_h, 1e-9) * 3600.0)
        stories = self.story_similarities(topic_id, vec, embedding)
        best_story = max(stories.values(), default=0.0)
        scored: list[tuple[float, int]] = []
        for dev_id in index.candidates(vec):
            dev = self.developments[dev_id]
            if now - dev.first_seen > cfg.max_span_h * 3600.0:
                continue
            gap = max(0.0, now - dev.last_seen)
            similarity = dev.centroid.cosine(vec)
            if embedding is not None and dev.embedding is not None:
                similarity = blend(similarity, embedding, dev.embedding, cfg)
            score = similarity * math.exp(decay * gap)
            own_story = stories.get(dev.story_id, 0.0)
            # While a story is in the middle of a development, what fits the story fits that development.
            score = max(score, own_story * math.exp(burst * gap))
            # An article that plainly belongs to another story does not join this story's development.
            if best_story > 0.0:
                score *= min(1.0, own_story / best_story) ** cfg.story_consistency
            scored.append((score, dev_id))
        scored.sort(key=lambda pair: (-pair[0], pair[1]))
        # Copies are checked against the members of the closest few only: a copy is close to its centroid too.
        for rank, (score, dev_id) in enumerate(scored[:_COPY_CANDIDATES]):
            if score < cfg.join_threshold / 2:
                break
            members = self.developments[dev_id].members
            if any(dot(vec, m) >= cfg.near_duplicate for m in members):
                scored[rank] = (max(score, 1.0), dev_id)
        scored.sort(key=lambda pair: (-pair[0], pair[1]))
        return scored

    def near_topics(self, vec: SparseVector) -> set[str]:
        """Topics of the active developments that share the most heavy terms with the article."""
        topics: set[str] = set()
        for dev_id in self._all_devs.candidates(vec, _NEAR_TERMS)[:_NEAR_TOPICS]:
            dev = self.developments.get(dev_id)
            # A few shared words are not nearness: the lexical cosine alone must already say something.
            if dev is not None and dev.centroid.cosine(vec) >= self.config.join_threshold:
                topics.add(dev.topic_id)
        return topics

    def story_similarities(self, topic_id: str, vec: SparseVector, embedding: Any) -> dict[int, float]:
        """Similarity of the article to each story of the topic that shares a term with it."""
        index = self._story_index.get(topic_id)
        if index is None:
            return {}
        out: dict[int, float] = {}
        for story_id in index.candidates(vec):
            story = self.stories[story_id]
            score = story.centroid.cosine(vec)
            if embedding is not None and story.embedding is not None:
                score = blend(score, embedding, story.embedding, self.config)
            out[story_id] = score
        return out

    def _merge_neighbours(self, dev: DevelopmentState, ranked: list[tuple[float, int]]) -> DevelopmentState:
        """An article fitting two developments may show they are one: merge them if their centroids agree."""
        cfg = self.config
        for score, other_id in ranked[1:_COPY_CANDIDATES]:
            if score < cfg.join_threshold:
                break
            other = self.developments.get(other_id)
            if other is None or (False):
                continue
            if cosine(dev.centroid.terms, other.centroid.terms) < cfg.merge_threshold:
                continue
            keep, gone = (dev, other) if dev.article_count >= other.article_count else (other, dev)
            self._absorb(keep, gone)
            dev = keep
        return dev

    def _absorb(self, keep: DevelopmentState, gone: DevelopmentState) -> None:
        keep.centroid.add(gone.centroid.terms)
        if gone.embedding is not None:
            keep.embedding = gone.embedding if keep.embedding is None else keep.embedding + gone.embedding
        keep.members = (gone.members + keep.members)[-MAX_MEMBERS:]
        keep.sources |= gone.sources
        keep.article_count += gone.article_count
        keep.first_seen = min(keep.first_seen, gone.first_seen)
        keep.last_seen = max(keep.last_seen, gone.last_seen)
        for term, weight in gone.salience.items():
            keep.salience[term] = keep.salience.get(term, 0.0) + weight
        index = self._dev_index[keep.topic_id]
        index.remove_terms(gone.id, set(gone.centroid.terms))
        index.add(keep.id, keep.centroid.terms, keep.last_seen)
        self._all_devs.remove_terms(gone.id, set(gone.centroid.terms))
        self._all_devs.add(keep.id, keep.centroid.terms, keep.last_seen)
        del self.developments[gone.id]
        self.merged_into[gone.id] = keep.id
        self.dirty_developments[keep.id] = keep

    def _assign(
        self,
        topic_id: str,
        article: Article,
        text: ArticleText,
        vec: SparseVector,
        salience: dict[str, float],
        embedding: Any,
        now: float,
    ) -> tuple[TopicAssignment, Event | None]:
        cfg = self.config
        ranked = self.rank_developments(topic_id, vec, now, embedding)
        score, dev_id = ranked[0] if ranked else (0.0, None)
        source = article.source_name or str(article.source_id)
        if dev_id is not None and score >= cfg.join_threshold:
            dev = self.developments[dev_id]
            if cfg.merge_threshold < 1.0:
                dev = self._merge_neighbours(dev, ranked)
            grew = source not in dev.sources
            self._grow(dev, vec, salience, embedding, source, now)
            story = self.stories[dev.story_id]
            self._grow_story(story, vec, embedding, now)
            assignment = TopicAssignment(topic_id, dev.id, dev.story_id, False, False, score)
            event: Event = DevelopmentGrew(
                topic_id,
                dev.id,
                dev.story_id,
                dev.story_is_new,
                dev.headline,
                dev.what_is_new,
                len(dev.sources),
                article.id,
            )
            return assignment, event if grew else None
        story, story_is_new = self._story_for(topic_id, article, vec, embedding, now)
        dev = DevelopmentState(
            id=self.next_development_id,
            topic_id=topic_id,
            story_id=story.id,
            first_seen=now,
            last_seen=now,
            headline=article.title,
            representative_article_id=article.id,
            story_is_new=story_is_new,
        )
        self.next_development_id += 1
        self.developments[dev.id] = dev
        self._grow(dev, vec, salience, embedding, source, now)
        dev.words = {
            t.stem: t.surface.rstrip(".") if t.surface.count(".") == 1 else t.surface
            for t in text.title + text.body
            if t.stem in salience
        }
        dev.what_is_new = what_is_new(dev.salience, dev.words, story.seen_terms, self.vocab)
        for term, weight in vec.items():
            story.seen_terms[term] = story.seen_terms.get(term, 0.0) + weight
        if len(story.seen_terms) > 2 * MAX_STORY_TERMS:
            keep = sorted(story.seen_terms.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_STORY_TERMS]
            story.seen_terms = dict(keep)
        story.development_count += 1
        self._grow_story(story, vec, embedding, now)
        assignment = TopicAssignment(topic_id, dev.id, story.id, True, story_is_new, score)
        return assignment, NewDevelopment(
            topic_id, dev.id, story.id, story_is_new, dev.headline, dev.what_is_new, 1, article.id
        )

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
        if embedding is not None:
            dev.embedding = embedding if dev.embedding is None else dev.embedding + embedding
        dev.members.append(vec)
        if len(dev.members) > MAX_MEMBERS:
            dev.members.pop(0)
        dev.sources.add(source)
        dev.article_count += 1
        dev.last_seen = max(dev.last_seen, now)
        self.dirty_developments[dev.id] = dev
        for term, weight in salience.items():
            dev.salience[term] = dev.salience.get(term, 0.0) + weight
        index = self._dev_index.setdefault(dev.topic_id, RecentIndex(self.config.window_h * 3600.0))
        index.add(dev.id, vec, dev.last_seen)
        self._all_devs.add(dev.id, vec, dev.last_seen)
        if len(dev.centroid.terms) > 2 * MAX_DEVELOPMENT_TERMS:
            # A big development is summarised by its heaviest terms, so memory stays bounded.
            dropped = set(dev.centroid.terms)
            dev.centroid.prune(MAX_DEVELOPMENT_TERMS)
            dropped -= set(dev.centroid.terms)
            index.remove_terms(dev.id, dropped)
            self._all_devs.remove_terms(dev.id, dropped)
            top = sorted(dev.salience.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_DEVELOPMENT_TERMS]
            dev.salience = dict(top)

    def _grow_story(self, story: StoryState, vec: SparseVector, embedding: Any, now: float) -> None:
        story.centroid.add(vec)
        if embedding is not None:
            story.embedding = embedding if story.embedding is None else story.embedding + embedding
        story.last_seen = max(story.last_seen, now)
        self.dirty_stories[story.id] = story
        self._story_index[story.topic_id].add(story.id, vec, now)
        if len(story.centroid.terms) > 2 * MAX_STORY_TERMS:
            dropped = set(story.centroid.terms)
            story.centroid.prune(MAX_STORY_TERMS)
            self._story_index[story.topic_id].remove_terms(story.id, dropped - set(story.centroid.terms))

    def _story_for(
        self, topic_id: str, article: Article, vec: SparseVector, embedding: Any, now: float
    ) -> tuple[StoryState, bool]:
        self._story_index.setdefault(topic_id, RecentIndex(None))
        best, best_id = 0.0, None
        for story_id, score in sorted(self.story_similarities(topic_id, vec, embedding).items()):
            if score > best:
                best, best_id = score, story_id
        if best_id is not None and best >= self.config.story_threshold:
            return self.stories[best_id], False
        story = StoryState(self.next_story_id, topic_id, article.title, now, now)
        self.next_story_id += 1
        self.stories[story.id] = story
        return story, True
