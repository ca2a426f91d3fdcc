"""Delivery through the real scheduler to the fake platform: retries, order per channel, rate limits."""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.clock import SystemClock
from bot.config import Settings
from bot.messages import Capabilities
from bot.models import Platform
from bot.store import Store, open_store
from bot.store.outbox import count_messages, list_messages
from bot.store.subscriptions import list_subscriptions
from jobs.delivery import Deliverer, DeliverySettings
from jobs.scheduler import JobSettings, start_jobs
from tests.fakes.platform import FakePlatform, FakePlatformAdapter, Scripted
from tests.jobs.helpers import channel, queue_messages

RATE = 20.0
CAPS = Capabilities(per_channel_rate=RATE, global_rate=500.0, max_sections=2)
FAST = DeliverySettings(backoff_base_s=0.05, idle_check_s=0.05, linger_s=2.0)


@pytest.fixture
async def sqlite_store(tmp_path: Path) -> AsyncIterator[Store]:
    store = await open_store(f"sqlite:///{tmp_path / 'd.sqlite'}")
    yield store
    await store.close()


@pytest.fixture(params=["aiohttp", "lean"])
async def platform(request: pytest.FixtureRequest) -> AsyncIterator[FakePlatform]:
    fake = FakePlatform(per_channel_rate=RATE)
    await fake.start(server=request.param)
    yield fake
    await fake.stop()


async def _wait_all_sent(store: Store, total: int) -> None:
    async with asyncio.timeout(20):
        # The outbox is in another task's hands: look at it until every row is sent.
        while (await count_messages(store)).get("sent", 0) < total:  # noqa: ASYNC110
            await asyncio.sleep(0.05)


def _nonce_order(platform: FakePlatform, ch: str) -> list[str]:
    return [a.nonce or "" for a in platform.channel_log(ch)]


async def test_retries_then_every_message_once_in_order_within_rate(
    sqlite_store: Store, platform: FakePlatform
) -> None:
    clock = SystemClock()
    keys = await queue_messages(sqlite_store, channels=4, per_channel=12, now=clock.now(), sections=3)
    platform.fail_next("C0", Scripted(429, 0.3), Scripted(500), Scripted(500))
    platform.fail_next("C1", Scripted(429, 0.1))
    platform.fail_next("*", Scripted(500))
    adapter = FakePlatformAdapter(platform.base_url, CAPS)
    jobs = await start_jobs(
        sqlite_store,
        {Platform.SLACK: adapter},
        Settings(),
        clock,
        job_settings=JobSettings(deliver_every_s=0.2, delivery=FAST),
    )
    try:
        await _wait_all_sent(sqlite_store, len(keys))
    finally:
        await jobs.stop(drain=True)
        await adapter.stop()
    # Three sections at two per message: every message is a parent and one threaded continuation.
    nonces = [a.nonce for a in platform.accepted]
    assert len(nonces) == 2 * len(keys)
    assert Counter(nonces).most_common(1)[0][1] == 1
    for c in range(4):
        ours = [k for k in keys if k.startswith(f"alert:{channel(c).key}:")]
        expected = [f"{k}#{part}" for k in ours for part in (0, 1)]
        assert _nonce_order(platform, f"C{c}") == expected
        log = platform.channel_log(f"C{c}")
        assert all(b.at - a.at >= 1 / RATE - 0.003 for a, b in itertools.pairwise(log))
        assert all(cont.thread == parent.id for parent, cont in zip(log[::2], log[1::2], strict=True))
    retried = [m for m in await list_messages(sqlite_store, limit=1000) if m.attempts > 1]
    assert retried, "the scripted failures were retried"


async def test_gone_and_forbidden_pause_the_subscription_invalid_is_dead(
    sqlite_store: Store, platform: FakePlatform
) -> None:
    from bot.models import Subscription, Topic
    from bot.store.subscriptions import upsert_subscription
    from bot.store.topics import add_topic

    clock = SystemClock()
    await add_topic(sqlite_store, Topic("nk", "NK", "korea"), now=clock.now())
    for c in range(3):
        await upsert_subscription(sqlite_store, Subscription(channel(c), "nk"), now=clock.now())
    await queue_messages(sqlite_store, channels=3, per_channel=3, now=clock.now())
    platform.fail_next("C0", Scripted(404))
    platform.fail_next("C1", Scripted(403))
    platform.fail_next("C2", Scripted(400))
    adapter = FakePlatformAdapter(platform.base_url, CAPS)
    deliverer = Deliverer(sqlite_store, {Platform.SLACK: adapter}, clock, owner="t:1", settings=FAST)
    report = await deliverer.drain()
    await adapter.stop()
    assert report.sent == 2 and report.dead == 1 + 1 + 1
    assert sorted(report.paused) == [channel(0).key, channel(1).key]
    assert (await list_subscriptions(sqlite_store, channel(0)))[0].paused_reason == "gone: channel_not_found"
    assert (await list_subscriptions(sqlite_store, channel(1)))[
        0
    ].paused_reason == "forbidden: missing_access"
    assert (await list_subscriptions(sqlite_store, channel(2)))[0].paused_reason is None
    assert await count_messages(sqlite_store) == {"dead": 7, "sent": 2}
    assert [a.channel for a in platform.accepted] == ["C2", "C2"]
