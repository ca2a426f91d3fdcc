"""Developments and stories: growing centroids with what alerts and the store need to know of them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.stories.index import Centroid, SparseVector

# Members kept per development for near-duplicate checks; older ones are summarised by the centroid.
MAX_MEMBERS = 8
# Story centroids keep their heaviest terms only, so a years-long story stays small.
MAX_STORY_TERMS = 60
MAX_DEVELOPMENT_TERMS = 150
# A story idle this long keeps only its heaviest terms: years-long stories stay linkable, and small.
DORMANT_STORY_TERMS = 40
# A development's rhythm (its usual gap between reports) is read from this many reports on.
RHYTHM_REPORTS = 5


@dataclass(slots=True)
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
    # Each outlet that reported it, with the time of its latest report.
    sources: dict[str, float] = field(default_factory=dict)
    article_count: int = 0
    # Salience of each word over the development's articles: the source of the 'what is new' line.
    salience: dict[str, float] = field(default_factory=dict)
    what_is_new: str = ""
    story_is_new: bool = False
    # How the development's first article wrote each word, for the 'what is new' line.
    words: dict[str, str] = field(default_factory=dict)
    # Sum of the members' model vectors (a numpy array), when a model is loaded.
    embedding: Any = None

    def gone_quiet(self, now: float, lull_s: float, rhythm: float) -> bool:
        """Whether a development reported in a burst has ended: silent for `lull_s` seconds and for `rhythm`
        times its usual gap between reports (too few reports give no rhythm: the window alone decides)."""
        if self.article_count < RHYTHM_REPORTS:
            return False
        idle = now - self.last_seen
        return idle >= lull_s and idle * (self.article_count - 1) >= rhythm * (
            self.last_seen - self.first_seen
        )

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
            "source_last": [self.sources[name] for name in sorted(self.sources)],
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
            # Snapshots before per-outlet times date each outlet's report at the development's last.
            sources=dict(
                zip(s["sources"], s.get("source_last") or [s["last"]] * len(s["sources"]), strict=True)
            ),
            article_count=s["count"],
            salience=dict(s["salience"]),
            what_is_new=s["what_is_new"],
            story_is_new=s["story_is_new"],
            words=dict(s["words"]),
        )


@dataclass(slots=True)
class StoryState:
    id: int
    topic_id: str
    title: str
    first_seen: float
    last_seen: float
    centroid: Centroid = field(default_factory=Centroid)
    development_count: int = 0
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
        )
