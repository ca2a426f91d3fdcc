"""How close the current article is to each held development and story: the scores assignment and topic
matching decide by, worked out once per article and kept until the next one.
"""

from __future__ import annotations

import heapq
import math
from typing import Any

from bot.models import Article
from bot.stories.clusters import DevelopmentState
from bot.stories.embedding import Embedder
from bot.stories.engine_config import EngineConfig
from bot.stories.leads import embedding_text
from bot.stories.lifecycle import Lifecycle
from bot.stories.regroup import COPY_CANDIDATES
from bot.stories.similarity import link_evidence, mix, mix_many
from bot.stories.vectors import SparseVector, is_copy

# Up to this many stories, scoring one by one costs less than numpy's per-call overhead.
_ONE_BY_ONE = 8
# A development sharing only a stray background word (lexical cosine below this) is no candidate...
_MIN_SHARED = 0.01
# ...nor a story below this: its link evidence (lexical times at most 1) could not reach story_threshold.
_MIN_STORY_SHARED = 0.03
# An article with no keyword of a topic is weighed only for the topics of its few nearest developments.
_NEAR_TOPICS = 3
_NEAR_TERMS = 10
NO_TERMS: frozenset[str] = frozenset()


class Ranking(Lifecycle):
    """The current article's vectors and its rankings of developments and stories, per topic."""

    def __init__(self, config: EngineConfig, embedder: Embedder | None) -> None:
        super().__init__(config)
        self.embedder = embedder
        # The current article: its vectors, and what topic matching and assignment both need of it.
        self._vec: SparseVector = {}
        self._article: Article | None = None
        self._has_text = True
        self._embedding: Any = None
        self._dev_dots: dict[str, dict[int, float]] = {}
        self._story_dots: dict[str, dict[int, float]] = {}
        self._ranked: dict[tuple[str, frozenset[str]], list[tuple[float, int]]] = {}
        self._story_sims: dict[tuple[str, frozenset[str]], dict[int, float]] = {}
        self._story_links: dict[tuple[str, frozenset[str]], dict[int, float]] = {}

    def _look_at(self, article: Article, vec: SparseVector, embedding: Any, has_text: bool = True) -> None:
        """The article to rank from now on (`has_text`: it has words beyond its headline): what was worked
        out for the last one no longer holds."""
        self._vec = vec
        self._has_text = has_text
        self._article = article
        self._embedding = embedding
        self._dev_dots.clear()
        self._story_dots.clear()
        self._ranked.clear()
        self._story_sims.clear()
        self._story_links.clear()

    def article_embedding(self) -> Any:
        """The current article's model vector, made the first time something asks for it.

        Most articles match no topic and never need one: embedding on demand skips them.
        """
        if self._embedding is None and self.embedder is not None and self._article is not None:
            self._embedding = self.embedder.embed([embedding_text(self._article)])[0]
        return self._embedding

    def close(self, dev: DevelopmentState) -> None:
        super().close(dev)
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
        self, topic_id: str, now: float, without: frozenset[str] = NO_TERMS
    ) -> list[tuple[float, int]]:
        """Active developments of a topic that share a term with the current article, best first.

        `without`: terms left out of the article (a topic keyword must be backed by the other words).
        """
        key = (topic_id, without)
        ranked = self._ranked.get(key)
        if ranked is None:
            ranked = self._ranked[key] = self._rank(topic_id, now, without)
        return ranked

    def _candidates(
        self, topic_id: str, now: float, without: frozenset[str]
    ) -> tuple[list[DevelopmentState], list[float]]:
        """Open developments of the topic sharing more than a stray word with the article, with their
        lexical cosines."""
        cfg = self.config
        vec = self._vec
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
        return candidates, lexical

    def _rank(self, topic_id: str, now: float, without: frozenset[str]) -> list[tuple[float, int]]:
        cfg = self.config
        decay = -math.log(2.0) / (cfg.half_life_h * 3600.0)
        burst = -1.0 / (max(cfg.burst_h, 1e-9) * 3600.0)
        candidates, lexical = self._candidates(topic_id, now, without)
        if not candidates:
            return []
        # Stories matter only once there is a development to weigh them for.
        stories = self.story_similarities(topic_id, without)
        # A bare headline's few words make its story preference too thin to overrule the development it fits.
        best_story = max(stories.values(), default=0.0) if self._has_text else 0.0
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
        devs = self.developments
        for rank, (negated, dev_id) in enumerate(order[:COPY_CANDIDATES]):
            if -negated < cfg.join_threshold / 2:
                break
            if any(is_copy(self._vec, m, cfg.near_duplicate) for m in devs[dev_id].members):
                order[rank] = (min(negated, -1.0), dev_id)
        order.sort()
        return [(-negated, dev_id) for negated, dev_id in order]

    def story_similarities(self, topic_id: str, without: frozenset[str] = NO_TERMS) -> dict[int, float]:
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
        out, links = self._blend_stories(lexical)
        self._story_sims[key] = out
        self._story_links[key] = links
        return out

    def _blend_stories(self, lexical: dict[int, float]) -> tuple[dict[int, float], dict[int, float]]:
        """The stories' blended similarities and link evidence, from their lexical cosines and the model."""
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
        return out, links

    def story_links(self, topic_id: str) -> dict[int, float]:
        """Link evidence of the current article to each story of the topic (see similarity.link_evidence)."""
        self.story_similarities(topic_id)
        return self._story_links.get((topic_id, NO_TERMS), {})
