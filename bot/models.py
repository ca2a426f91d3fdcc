"""The vocabulary of storywatch (see DESIGN.md) as frozen dataclasses, and the neutral Message model.

Everything here is plain data: no I/O, no platform knowledge. Text that came from feeds stays raw in
these objects; each adapter escapes it for its own platform when it renders.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime, time
from urllib.parse import urlsplit


class Platform(enum.StrEnum):
    CONSOLE = "console"
    SLACK = "slack"
    DISCORD = "discord"


class AlertMode(enum.StrEnum):
    INSTANT = "instant"
    DIGEST = "digest"
    BOTH = "both"

    @property
    def instant(self) -> bool:
        return self in (AlertMode.INSTANT, AlertMode.BOTH)

    @property
    def digest(self) -> bool:
        return self in (AlertMode.DIGEST, AlertMode.BOTH)


@dataclass(frozen=True, slots=True)
class Source:
    """A feed URL the bot polls, with its HTTP cache state and health."""

    id: int
    url: str
    title: str = ""
    etag: str | None = None
    last_modified: str | None = None
    last_polled_at: datetime | None = None
    next_poll_at: datetime | None = None
    poll_interval_s: int = 900
    consecutive_failures: int = 0
    last_error: str | None = None
    disabled: bool = False
    # False until the first successful poll: that poll stores without announcing (backfill).
    primed: bool = False


@dataclass(frozen=True, slots=True)
class Article:
    """One normalised entry. `url` is canonical; `text` is plain text (HTML already stripped)."""

    url: str
    title: str
    text: str
    published: datetime
    source_id: int
    item_key: str
    language: str = ""
    source_name: str = ""
    fetched_at: datetime | None = None
    id: int | None = None
    # Set when this article is a syndicated copy of an earlier one (near-identical text, other outlet).
    original_id: int | None = None


@dataclass(frozen=True, slots=True)
class Topic:
    """What a channel subscribes to: a keyword query, optionally limited to some sources."""

    id: str
    name: str
    query: str
    sources: tuple[str, ...] = ()
    description: str = ""


@dataclass(frozen=True, slots=True)
class Story:
    """A long-lived thread of developments inside a topic."""

    id: int
    topic_id: str
    title: str
    first_seen: datetime
    last_seen: datetime
    development_count: int = 0


@dataclass(frozen=True, slots=True)
class Development:
    """An event inside a topic: the articles from many outlets that report the same happening."""

    id: int
    topic_id: str
    story_id: int | None
    headline: str
    what_is_new: str
    first_seen: datetime
    last_seen: datetime
    article_count: int = 0
    source_count: int = 0


@dataclass(frozen=True, slots=True)
class Destination:
    """Where a message goes: platform + workspace/guild + channel (+ thread)."""

    platform: Platform
    workspace: str
    channel: str
    thread: str | None = None

    @property
    def key(self) -> str:
        """A stable text form, used in idempotency keys and logs."""
        base = f"{self.platform.value}:{self.workspace}:{self.channel}"
        return f"{base}:{self.thread}" if self.thread else base


# (platform, workspace, channel): a mute, a pause or a rate limit holds for the whole channel, any thread.
ChannelKey = tuple[str, str, str]


def channel_key(destination: Destination) -> ChannelKey:
    return (destination.platform.value, destination.workspace, destination.channel)


@dataclass(frozen=True, slots=True)
class Subscription:
    """A channel's interest in a topic."""

    destination: Destination
    topic_id: str
    mode: AlertMode = AlertMode.INSTANT
    digest_at: time = time(8, 0)
    timezone: str = "UTC"
    # Wait until this many distinct outlets have reported a development before alerting.
    min_sources: int = 1
    # Each story's alerts in one thread: its first alert starts the thread, later ones reply in it.
    threaded: bool = False
    paused_reason: str | None = None
    id: int | None = None
    # Story-thread replies also shown in the channel (Slack's "also send to channel").
    broadcast: bool = False
    # Deliver through a channel webhook carrying the bot's name and avatar (Discord).
    webhook: bool = False
    # New-story caution: a development that starts a story waits for this many outlets of its own.
    new_story_sources: int = 1


# The neutral Message model: built once in the core, rendered by each adapter.


@dataclass(frozen=True, slots=True)
class Link:
    """A source's report: its outlet's name and the report's web address ("" when it has none)."""

    label: str
    url: str


def web_link(url: str) -> str:
    """`url` when a reader can open it (absolute http or https), else "": articles without a usable link
    are stored under an identity of their own (`urn:storywatch:...`) that is no link."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    return url if parts.scheme in ("http", "https") and parts.netloc else ""


@dataclass(frozen=True, slots=True)
class Button:
    """An action button; `action` is a core action id such as 'mute_story', `value` its argument."""

    label: str
    action: str
    value: str


@dataclass(frozen=True, slots=True)
class Section:
    """One block of a message: an optional heading, plain text, links and a context line."""

    text: str = ""
    heading: str | None = None
    links: tuple[Link, ...] = ()
    context: str | None = None


@dataclass(frozen=True, slots=True)
class Message:
    """A platform-neutral message. `text` is the short fallback/notification text."""

    text: str
    title: str | None = None
    sections: tuple[Section, ...] = ()
    buttons: tuple[Button, ...] = ()
    # Only the person who asked sees it (slash-command replies that concern the caller).
    ephemeral: bool = False
    metadata: dict[str, str] = field(default_factory=dict, compare=False)
