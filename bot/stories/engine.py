"""The story engine: each article, in arrival order, joins or starts a development and a story per topic."""

from __future__ import annotations

import heapq
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.models import Article, Topic
from bot.stories.clusters import (
    DORMANT_STORY_TERMS,
    MAX_DEVELOPMENT_TERMS,
    MAX_MEMBERS,
    MAX_STORY_TERMS,
    DevelopmentState,
    StoryState,
)
from bot.stories.embedding import Embedder
from bot.stories.events import Decision, DevelopmentGrew, Event, NewDevelopment, TopicAssignment
from bot.stories.index import DenseRows, TermIndex, lightest
from bot.stories.merging import merge_twins, restory, take_in_early
from bot.stories.novelty import what_is_new
from bot.stories.regroup import COPY_CANDIDATES, Regrouping
from bot.stories.similarity import link_evidence, mix, mix_many
from bot.stories.text import lead, slug_words
from bot.stories.topics import IMPLICIT_TOPIC, TopicMatcher
from bot.stories.turns import joinable
from bot.stories.vectors import ArticleText, SparseVector, Vocabulary, is_copy

# Up to this many stories, scoring one by one costs less than numpy's per-call overhead.
_ONE_BY_ONE = 8
# A development sharing only a stray background word (lexical cosine below this) is no candidate...
_MIN_SHARED = 0.01
# ...nor a story below this: its link evidence (lexical times at most 1) could not reach story_threshold.
_MIN_STORY_SHARED = 0.03
# An article with no keyword of a topic is weighed only for the topics of its few nearest developments.
_NEAR_TOPICS = 3
_NEAR_TERMS = 10
_NO_TERMS: frozenset[str] = frozenset()
# A development's first few reports may still move it to another story; after these its story is settled.
_SETTLED = 3


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
    # Evidence (see similarity.link_evidence) at which a new development continues a story...
    story_threshold: float = 0.04
    # ...where the model's cosine counts only above this level (what other stories of a topic reach).
    story_floor: float = 0.44
    # Centroid cosine at which two developments bridged by one article are merged.
    merge_threshold: float = 0.3
    # Time constant of a story's burst: soon after a development's last article, story similarity suffices.
    burst_h: float = 24.0
    # How strongly an article's preference for another story vetoes joining this story's development.
    story_consistency: float = 0.5
    # Share of the model's similarity in the blend, and the model cosine that counts as unrelated.
    dense_weight: float = 0.3
    dense_floor: float = 0.2
    # A story idle this long is summarised by its heaviest terms (it stays linkable for years).
    story_dormant_h: float = 720.0
    # Stories kept per topic (threads first): what an article is compared with stays bounded.
    max_stories: int = 32
    # New-story caution: below story_threshold, a development still continues the nearest story when the
    # words and the model together (link evidence) reach this share of the threshold.
    story_caution: float = 0.5
    # An outlet reporting again on a development this long after its last report there, naming in its
    # text what the development has not, starts a new development (see turns.py).
    turn_gap_h: float = 12.0
    # A development reported in a burst is over once silent this long and for lull_rhythm times its usual
    # gap between reports: the next burst on its subject is a new development.
    lull_h: float = 24.0
    lull_rhythm: float = 20.0


# Without the model, similarities run lower (no dense share), so the cut-offs sit lower too; and with the
# words as the only evidence, nothing backs a story below its threshold (no caution zone).
LEXICAL_CONFIG = EngineConfig(join_threshold=0.055, story_threshold=0.20, story_caution=1.0)


def embedding_text(article: Article) -> str:
    """Headline plus the first sentence (or, without text, the URL slug's words): what the item reports."""
    body = lead(article.text, 200) or slug_words(article.url, article.title)
    return f"{article.title}. {body}" if body and not body.startswith(article.title) else article.title


class StoryEngine(Regrouping):
    """Online clustering of a topic's articles into developments and stories.

    Not thread-safe and synchronous on purpose: the async layer calls it through asyncio.to_thread.
    Only recent developments are held (and indexed): a development idle past the window is dropped,
    so the cost of an article does not grow with the length of history.
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
        # Ids advance by this step: partition p of n starts at p + 1 and steps by n, so ids stay unique.
        self.id_step = 1
        self.merged_into: dict[int, int] = {}
        # Active developments per topic, and of every topic in one index (which topics is an article near?),
        # with their model vectors and expiry times.
        self._topic_devs: dict[str, TermIndex] = {}
        self._devs = TermIndex()
        self._dev_rows = DenseRows()
        self._dev_expiry: list[tuple[float, int]] = []
        # Stories per topic: summarised once dormant, and at most max_stories of them kept.
        self._story_index: dict[str, TermIndex] = {}
        self._topic_stories: dict[str, set[int]] = {}
        self._story_rows = DenseRows()
        self._dormant: list[tuple[float, int]] = []
        # The current article: its vectors, and what topic matching and assignment both need of it.
        self._vec: SparseVector = {}
        self._article: Article | None = None
        self._embedding: Any = None
        self._dev_dots: dict[str, dict[int, float]] = {}
        self._story_dots: dict[str, dict[int, float]] = {}
        self._ranked: dict[tuple[str, frozenset[str]], list[tuple[float, int]]] = {}
        self._story_sims: dict[tuple[str, frozenset[str]], dict[int, float]] = {}
        self._story_links: dict[tuple[str, frozenset[str]], dict[int, float]] = {}
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

    def process_batch(self, articles: Sequence[Article]) -> list[Decision]:
        """Decide a batch in order, each article before the next is looked at.

        The model embeds at once the articles that name a topic's keyword (or all, without topics): they
        will need it, and one batch costs far less than one call each. The rest embed on demand.
        """
        texts = [ArticleText.of(a.title, a.text, a.url) for a in articles]
        embeddings: list[Any] = [None] * len(articles)
        if self.embedder is not None:
            wanted = [i for i, text in enumerate(texts) if self.matcher.may_need_model(text)]
            if len(wanted) > 1:
                vectors = self.embedder.embed([embedding_text(articles[i]) for i in wanted])
                for i, vector in zip(wanted, vectors, strict=True):
                    embeddings[i] = vector
        decisions = [self.process(a, e, t) for a, e, t in zip(articles, embeddings, texts, strict=True)]
        created = [e.development_id for d in decisions for e in d.events if isinstance(e, NewDevelopment)]
        if len(created) > 1:
            merge_twins(self, created)
        for dev_id in sorted(set(created)):
            # The poll's reports settle the story of a development it started.
            if (dev := self.developments.get(dev_id)) is not None and dev.article_count > 1:
                restory(self, dev, poll_end=True)
        # Each article's assignment stays as decided when it came; its alerts follow any merge or move since.
        return [self._follow_merges(d) for d in decisions]

    def article_embedding(self) -> Any:
        """The current article's model vector, made the first time something asks for it.

        Most articles match no topic and never need one: embedding on demand skips them.
        """
        if self._embedding is None and self.embedder is not None and self._article is not None:
            self._embedding = self.embedder.embed([embedding_text(self._article)])[0]
        return self._embedding

    def process(self, article: Article, embedding: Any = None, text: ArticleText | None = None) -> Decision:
        now = article.published.timestamp()
        if text is None:
            text = ArticleText.of(article.title, article.text, article.url)
        vec, salience = self.vocab.observe(text)
        self._expire(now)
        self._vec = vec
        self._article = article
        self._embedding = embedding
        self._dev_dots.clear()
        self._story_dots.clear()
        self._ranked.clear()
        self._story_sims.clear()
        self._story_links.clear()
        topic_ids = self.matcher.match(article, text, vec, self) if self.matcher.topics else [IMPLICIT_TOPIC]
        assignments: list[TopicAssignment] = []
        events: list[Event] = []
        if topic_ids:
            embedding = self.article_embedding()
        for topic_id in topic_ids:
            assignment, event = self._assign(topic_id, article, text, vec, salience, embedding, now)
            assignments.append(assignment)
            if event is not None:
                events.append(event)
            self.matcher.learn(topic_id, vec, embedding)
        return Decision(article.id, article.item_key, tuple(assignments), tuple(events))

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
        # The current article's rankings of its topic no longer hold it.
        self._dev_dots.pop(dev.topic_id, None)
        for key in [k for k in self._ranked if k[0] == dev.topic_id]:
            del self._ranked[key]

    def near_topics(self) -> set[str]:
        """Topics of the few active developments sharing the most weight with the article's heaviest terms."""
        vec = self._vec
        heavy = sorted(vec, key=vec.__getitem__, reverse=True)[:_NEAR_TERMS]
        partial = self._devs.dots({term: vec[term] for term in heavy})
        closest = heapq.nsmallest(_NEAR_TOPICS, [(-value, dev_id) for dev_id, value in partial.items()])
        devs = self.developments
        # A few shared words are not nearness: the heavy terms alone must already make a cosine.
        threshold = self.config.join_threshold
        return {
            devs[dev_id].topic_id
            for value, dev_id in closest
            if -value >= threshold * math.sqrt(devs[dev_id].centroid.norm2)
        }

    def rank_developments(
        self, topic_id: str, now: float, without: frozenset[str] = _NO_TERMS
    ) -> list[tuple[float, int]]:
        """Active developments of a topic that share a term with the current article, best first.

        `without`: terms left out of the article (a topic keyword must be backed by the other words).
        """
        key = (topic_id, without)
        ranked = self._ranked.get(key)
        if ranked is None:
            ranked = self._ranked[key] = self._rank(topic_id, now, without)
        return ranked

    def _rank(self, topic_id: str, now: float, without: frozenset[str]) -> list[tuple[float, int]]:
        cfg = self.config
        vec = self._vec
        decay = -math.log(2.0) / (cfg.half_life_h * 3600.0)
        burst = -1.0 / (max(cfg.burst_h, 1e-9) * 3600.0)
        span = cfg.max_span_h * 3600.0
        lull = cfg.lull_h * 3600.0
        removed = [(t, vec[t]) for t in without if t in vec]
        devs = self.developments
        dots = self._dev_dots.get(topic_id)
        if dots is None:
            index = self._topic_devs.get(topic_id)
            dots = self._dev_dots[topic_id] = {} if index is None else index.dots(vec)
        candidates: list[DevelopmentState] = []
        lexical: list[float] = []
        for dev_id, value in dots.items():
            dev = devs[dev_id]
            if now - dev.first_seen > span or dev.gone_quiet(now, lull, cfg.lull_rhythm):
                continue
            if removed:
                terms = dev.centroid.terms
                for term, weight in removed:
                    value -= weight * terms.get(term, 0.0)
            similarity = value / math.sqrt(dev.centroid.norm2)
            if similarity < _MIN_SHARED:
                continue
            candidates.append(dev)
            lexical.append(similarity)
        if not candidates:
            return []
        # Stories matter only once there is a development to weigh them for.
        stories = self.story_similarities(topic_id, without)
        best_story = max(stories.values(), default=0.0)
        dense = self._dev_rows.cosines([d.id for d in candidates], self.article_embedding())
        # Negated scores: the native tuple order is then best first, ties by id.
        order: list[tuple[float, int]] = []
        exp = math.exp
        for dev, similarity, model in zip(candidates, lexical, dense, strict=True):
            if model is not None:
                similarity = mix(similarity, model, cfg)
            gap = max(0.0, now - dev.last_seen)
            score = similarity * exp(decay * gap)
            own_story = stories.get(dev.story_id, 0.0)
            # While a story is in the middle of a development, what fits the story fits that development.
            score = max(score, own_story * exp(burst * gap))
            # An article that plainly belongs to another story does not join this story's development.
            if best_story > 0.0:
                score *= min(1.0, own_story / best_story) ** cfg.story_consistency
            order.append((-score, dev.id))
        order.sort()
        # Copies are checked against the members of the closest few only: a copy is close to its centroid too.
        for rank, (negated, dev_id) in enumerate(order[:COPY_CANDIDATES]):
            if -negated < cfg.join_threshold / 2:
                break
            if any(is_copy(vec, m, cfg.near_duplicate) for m in devs[dev_id].members):
                order[rank] = (min(negated, -1.0), dev_id)
        order.sort()
        return [(-negated, dev_id) for negated, dev_id in order]

    def story_similarities(self, topic_id: str, without: frozenset[str] = _NO_TERMS) -> dict[int, float]:
        """Similarity of the current article to each story of the topic that shares a term with it."""
        key = (topic_id, without)
        cached = self._story_sims.get(key)
        if cached is not None:
            return cached
        index = self._story_index.get(topic_id)
        if index is None:
            return {}
        dots = self._story_dots.get(topic_id)
        if dots is None:
            dots = self._story_dots[topic_id] = index.dots(self._vec)
        vec = self._vec
        stories = self.stories
        removed = [(t, vec[t]) for t in without if t in vec]
        sqrt = math.sqrt
        least = min(_MIN_STORY_SHARED, self.config.story_threshold)
        lexical: dict[int, float] = {}
        for story_id, value in dots.items():
            centroid = stories[story_id].centroid
            for term, weight in removed:
                value -= weight * centroid.terms.get(term, 0.0)
            similarity = value / sqrt(centroid.norm2)
            if similarity >= least:
                lexical[story_id] = similarity
        ids = list(lexical)
        many = len(ids) > _ONE_BY_ONE
        dense = self._story_rows.cosine_array(ids, self.article_embedding()) if many else None
        out: dict[int, float] = {}
        links: dict[int, float] = {}
        if dense is not None:
            # A topic may hold many stories: score them as arrays rather than one by one.
            import numpy as np

            values = np.fromiter(lexical.values(), float, len(ids))
            blended, evidence = mix_many(values, dense, self.config)
            out = dict(zip(ids, blended.tolist(), strict=True))
            links = dict(zip(ids, evidence.tolist(), strict=True))
        else:
            models = self._story_rows.cosines(ids, self.article_embedding() if ids else None)
            for story_id, model in zip(ids, models, strict=True):
                similarity = lexical[story_id]
                out[story_id] = similarity if model is None else mix(similarity, model, self.config)
                links[story_id] = link_evidence(similarity, model, self.config)
        self._story_sims[key] = out
        self._story_links[key] = links
        return out

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
        source = article.source_name or str(article.source_id)
        ranked = self.rank_developments(topic_id, now)
        score = ranked[0][0] if ranked else 0.0
        ranked, turned = joinable(self, ranked, text, source, now)
        if ranked:
            score, dev_id = ranked[0]
            dev = self.developments[dev_id]
            if cfg.merge_threshold < 1.0:
                dev = self._merge_neighbours(dev, ranked)
            known = len(dev.sources)
            self._grow(dev, vec, salience, embedding, source, now)
            story = self.stories[dev.story_id]
            self._grow_story(story, vec, embedding, now)
            if dev.article_count == 2:
                take_in_early(self, dev)
            if dev.article_count <= _SETTLED:
                restory(self, dev)
            grew = len(dev.sources) > known
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
        story, story_is_new = self._story_for(topic_id, article, now, turned)
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
        self.next_development_id += self.id_step
        self.developments[dev.id] = dev
        self._grow(dev, vec, salience, embedding, source, now)
        dev.words = {
            t.stem: t.surface.rstrip(".") if t.surface.count(".") == 1 else t.surface
            for t in text.title + text.body
            if t.stem in salience
        }
        dev.what_is_new = what_is_new(dev.salience, dev.words, story.centroid.terms, self.vocab)
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

    def _story_for(
        self, topic_id: str, article: Article, now: float, turned: int | None = None
    ) -> tuple[StoryState, bool]:
        """The story a new development continues (`turned`: the story of the development the article
        turned from, if still held), or a new one."""
        self._story_index.setdefault(topic_id, TermIndex())
        if turned is not None and turned in self.stories:
            return self.stories[turned], False
        self.story_similarities(topic_id)
        best, best_id = 0.0, None
        for story_id, score in sorted(self._story_links.get((topic_id, _NO_TERMS), {}).items()):
            if score > best:
                best, best_id = score, story_id
        if best_id is not None and best >= self.config.story_threshold * self.config.story_caution:
            return self.stories[best_id], False
        story = StoryState(self.next_story_id, topic_id, article.title, now, now)
        self.next_story_id += self.id_step
        self.stories[story.id] = story
        members = self._topic_stories.setdefault(topic_id, set())
        members.add(story.id)
        if len(members) > self.config.max_stories:
            self._retire_story(members, now)
        return story, True
