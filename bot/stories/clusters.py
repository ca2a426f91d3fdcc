"""Developments and stories as growing centroids, and the inverted index that finds the recent ones."""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field
from typing import Any

from bot.stories.vectors import SparseVector

# Members kept per development for near-duplicate checks; older ones are summarised by the centroid.
MAX_MEMBERS = 8
# Story centroids keep their heaviest terms only, so a years-long story stays small.
MAX_STORY_TERMS = 200
MAX_DEVELOPMENT_TERMS = 300
# Candidate retrieval looks up only an article's heaviest terms, and scores at most this many clusters.
QUERY_TERMS = 40
MAX_CANDIDATES = 64


@dataclass
class Centroid:
    """A sum of unit vectors, with its squared norm kept up to date as vectors are added."""

    terms: SparseVector = field(default_factory=dict)
    norm2: float = 0.0

    def add(self, vec: SparseVector, scale: float = 1.0) -> None:
        terms = self.terms
        cross = 0.0
        self_sq = 0.0
        for t, w in vec.items():
            old = terms.get(t, 0.0)
            cross += old * w
            self_sq += w * w
            terms[t] = old + scale * w
        self.norm2 += 2.0 * scale * cross + scale * scale * self_sq

    def cosine(self, vec: SparseVector) -> float:
        if self.norm2 <= 0.0:
            return 0.0
        get = self.terms.get
        return sum([w * get(t, 0.0) for t, w in vec.items()]) / math.sqrt(self.norm2)

    def prune(self, keep: int) -> None:
        if len(self.terms) <= keep:
            return
        top = heapq.nlargest(keep, self.terms.items(), key=lambda kv: kv[1])
        self.terms = dict(top)
        self.norm2 = sum(w * w for _, w in top)


@dataclass
class DevelopmentState:
    id: int
    topic_id: str
    story_id: int
    first_seen: float
    last_seen: float
    headline: str
    representative_article_id: int | None
    centroid: Centroid = field(default_factory=Centroid)
    members: list[SparseVector] = field(default_factory=list)
    sources: set[str] = field(default_factory=set)
    article_count: int = 0
    # Salience of each word over the development's articles: the source of the 'what is new' line.
    salience: dict[str, float] = field(default_factory=dict)
    what_is_new: str = ""
    story_is_new: bool = False
    # How the development's first article wrote each word, for the 'what is new' line.
    words: dict[str, str] = field(default_factory=dict)
    # Sum of the members' model vectors (a numpy array), when a model is loaded.
    embedding: Any = None

    def to_state(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "topic": self.topic_id,
            "story": self.story_id,
            "first": self.first_seen,
            "last": self.last_seen,
            "headline": self.headline,
            "rep": self.representative_article_id,
            "centroid": self.centroid.terms,
            "norm2": self.centroid.norm2,
            "members": self.members,
            "sources": sorted(self.sources),
            "count": self.article_count,
            "salience": self.salience,
            "what_is_new": self.what_is_new,
            "story_is_new": self.story_is_new,
            "words": self.words,
        }

    @classmethod
    def from_state(cls, s: dict[str, Any]) -> DevelopmentState:
        return cls(
            id=s["id"],
            topic_id=s["topic"],
            story_id=s["story"],
            first_seen=s["first"],
            last_seen=s["last"],
            headline=s["headline"],
            representative_article_id=s["rep"],
            centroid=Centroid(dict(s["centroid"]), s["norm2"]),
            members=[dict(m) for m in s["members"]],
            sources=set(s["sources"]),
            article_count=s["count"],
            salience=dict(s["salience"]),
            what_is_new=s["what_is_new"],
            story_is_new=s["story_is_new"],
            words=dict(s["words"]),
        )


@dataclass
class StoryState:
    id: int
    topic_id: str
    title: str
    first_seen: float
    last_seen: float
    centroid: Centroid = field(default_factory=Centroid)
    development_count: int = 0
    # Everything the story's developments have said so far: what a new development adds is measured here.
    seen_terms: dict[str, float] = field(default_factory=dict)
    embedding: Any = None

    def to_state(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "topic": self.topic_id,
            "title": self.title,
            "first": self.first_seen,
            "last": self.last_seen,
            "centroid": self.centroid.terms,
            "norm2": self.centroid.norm2,
            "devs": self.development_count,
            "seen": self.seen_terms,
        }

    @classmethod
    def from_state(cls, s: dict[str, Any]) -> StoryState:
        return cls(
            id=s["id"],
            topic_id=s["topic"],
            title=s["title"],
            first_seen=s["first"],
            last_seen=s["last"],
            centroid=Centroid(dict(s["centroid"]), s["norm2"]),
            development_count=s["devs"],
            seen_terms=dict(s["seen"]),
        )


class RecentIndex:
    """term -> ids of clusters active within a time window; a cluster idle for longer drops out.

    Candidate retrieval touches only the postings of an article's terms, and expiry keeps those
    postings to the window, so the cost of an article does not grow with the length of history.
    """

    def __init__(self, window_s: float | None) -> None:
        self.window_s = window_s
        self.postings: dict[str, set[int]] = {}
        self.terms_of: dict[int, set[str]] = {}
        self.last_seen: dict[int, float] = {}
        self._expiry: list[tuple[float, int]] = []

    def __contains__(self, cid: int) -> bool:
        return cid in self.terms_of

    def add(self, cid: int, terms: SparseVector | set[str], when: float) -> None:
        known = self.terms_of.setdefault(cid, set())
        for term in terms:
            if term not in known:
                known.add(term)
                self.postings.setdefault(term, set()).add(cid)
        self.last_seen[cid] = when
        if self.window_s is not None:
            heapq.heappush(self._expiry, (when, cid))

    def remove_terms(self, cid: int, terms: set[str]) -> None:
        known = self.terms_of.get(cid)
        if known is None:
            return
        for term in terms & known:
            known.discard(term)
            ids = self.postings.get(term)
            if ids is not None:
                ids.discard(cid)
                if not ids:
                    del self.postings[term]

    def expire(self, now: float) -> list[int]:
        """Drop clusters idle for longer than the window; returns their ids."""
        if self.window_s is None:
            return []
        gone: list[int] = []
        limit = now - self.window_s
        while self._expiry and self._expiry[0][0] < limit:
            when, cid = heapq.heappop(self._expiry)
            if self.last_seen.get(cid) != when:
                continue
            self.remove_terms(cid, set(self.terms_of.get(cid, ())))
            self.terms_of.pop(cid, None)
            self.last_seen.pop(cid, None)
            gone.append(cid)
        return gone

    def candidates(self, vec: SparseVector, query_terms: int = QUERY_TERMS) -> list[int]:
        """Clusters sharing one of the article's heaviest terms, the most overlapping first, capped."""
        heavy = heapq.nlargest(query_terms, vec, key=vec.__getitem__) if len(vec) > query_terms else vec
        counts: dict[int, int] = {}
        postings = self.postings
        get = counts.get
        for term in heavy:
            ids = postings.get(term)
            if ids:
                for cid in ids:
                    counts[cid] = get(cid, 0) + 1
        return sorted(counts, key=lambda cid: (-counts[cid], cid))[:MAX_CANDIDATES]
