"""Read models: what the store reads for the message builders and commands, plain values so those depend
on neither the store nor the story engine (and the store on nothing above it).

The store reads `DevelopmentRecords` (rows as stored, and the reports their views are worked out from);
bot.presentation turns them into `DevelopmentView`s (headline, 'what is new', story label).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlsplit

from bot.models import Article, Link, Story, web_link


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


@dataclass(frozen=True, slots=True)
class Timeline:
    """The latest developments of a topic or a story, newest first, and how many there are in all."""

    title: str
    developments: tuple[DevelopmentView, ...]
    total: int
    # The story, titled as it is shown, when this is a story's timeline.
    story: Story | None = None


@dataclass(frozen=True, slots=True)
class DevelopmentRecord:
    """A development as stored: its stored headline, 'what is new' and story title are what its view falls
    back on when its reports give nothing better."""

    development_id: int
    story_id: int | None
    topic_id: str
    first_seen: datetime
    headline: str
    what_is_new: str
    story_title: str
    story_is_new: bool
    # One link per outlet, the representative article's first.
    links: tuple[Link, ...]
    source_count: int


@dataclass(frozen=True, slots=True)
class StoryDevelopment:
    id: int
    story_id: int
    first_seen: datetime


@dataclass(frozen=True, slots=True)
class DevelopmentRecords:
    """Developments as stored, and what their views are worked out from, read in one transaction."""

    # In the order asked, ids not found left out.
    records: tuple[DevelopmentRecord, ...] = ()
    # Each of their stories' latest developments.
    story_developments: Mapping[int, Sequence[StoryDevelopment]] = field(default_factory=dict)
    # The first reports of each of those developments and of the records', earliest first.
    reports: Mapping[int, Sequence[Article]] = field(default_factory=dict)
    # Per topic of a record with a story: its query, and its latest developments' (story id, headline).
    topic_queries: Mapping[str, str] = field(default_factory=dict)
    topic_headlines: Mapping[str, Sequence[tuple[int, str]]] = field(default_factory=dict)


def report_link(source_name: str | None, url: str) -> Link:
    """A report's link; one without a web address keeps its outlet's name and links nowhere."""
    href = web_link(url)
    return Link(source_name or urlsplit(href).hostname or href or "unknown source", href)
