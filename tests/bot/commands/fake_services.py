"""An in-memory CommandServices for tests: plain dicts, and a record of digest requests."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from bot.commands import StoryDetails, Timeline
from bot.messages import DevelopmentView
from bot.models import Destination, Link, Source, Story, Subscription, Topic

T0 = datetime(2026, 3, 3, 5, 0, tzinfo=UTC)


def reject_unbalanced_quotes(query: str) -> str | None:
    return "unbalanced quote" if query.count('"') % 2 else None


def development(
    development_id: int,
    story_id: int | None = 1,
    *,
    story_title: str = "North Korea–US talks",
    headline: str = "Summit set for Hanoi",
    what_is_new: str = "Both sides confirm the date.",
    hours: float = 0.0,
    sources: int = 2,
    story_is_new: bool = False,
    topic_id: str = "korea",
) -> DevelopmentView:
    links = tuple(Link(f"Outlet {n}", f"https://outlet{n}.example/{development_id}") for n in range(sources))
    return DevelopmentView(
        development_id=development_id,
        story_id=story_id,
        story_title=story_title,
        story_is_new=story_is_new,
        headline=headline,
        what_is_new=what_is_new,
        first_seen=T0 + timedelta(hours=hours),
        sources=links,
        source_count=sources,
        topic_id=topic_id,
    )


@dataclass
class FakeServices:
    topics: dict[str, Topic] = field(default_factory=dict)
    subscriptions: dict[tuple[str, str], Subscription] = field(default_factory=dict)
    stories: dict[int, Story] = field(default_factory=dict)
    developments: list[DevelopmentView] = field(default_factory=list)
    sources: list[Source] = field(default_factory=list)
    muted: set[tuple[str, int]] = field(default_factory=set)
    digest_requests: list[Destination] = field(default_factory=list)
    # Who took a turn at 'digest now' where; set `digest_again_at` to refuse every turn until then.
    digest_turns: list[tuple[str, str]] = field(default_factory=list)
    digest_again_at: datetime | None = None
    query_check: Callable[[str], str | None] = reject_unbalanced_quotes
    # Set to make every call fail, as a broken database would.
    broken: BaseException | None = None

    def _check(self) -> None:
        if self.broken is not None:
            raise self.broken

    async def list_subscriptions(self, destination: Destination) -> Sequence[Subscription]:
        self._check()
        return [sub for (key, _), sub in self.subscriptions.items() if key == destination.key]

    async def subscribe(self, subscription: Subscription) -> Subscription:
        self._check()
        self.subscriptions[(subscription.destination.key, subscription.topic_id)] = subscription
        return subscription

    async def unsubscribe(self, destination: Destination, topic_id: str) -> bool:
        self._check()
        return self.subscriptions.pop((destination.key, topic_id), None) is not None

    async def list_topics(self) -> Sequence[Topic]:
        self._check()
        return list(self.topics.values())

    async def get_topic(self, topic_id: str) -> Topic | None:
        self._check()
        return self.topics.get(topic_id)

    async def add_topic(self, topic: Topic) -> bool:
        self._check()
        if topic.id in self.topics:
            return False
        self.topics[topic.id] = topic
        return True

    async def remove_topic(self, topic_id: str) -> int | None:
        self._check()
        if self.topics.pop(topic_id, None) is None:
            return None
        ended = [key for key in self.subscriptions if key[1] == topic_id]
        for key in ended:
            del self.subscriptions[key]
        return len(ended)

    def validate_query(self, query: str) -> str | None:
        return self.query_check(query)

    async def search(self, words: str, limit: int) -> Sequence[DevelopmentView]:
        self._check()
        wanted = words.lower().split()
        found = [
            d
            for d in self.developments
            if all(w in (d.headline + " " + d.what_is_new).lower() for w in wanted)
        ]
        return found[:limit]

    async def topic_timeline(self, topic_id: str, limit: int) -> Timeline | None:
        self._check()
        if topic_id not in self.topics:
            return None
        chosen = sorted((d for d in self.developments if d.topic_id == topic_id), key=lambda d: d.first_seen)
        newest = tuple(reversed(chosen))
        return Timeline(self.topics[topic_id].name, newest[:limit], len(newest))

    async def story_timeline(self, story_id: int, limit: int) -> Timeline | None:
        self._check()
        if story_id not in self.stories:
            return None
        chosen = sorted((d for d in self.developments if d.story_id == story_id), key=lambda d: d.first_seen)
        newest = tuple(reversed(chosen))
        return Timeline(self.stories[story_id].title, newest[:limit], len(newest))

    async def get_story(self, story_id: int) -> Story | None:
        self._check()
        return self.stories.get(story_id)

    async def story_details(self, story_id: int, limit: int) -> StoryDetails | None:
        timeline = await self.story_timeline(story_id, limit)
        if timeline is None:
            return None
        story = self.stories[story_id]
        topic = self.topics.get(story.topic_id)
        return StoryDetails(story, topic.name if topic else story.topic_id, timeline.developments)

    async def mute_story(self, destination: Destination, story_id: int) -> bool:
        self._check()
        key = (destination.key, story_id)
        if key in self.muted:
            return False
        self.muted.add(key)
        return True

    async def unmute_story(self, destination: Destination, story_id: int) -> bool:
        self._check()
        key = (destination.key, story_id)
        if key not in self.muted:
            return False
        self.muted.remove(key)
        return True

    async def claim_digest_now(self, destination: Destination, user: str) -> datetime | None:
        self._check()
        if self.digest_again_at is None:
            self.digest_turns.append((destination.key, user))
        return self.digest_again_at

    async def request_digest(self, destination: Destination) -> int:
        self._check()
        self.digest_requests.append(destination)
        return len(await self.list_subscriptions(destination))

    async def list_sources(self) -> Sequence[Source]:
        self._check()
        return list(self.sources)


def sample_services() -> FakeServices:
    """Two topics, one story with three developments, three sources (one failing, one disabled)."""
    services = FakeServices()
    services.topics["korea"] = Topic("korea", "Korea diplomacy", '"North Korea" OR Pyongyang')
    services.topics["chips"] = Topic("chips", "Chips", "TSMC OR semiconductor")
    services.stories[1] = Story(1, "korea", "North Korea–US talks", T0, T0 + timedelta(hours=30), 3)
    services.developments = [
        development(10, hours=0, headline="Talks announced", sources=1, story_is_new=True),
        development(11, hours=10, headline="Summit set for Hanoi", sources=4),
        development(
            12, hours=30, headline="Summit ends early", what_is_new="No agreement signed.", sources=6
        ),
    ]
    services.sources = [
        Source(1, "https://feeds.example/world.xml", "World", last_polled_at=T0),
        Source(2, "https://feeds.example/asia.xml", "Asia", consecutive_failures=3, last_error="HTTP 503"),
        Source(3, "https://feeds.example/old.xml", disabled=True, last_error="gone (HTTP 410)"),
    ]
    return services
