"""What the engine decides for each article, and the events the alert and digest code consume."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class DevelopmentEvent:
    """A development began (`first`: its first article, a new turn of a story or the start of a new
    story) or another outlet reported it (subscriptions waiting for N sources look here)."""

    topic_id: str
    development_id: int
    story_id: int
    story_is_new: bool
    headline: str
    what_is_new: str
    source_count: int
    article_id: int | None
    first: bool


Event = DevelopmentEvent


@dataclass(frozen=True, slots=True)
class TopicAssignment:
    """Where an article landed inside one topic."""

    topic_id: str
    development_id: int
    story_id: int
    new_development: bool
    new_story: bool
    similarity: float


@dataclass(frozen=True, slots=True)
class Decision:
    """The engine's answer for one article: the topics it matched and where it went in each."""

    article_id: int | None
    item_key: str
    assignments: tuple[TopicAssignment, ...] = ()
    events: tuple[Event, ...] = field(default=())

    @property
    def topics(self) -> tuple[str, ...]:
        return tuple(a.topic_id for a in self.assignments)

    @property
    def new_development(self) -> bool:
        return any(a.new_development for a in self.assignments)
