"""Read models: what the store reads for the message builders and commands, plain values so those depend
on neither the store nor the story engine (and the store on nothing above it)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.models import Link


@dataclass(frozen=True, slots=True)
class DevelopmentView:
    """One development as a message shows it: the story it belongs to, what is new, who reported it."""

    development_id: int
    story_id: int | None
    story_title: str
    # True when this development started its story.
    story_is_new: bool
    headline: str
    what_is_new: str
    first_seen: datetime
    # One link per outlet, most relevant first; raw feed text in the labels.
    sources: tuple[Link, ...]
    # Distinct outlets in all, which may be more than the links carried.
    source_count: int
    topic_id: str = ""

    @property
    def rank_key(self) -> tuple[int, float, int]:
        """Sort key: more sources first, then more recent, then the newer id (stable ties)."""
        return (-self.source_count, -self.first_seen.timestamp(), -self.development_id)
