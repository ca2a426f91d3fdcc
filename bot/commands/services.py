"""The data operations command handlers need, as a Protocol: the store-backed implementation comes later."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from bot.messages import DevelopmentView
from bot.models import Destination, Source, Story, Subscription, Topic
from bot.views import Timeline


@dataclass(frozen=True, slots=True)
class StoryDetails:
    story: Story
    topic_name: str
    # The latest developments, newest first.
    developments: tuple[DevelopmentView, ...]


class CommandServices(Protocol):
    """What the commands read and change. Destinations passed in are channels (no thread)."""

    async def list_subscriptions(self, destination: Destination) -> Sequence[Subscription]: ...

    async def subscribe(self, subscription: Subscription) -> Subscription:
        """Create or replace the channel's subscription to the topic (clearing any pause)."""
        ...

    async def unsubscribe(self, destination: Destination, topic_id: str) -> bool:
        """False if the channel was not subscribed."""
        ...

    async def list_topics(self) -> Sequence[Topic]: ...

    async def get_topic(self, topic_id: str) -> Topic | None: ...

    async def add_topic(self, topic: Topic) -> bool:
        """False if a topic with that id exists."""
        ...

    async def remove_topic(self, topic_id: str) -> int | None:
        """None if there is no such topic, else how many subscriptions went with it."""
        ...

    def validate_query(self, query: str) -> str | None:
        """A one-line reason the topic query is invalid, or None (the story engine's query parser)."""
        ...

    async def search(self, words: str, limit: int) -> Sequence[DevelopmentView]:
        """Developments matching `words`, best first."""
        ...

    async def topic_timeline(self, topic_id: str, limit: int) -> Timeline | None: ...

    async def story_timeline(self, story_id: int, limit: int) -> Timeline | None: ...

    async def get_story(self, story_id: int) -> Story | None: ...

    async def story_details(self, story_id: int, limit: int) -> StoryDetails | None: ...

    async def mute_story(self, destination: Destination, story_id: int) -> bool:
        """False if the story was already muted there."""
        ...

    async def unmute_story(self, destination: Destination, story_id: int) -> bool:
        """False if the story was not muted there."""
        ...

    async def claim_digest_now(self, destination: Destination, user: str) -> datetime | None:
        """Take the user's turn at `digest now` in this channel: None if granted, else when they may
        ask again (turns are per user and channel, and hold across processes)."""
        ...

    async def request_digest(self, destination: Destination) -> int:
        """Queue the channel's digests to go out now; how many subscriptions that covers."""
        ...

    async def list_sources(self) -> Sequence[Source]: ...
