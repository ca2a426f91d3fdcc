"""Stopping the jobs drains: a delivery pass in flight finishes its sends, recorded; nothing is cut off."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from pathlib import Path

import pytest

from bot.clock import SystemClock
from bot.config import Settings
from bot.messages import Capabilities
from bot.models import Platform
from bot.store import open_store
from bot.store.outbox import count_messages, list_messages
from jobs.delivery import Deliverer, DeliverySettings
from jobs.scheduler import JobSettings, start_jobs
from tests.fakes.platform import FakePlatform, FakePlatformAdapter
from tests.jobs.helpers import queue_messages

CAPS = Capabilities(per_channel_rate=50.0, global_rate=1000.0, max_sections=2)


async def test_stop_with_drain_finishes_the_sends_in_flight(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    clock = SystemClock()
    store = await open_store(f"sqlite:///{tmp_path / 'stop.sqlite'}")
    # Three sections at two per message: two parts each, so a stop can fall between a message's parts.
    keys = await queue_messages(store, channels=8, per_channel=5, now=clock.now(), sections=3)
    platform = FakePlatform(per_channel_rate=None, answer_delay_s=0.3)
    await platform.start()
    adapter = FakePlatformAdapter(platform.base_url, CAPS)
    jobs = await start_jobs(
        store,
        {Platform.SLACK: adapter},
        Settings(),
        clock,
        job_settings=JobSettings(deliver_every_s=0.2, delivery=DeliverySettings(idle_check_s=0.05)),
    )
    try:
        async with asyncio.timeout(10):
            while platform.in_flight < 8 or len(platform.accepted) < 10:  # noqa: ASYNC110
                await asyncio.sleep(0.01)
        in_flight_at_stop = platform.in_flight
        await jobs.stop(drain=True)
        assert platform.in_flight == 0
    finally:
        await adapter.stop()
    accepted = Counter(a.nonce for a in platform.accepted)
    assert in_flight_at_stop >= 8 and set(accepted.values()) == {1}
    # Every accepted part is recorded; what was claimed but not sent went back, its attempt uncounted.
    rows = {m.idempotency_key: m for m in await list_messages(store, limit=1000)}
    for key, row in rows.items():
        parts = sum(1 for part in (0, 1) if f"{key}#{part}" in accepted)
        assert row.parts_sent == parts, key
        assert row.status == ("sent" if parts == 2 else "pending"), key
        assert row.lease_owner is None, key
        assert row.attempts == (1 if parts else 0), key
    assert 0 < sum(1 for r in rows.values() if r.status == "sent") < len(keys)
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert not [r for r in caplog.records if "CancelledError" in r.getMessage()]

    # A later worker sends the rest, each part once, resuming split messages at their next part.
    platform.answer_delay_s = 0.0
    adapter = FakePlatformAdapter(platform.base_url, CAPS)
    await Deliverer(store, {Platform.SLACK: adapter}, clock, owner="t:2").drain()
    await adapter.stop()
    await platform.stop()
    accepted = Counter(a.nonce for a in platform.accepted)
    assert len(accepted) == 2 * len(keys) and set(accepted.values()) == {1}
    assert await count_messages(store) == {"sent": len(keys)}
    await store.close()
