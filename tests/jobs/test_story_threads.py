"""Story threads: a story's first alert in a threaded channel starts its thread, later ones reply in it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import insert

from bot.clock import SystemClock
from bot.messages import Capabilities
from bot.messages.routing import routed, story_thread_of
from bot.messages.serial import message_to_json
from bot.models import Destination, Platform, Subscription, Topic
from bot.store import Store, open_store
from bot.store.outbox import NewMessage, count_messages, enqueue_messages
from bot.store.schema import stories
from bot.store.story_threads import story_thread
from bot.store.subscriptions import list_subscriptions, upsert_subscription
from bot.store.topics import add_topic
from jobs.delivery import Deliverer, DeliverySettings
from tests.fakes.platform import FakePlatform, FakePlatformAdapter, Scripted
from tests.jobs.helpers import sample_message

CAPS = Capabilities(per_channel_rate=200.0, global_rate=1000.0, max_sections=2)
FAST = DeliverySettings(backoff_base_s=0.05, idle_check_s=0.05, linger_s=0.5)
T0 = datetime(2025, 3, 1, tzinfo=UTC)
THREADED = Destination(Platform.SLACK, "T1", "C-threaded")
PLAIN = Destination(Platform.SLACK, "T1", "C-plain")


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    store = await open_store(f"sqlite:///{tmp_path / 't.sqlite'}")
    await add_topic(store, Topic("nk", "NK", "korea"), now=T0)
    async with store.write() as conn:
        for story_id in (1, 2):
            await conn.execute(
                insert(stories).values(
                    id=story_id,
                    topic_id="nk",
                    title=f"Story {story_id}",
                    first_seen=T0,
                    last_seen=T0,
                    key_terms=[],
                )
            )
    yield store
    await store.close()


@pytest.fixture
async def platform() -> AsyncIterator[FakePlatform]:
    fake = FakePlatform(per_channel_rate=None)
    await fake.start()
    yield fake
    await fake.stop()


async def _queue(store: Store, plan: list[tuple[int, int]]) -> None:
    """Queue alert n of story s to both channels, as fan-out would for their subscriptions' options."""
    threaded = await upsert_subscription(store, Subscription(THREADED, "nk", threaded=True), now=T0)
    plain = await upsert_subscription(store, Subscription(PLAIN, "nk"), now=T0)
    rows = []
    for n, story_id in plan:
        for sub in (threaded, plain):
            message = routed(sample_message(n), sub, story_id=story_id, story_title=f"Story {story_id}")
            rows.append(
                NewMessage(
                    f"alert:{sub.destination.key}:{n}", sub.destination, "alert", message_to_json(message)
                )
            )
    await enqueue_messages(store, rows, now=T0)


def test_routing_names_the_story_only_for_threaded_subscriptions() -> None:
    threaded = routed(
        sample_message(1),
        Subscription(THREADED, "nk", threaded=True, broadcast=True, webhook=True),
        story_id=7,
        story_title="x" * 300,
    )
    assert story_thread_of(threaded) == 7
    assert threaded.metadata["broadcast"] == "1" and threaded.metadata["via"] == "webhook"
    assert len(threaded.metadata["thread_name"]) <= 100
    plain = sample_message(1)
    assert routed(plain, Subscription(PLAIN, "nk"), story_id=7, story_title="t") is plain
    assert story_thread_of(plain) is None
    # A development with no story yet cannot be threaded by story.
    assert (
        story_thread_of(
            routed(plain, Subscription(THREADED, "nk", threaded=True), story_id=None, story_title="")
        )
        is None
    )


async def test_each_story_gets_one_thread_and_later_alerts_reply_in_it(
    store: Store, platform: FakePlatform
) -> None:
    await _queue(store, [(1, 1), (2, 2), (3, 1), (4, 2), (5, 1)])
    adapter = FakePlatformAdapter(platform.base_url, CAPS)
    report = await Deliverer(
        store, {Platform.SLACK: adapter}, SystemClock(), owner="t:1", settings=FAST
    ).drain()
    await adapter.stop()
    assert report.sent == 10
    log = platform.channel_log(THREADED.channel)
    by_n = {a.message["text"]: a for a in log}
    first_1, first_2 = by_n["message 1"], by_n["message 2"]
    assert first_1.thread is None and first_2.thread is None
    assert [by_n[f"message {n}"].thread for n in (3, 5)] == [first_1.id, first_1.id]
    assert by_n["message 4"].thread == first_2.id
    assert [a.message["text"] for a in log] == [f"message {n}" for n in range(1, 6)]
    assert all(a.thread is None for a in platform.channel_log(PLAIN.channel))
    assert await story_thread(store, THREADED, 1) == first_1.id
    assert await story_thread(store, PLAIN, 1) is None


async def test_a_gone_story_thread_starts_a_new_one_without_pausing(
    store: Store, platform: FakePlatform
) -> None:
    await _queue(store, [(1, 1)])
    adapter = FakePlatformAdapter(platform.base_url, CAPS)
    deliverer = Deliverer(store, {Platform.SLACK: adapter}, SystemClock(), owner="t:1", settings=FAST)
    await deliverer.drain()
    first = await story_thread(store, THREADED, 1)
    assert first is not None
    await _queue(store, [(2, 1)])
    # The story's thread was deleted: the platform answers "not found" for the reply.
    platform.fail_next(THREADED.channel, Scripted(404))
    await Deliverer(store, {Platform.SLACK: adapter}, SystemClock(), owner="t:2", settings=FAST).drain()
    await adapter.stop()
    assert await count_messages(store) == {"sent": 4}
    reply = [a for a in platform.channel_log(THREADED.channel) if a.message["text"] == "message 2"]
    assert len(reply) == 1 and reply[0].thread is None
    assert await story_thread(store, THREADED, 1) == reply[0].id != first
    assert all(s.paused_reason is None for s in await list_subscriptions(store, THREADED))
