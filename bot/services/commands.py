"""StoreCommandServices: the CommandServices the chat commands use, backed by the real store.

Two things reach beyond the store and are injected as hooks by the composition root: telling the
running story engine that the topics changed, and asking the jobs for a digest now.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from bot import presentation
from bot.clock import Clock
from bot.commands.services import StoryDetails
from bot.config import Settings
from bot.models import Destination, Source, Story, Subscription, Topic
from bot.store import subscriptions as subscription_store
from bot.store import topics as topic_store
from bot.store.cooldowns import claim_turn
from bot.store.db import Store
from bot.store.sources import list_source_statuses
from bot.stories.query import QueryError, parse_query
from bot.views import DevelopmentView, Timeline

log = logging.getLogger("storywatch.services")

# Called with every topic after one was added or removed, so the engine matches the new set.
TopicsChanged = Callable[[Sequence[Topic]], Awaitable[None]]
# Queues digests for these subscriptions (one channel's) to go out now.
DigestRequester = Callable[[Sequence[Subscription]], Awaitable[None]]
QueryValidator = Callable[[str], str | None]


def validate_topic_query(query: str) -> str | None:
    """The story engine's parser decides: None if it compiles, else `position N: reason`."""
    try:
        parse_query(query)
    except QueryError as exc:
        return str(exc)
    return None


async def ignore_topics_changed(topics: Sequence[Topic]) -> None:
    """The hook when no engine runs in this process (it reads the topics when it starts)."""
    log.info("topics changed (%d topics); no story engine in this process to tell", len(topics))


async def digest_request_unwired(subscriptions: Sequence[Subscription]) -> None:
    """The hook until the jobs provide one: the request is logged, no digest is queued."""
    log.warning("digest requested for %d subscriptions, but no digest job is wired", len(subscriptions))


class StoreCommandServices:
    """Implements bot.commands.CommandServices on the Store. Times come from the injected clock."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        settings: Settings,
        *,
        query_validator: QueryValidator = validate_topic_query,
        on_topics_changed: TopicsChanged = ignore_topics_changed,
        request_digest_now: DigestRequester = digest_request_unwired,
    ) -> None:
        self.store = store
        self.clock = clock
        self.settings = settings
        self._validate = query_validator
        self.on_topics_changed = on_topics_changed
        self.request_digest_now = request_digest_now

    async def list_subscriptions(self, destination: Destination) -> Sequence[Subscription]:
        return await subscription_store.list_subscriptions(self.store, destination)

    async def subscribe(self, subscription: Subscription) -> Subscription:
        return await subscription_store.upsert_subscription(self.store, subscription, now=self.clock.now())

    async def unsubscribe(self, destination: Destination, topic_id: str) -> bool:
        return await subscription_store.remove_subscription(self.store, destination, topic_id)

    async def list_topics(self) -> Sequence[Topic]:
        return await topic_store.list_topics(self.store)

    async def get_topic(self, topic_id: str) -> Topic | None:
        return await topic_store.get_topic(self.store, topic_id)

    async def add_topic(self, topic: Topic) -> bool:
        try:
            await topic_store.add_topic(self.store, topic, now=self.clock.now())
        except topic_store.TopicExistsError:
            return False
        await self._topics_changed()
        return True

    async def remove_topic(self, topic_id: str) -> int | None:
        ended = await topic_store.remove_topic_with_subscriptions(self.store, topic_id)
        if ended is None:
            return None
        await self._topics_changed()
        return ended

    async def _topics_changed(self) -> None:
        try:
            await self.on_topics_changed(await topic_store.list_topics(self.store))
        except Exception:
            # The change is stored; the engine picks it up at its next start at worst.
            log.exception("telling the story engine about changed topics failed")

    def validate_query(self, query: str) -> str | None:
        return self._validate(query)

    async def search(self, words: str, limit: int) -> Sequence[DevelopmentView]:
        return await presentation.search_developments(self.store, words, limit)

    async def topic_timeline(self, topic_id: str, limit: int) -> Timeline | None:
        topic = await topic_store.get_topic(self.store, topic_id)
        if topic is None:
            return None
        return await presentation.topic_timeline(self.store, topic_id, limit, title=topic.name or topic.id)

    async def story_timeline(self, story_id: int, limit: int) -> Timeline | None:
        return await presentation.story_timeline(self.store, story_id, limit)

    async def get_story(self, story_id: int) -> Story | None:
        return await presentation.get_story(self.store, story_id)

    async def story_details(self, story_id: int, limit: int) -> StoryDetails | None:
        found = await presentation.story_timeline(self.store, story_id, limit)
        if found is None or found.story is None:
            return None
        topic = await topic_store.get_topic(self.store, found.story.topic_id)
        topic_name = (topic.name or topic.id) if topic else found.story.topic_id
        return StoryDetails(found.story, topic_name, found.developments)

    async def mute_story(self, destination: Destination, story_id: int) -> bool:
        return await subscription_store.mute_story(self.store, destination, story_id, now=self.clock.now())

    async def unmute_story(self, destination: Destination, story_id: int) -> bool:
        return await subscription_store.unmute_story(self.store, destination, story_id)

    async def claim_digest_now(self, destination: Destination, user: str) -> datetime | None:
        every = timedelta(minutes=self.settings.access.digest_now_every_minutes)
        if not every:
            return None
        now = self.clock.now()
        return await claim_turn(self.store, "digest-now", destination, user, now=now, every=every)

    async def request_digest(self, destination: Destination) -> int:
        # Every followed topic, instant ones too: asking for a digest now is asking for the summary.
        wanted = [
            sub
            for sub in await subscription_store.list_subscriptions(self.store, destination)
            if sub.paused_reason is None
        ]
        if wanted:
            await self.request_digest_now(wanted)
        return len(wanted)

    async def list_sources(self) -> Sequence[Source]:
        # The command shows `last_error` as a disabled source's reason; the store keeps the reason apart.
        return [
            replace(status.source, last_error=status.disabled_reason or status.source.last_error)
            if status.source.disabled
            else status.source
            for status in await list_source_statuses(self.store)
        ]
