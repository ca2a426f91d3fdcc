"""Topic matching: the query says which articles are candidates, the engine decides which belong.

A keyword found in a headline, written the way a name is written ('Fed', 'ECB', 'Pyongyang') or as a
phrase, is strong evidence. A keyword in passing (only in the text, or a common word such as 'summit'
or 'fed up' in lower case) must be backed by the topic itself: similarity to what the topic has
accepted so far (seeded with its keywords and description), or to one of its current developments.
An article with no keyword can still join when it plainly continues one of the topic's developments.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.models import Article, Topic
from bot.stories.embedding import Embedder
from bot.stories.index import Centroid
from bot.stories.query import Hit, Node, QueryError, QueryText, parse_query
from bot.stories.similarity import BlendSettings, blend
from bot.stories.stopwords import STOPWORDS
from bot.stories.text import Token, tokenize
from bot.stories.vectors import ArticleText, SparseVector, normalize

# Without configured topics every article belongs to this one (eval streams without --topics).
IMPLICIT_TOPIC = "all"
log = logging.getLogger("storywatch.stories")
_PROFILE_TERMS = 600
_COMMON_SEED_TOPICS = 3


@dataclass(frozen=True, slots=True)
class TopicThresholds:
    """How much backing each kind of evidence needs (cosines to the topic profile or a development)."""

    # A keyword in passing needs this similarity to the topic's profile...
    weak_profile: float = 0.135
    # ...and an article with no keyword at all needs this much.
    none_profile: float = 0.17
    # An article with no keyword joins if it is this close to one of the topic's developments.
    none_development: float = 0.15
    # Below this lexical similarity to the topic's profile, an article without a keyword is not put
    # to the model.
    words_floor: float = 0.04


@dataclass(frozen=True, slots=True)
class MatchContext:
    """What topic matching may ask about the current article, handed in by the engine."""

    # Topics of the few active developments nearest the article.
    near: set[str]
    # The developments of a topic the article could join, best first, leaving out the given terms.
    rank: Callable[[str, float, frozenset[str]], list[tuple[float, int]]]
    # The article's model vector, made on first request (None without a model).
    embedding: Callable[[], Any]
    # Whether the stream writes this word as a name.
    is_name: Callable[[Token], bool]
    join_threshold: float
    blend: BlendSettings
    embedder: Embedder | None


@dataclass
class TopicState:
    topic: Topic
    query: Node
    seed: SparseVector
    profile: Centroid = field(default_factory=Centroid)
    accepted: int = 0
    # Sum of accepted articles' model vectors (numpy), seeded with the description's, when a model is loaded.
    dense: Any = None


def _seed_vector(topic: Topic, query: Node) -> SparseVector:
    """Keywords count twice as much as the description's words."""
    seed: dict[str, float] = {}
    for leaf in query.leaves():
        for stem in leaf.stems:
            seed[stem] = seed.get(stem, 0.0) + 2.0
    for tok in tokenize(f"{topic.name} {topic.description}"):
        if tok.folded not in STOPWORDS and len(tok.stem) > 1:
            seed[tok.stem] = seed.get(tok.stem, 0.0) + 1.0
    return normalize(seed)


def hit_strength(hit: Hit, keyword_is_name: bool) -> float:
    """1 for a headline hit written as a name or phrase; less for passing or lower-case mentions."""
    if hit.leaf.kind in ("source", "regex"):
        return 1.0
    where = 1.0 if hit.in_title else 0.5
    if hit.leaf.kind == "phrase" and len(hit.leaf.stems) > 1:
        return where
    tok = hit.tokens[0]
    if tok.surface[:1].isupper() and not tok.case_blind:
        return where
    if tok.case_blind:
        # A Title Case headline: trust the capital only for words the stream has seen written as names.
        return where if keyword_is_name else where * 0.6
    return where * 0.3


class TopicMatcher:
    def __init__(self, topics: Sequence[Topic], thresholds: TopicThresholds | None = None) -> None:
        self.thresholds = thresholds or TopicThresholds()
        self.topics = list(topics)
        self.states: dict[str, TopicState] = {}
        # stem -> topics whose query could match an article with that stem; and the seed's words.
        self._by_keyword: dict[str, set[str]] = {}
        self._by_seed: dict[str, set[str]] = {}
        self._always: set[str] = set()
        # Topics with a source filter that may match on its own (most of that source's articles).
        self._by_source_only = False
        self._order: dict[str, int] = {}
        self._regex = any("re:" in topic.query for topic in self.topics)
        for topic in self.topics:
            try:
                query = parse_query(topic.query)
            except QueryError as exc:
                # A stored query this version refuses (its bounds tightened) matches nothing; the rest run.
                log.warning("topic %s matches nothing: its query is refused: %s", topic.id, exc)
                continue
            state = TopicState(topic, query, _seed_vector(topic, query))
            self.states[topic.id] = state
            self._order.setdefault(topic.id, len(self._order))
            for leaf in query.leaves():
                if leaf.stems:
                    self._by_keyword.setdefault(leaf.stems[0], set()).add(topic.id)
                else:
                    self._always.add(topic.id)
                    self._by_source_only |= leaf.kind == "source"
            for stem in state.seed:
                self._by_seed.setdefault(stem, set()).add(topic.id)
        # A word in many topics' names or descriptions ('news', 'topic') says nothing of which one an
        # article is about: it does not put an article up for all of them.
        common = max(_COMMON_SEED_TOPICS, len(self.topics) // 10)
        self._by_seed = {stem: ids for stem, ids in self._by_seed.items() if len(ids) <= common}

    def may_need_model(self, text: ArticleText) -> bool:
        """Whether deciding this article will likely ask the model: a keyword of some topic appears in it.

        A regular expression is rarely met: an article it matches is embedded on its own when it needs to be.
        """
        if not self.topics or self._by_source_only:
            return True
        keywords = self._by_keyword
        return any(t.stem in keywords for t in text.title) or any(t.stem in keywords for t in text.body)

    def match(self, article: Article, text: ArticleText, vec: SparseVector, ctx: MatchContext) -> list[str]:
        # Only regular expressions read the folded raw text, and folding long non-ASCII text is slow.
        raw = f"{article.title}\n{article.text}" if self._regex else ""
        doc = QueryText.of(text.title, text.body, article.source_name, raw)
        now = article.published.timestamp()
        # A regex or source-filter topic whose query fails here is treated like one whose keyword is absent.
        states = self.states
        keyword_topics = {tid for tid in self._always if states[tid].query.matches(doc)}
        by_keyword = self._by_keyword
        for stem in doc.stems & by_keyword.keys():
            keyword_topics |= by_keyword[stem]
        seeded: set[str] = set()
        by_seed = self._by_seed
        for term in vec.keys() & by_seed.keys():
            seeded |= by_seed[term]
        near = ctx.near
        chosen: list[str] = []
        order = self._order
        for tid in sorted((keyword_topics | near | seeded) & order.keys(), key=order.__getitem__):
            state = self.states[tid]
            if state.topic.sources and not any(s.lower() in doc.source for s in state.topic.sources):
                continue
            if self.decide(state, doc, vec, ctx, now, tid in keyword_topics, tid in near):
                chosen.append(tid)
        return chosen

    def decide(
        self,
        state: TopicState,
        doc: QueryText,
        vec: SparseVector,
        context: MatchContext,
        now: float,
        may_match: bool = True,
        near: bool = True,
    ) -> bool:
        th = self.thresholds
        hits = state.query.hits(doc) if may_match and state.query.matches(doc) else []
        strength = max(
            (hit_strength(h, h.tokens != () and context.is_name(h.tokens[0])) for h in hits), default=0.0
        )
        if strength >= 1.0:
            return True
        if not hits and not near:
            # No development of this topic is near: only a strong likeness to the topic itself admits it.
            return self.profile_similarity(state, vec, context, th.words_floor) >= th.none_profile
        own: frozenset[str] = frozenset()
        if hits:
            # Backing for an ambiguous keyword must come from the article's other words, not the keyword.
            own = frozenset(stem for h in hits for stem in h.leaf.stems)
            vec = {t: w for t, w in vec.items() if t not in own}
        ranked = context.rank(state.topic.id, now, own)
        development = ranked[0][0] if ranked else 0.0
        if development >= (context.join_threshold if hits else th.none_development):
            return True
        profile = self.profile_similarity(state, vec, context, 0.0 if hits else th.words_floor)
        return profile >= (th.weak_profile if hits else th.none_profile)

    def profile_similarity(
        self, state: TopicState, vec: SparseVector, context: MatchContext, words_floor: float = 0.0
    ) -> float:
        seed = sum(w * state.seed.get(t, 0.0) for t, w in vec.items())
        lexical = max(seed, state.profile.cosine(vec))
        embedder = context.embedder
        if embedder is None or lexical < words_floor:
            # Without a keyword, the model's likeness alone does not admit an article whose words barely
            # touch the topic (and most articles are such: they are spared the model).
            return lexical
        embedding = context.embedding()
        if embedding is None:
            return lexical
        if state.dense is None:
            state.dense = embedder.embed([f"{state.topic.name}. {state.topic.description}"])[0]
        return blend(lexical, embedding, state.dense, context.blend)

    def learn(self, topic_id: str, vec: SparseVector, embedding: Any = None) -> None:
        state = self.states.get(topic_id)
        if state is None:
            return
        state.profile.add(vec)
        if embedding is not None and state.dense is not None:
            state.dense = state.dense + embedding
        state.accepted += 1
        if len(state.profile.terms) > 2 * _PROFILE_TERMS:
            # Summarised by its heaviest terms as it grows, so the profile stays small to compare with.
            state.profile.prune(_PROFILE_TERMS)

    def to_state(self) -> dict[str, Any]:
        return {
            tid: {"terms": s.profile.terms, "norm2": s.profile.norm2, "n": s.accepted}
            for tid, s in self.states.items()
        }

    def load_state(self, state: dict[str, Any]) -> None:
        for tid, s in state.items():
            if tid in self.states:
                self.states[tid].profile = Centroid(dict(s["terms"]), s["norm2"])
                self.states[tid].accepted = s["n"]
