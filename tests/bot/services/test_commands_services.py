"""StoreCommandServices on both databases, with news put through the real engine."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.clock import ManualClock
from bot.commands import CommandServices
from bot.config import DigestSettings, Settings
from bot.messages.serial import message_from_json
from bot.models import Destination, Platform, Subscription, Topic
from bot.services import StoreCommandServices, validate_topic_query
from bot.services.digest_now import queue_digests_now
from bot.store import Store
from bot.store.outbox import list_messages
from bot.store.schema import developments, stories
from bot.store.sources import disable_source
from bot.store.subscriptions import pause_subscriptions
from tests.bot.services.seed import T0, seed_news

CHANNEL = Destination(Platform.SLACK, "T1", "C1")
OTHER = Destination(Platform.DISCORD, "G1", "D1")


def services_for(store: Store, clock: ManualClock, **hooks: object) -> StoreCommandServices:
    return StoreCommandServices(store, clock, Settings(), **hooks)  # type: ignore[arg-type]


def test_it_is_the_command_services() -> None:
    services: type[CommandServices] = StoreCommandServices
    assert services is StoreCommandServices


@pytest.mark.parametrize(
    ("query", "problem"),
    [
        ('"north korea" OR pyongyang NOT sport', None),
        ('"north korea', "position 1: "),
        ("korea OR", "position "),
        ("(korea", "position "),
    ],
)
def test_queries_are_checked_by_the_engines_parser(query: str, problem: str | None) -> None:
    found = validate_topic_query(query)
    assert found == problem if problem is None else (found or "").startswith(problem)


async def test_lookup_and_timelines_over_engine_output(store: Store) -> None:
    seeded = await seed_news(store)
    services = services_for(store, ManualClock(seeded.now))
    found = await services.search("Hanoi summit", 5)
    # The databases rank alike but not identically: find the three-outlet development among the hits.
    [first] = [view for view in found if view.source_count == 3]
    # Its headline is the one sharing the most words with the other two reports, not simply the first.
    assert first.headline == "Trump and Kim will meet in Hanoi for second summit"
    assert first.source_count == 3 and {link.label for link in first.sources} == {"Reuters", "AP", "BBC"}
    assert first.story_id is not None and first.story_is_new
    timeline = await services.topic_timeline("korea", 10)
    assert timeline is not None and timeline.title == "Korea diplomacy"
    assert [v.first_seen for v in timeline.developments] == sorted(
        (v.first_seen for v in timeline.developments), reverse=True
    )
    assert timeline.total == len(timeline.developments) >= 2
    details = await services.story_details(first.story_id, 5)
    assert details is not None and details.topic_name == "Korea diplomacy"
    assert first.development_id in [v.development_id for v in details.developments]
    assert await services.topic_timeline("nope", 5) is None
    assert await services.story_timeline(10_000, 5) is None


async def test_remove_topic_ends_its_subscriptions_stories_and_developments(store: Store) -> None:
    seeded = await seed_news(store)
    told: list[list[str]] = []

    async def topics_changed(topics: Sequence[Topic]) -> None:
        told.append([topic.id for topic in topics])

    services = services_for(store, ManualClock(seeded.now), on_topics_changed=topics_changed)
    await services.subscribe(Subscription(CHANNEL, "korea"))
    await services.subscribe(Subscription(OTHER, "korea"))
    await services.subscribe(Subscription(CHANNEL, "fed"))
    assert await services.remove_topic("korea") == 2
    assert await services.remove_topic("korea") is None
    assert [s.topic_id for s in await services.list_subscriptions(CHANNEL)] == ["fed"]
    async with store.read() as conn:
        for table in (stories, developments):
            count = select(func.count()).select_from(table).where(table.c.topic_id == "korea")
            assert (await conn.execute(count)).scalar() == 0
    assert told == [["fed"]]


async def test_a_failing_engine_hook_does_not_undo_the_topic(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(topics: Sequence[Topic]) -> None:
        raise RuntimeError("engine away")

    services = services_for(store, ManualClock(T0))
    services.on_topics_changed = broken
    with caplog.at_level(logging.ERROR, logger="storywatch.services"):
        assert await services.add_topic(Topic("chips", "chips", "TSMC"))
    assert await services.get_topic("chips") is not None
    assert not await services.add_topic(Topic("chips", "chips", "TSMC"))
    assert "telling the story engine" in caplog.text


async def test_digest_now_covers_the_channels_active_subscriptions(store: Store) -> None:
    seeded = await seed_news(store)
    asked: list[list[str]] = []

    async def request(subscriptions: Sequence[Subscription]) -> None:
        asked.append([s.topic_id for s in subscriptions])

    services = services_for(store, ManualClock(seeded.now), request_digest_now=request)
    assert await services.request_digest(CHANNEL) == 0
    await services.subscribe(Subscription(CHANNEL, "korea"))
    await services.subscribe(Subscription(CHANNEL, "fed"))
    await services.subscribe(Subscription(OTHER, "fed"))
    assert await services.request_digest(CHANNEL) == 2
    await pause_subscriptions(store, OTHER, "bot removed", now=seeded.now)
    assert await services.request_digest(OTHER) == 0
    assert asked == [["fed", "korea"]]


async def test_mutes_and_sources(store: Store) -> None:
    seeded = await seed_news(store)
    services = services_for(store, ManualClock(seeded.now))
    [story, *_] = [v.story_id for v in await services.search("Hanoi", 1)]
    assert story is not None
    assert await services.mute_story(CHANNEL, story) and not await services.mute_story(CHANNEL, story)
    assert await services.unmute_story(CHANNEL, story) and not await services.unmute_story(CHANNEL, story)
    await disable_source(store, seeded.source_ids["BBC"], now=seeded.now, reason="gone (HTTP 410)")
    by_title = {s.title: s for s in await services.list_sources()}
    assert by_title["BBC"].disabled and by_title["BBC"].last_error == "gone (HTTP 410)"
    assert not by_title["AP"].disabled and by_title["AP"].last_error is None


async def test_queue_digests_now_builds_the_digest_once_a_minute(store: Store) -> None:
    seeded = await seed_news(store)
    services = services_for(store, ManualClock(seeded.now))
    korea = await services.subscribe(Subscription(CHANNEL, "korea", timezone="Asia/Seoul"))
    fed = await services.subscribe(Subscription(OTHER, "fed"))
    now = seeded.now
    settings = DigestSettings()
    # The last day holds the Fed decision (and no Korea news): each channel's digest says so.
    assert await queue_digests_now(store, [korea, fed], now=now, settings=settings) == 2
    assert await queue_digests_now(store, [korea], now=now + timedelta(seconds=20), settings=settings) == 0
    messages = {m.destination.key: m for m in await list_messages(store)}
    assert set(messages) == {CHANNEL.key, OTHER.key}
    assert all(m.kind == "digest" and m.status == "pending" for m in messages.values())
    korea_digest = message_from_json(messages[CHANNEL.key].payload)
    assert korea_digest.text.startswith("Korea diplomacy: no new developments")
    fed_digest = message_from_json(messages[OTHER.key].payload)
    assert fed_digest.text.startswith("Central banks: 1 new development in 1 story")
    assert await queue_digests_now(store, [korea], now=now + timedelta(minutes=1), settings=settings) == 1
