"""Digests at the subscription's local time, whatever the host's zone and its DST; catch-up after downtime."""

from __future__ import annotations

import io
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path

import pytest
from sqlalchemy import insert

from adapters.console import ConsoleAdapter
from bot.clock import ManualClock
from bot.config import DigestSettings, Settings
from bot.messages.serial import message_from_json
from bot.models import AlertMode, Destination, Platform, Subscription, Topic
from bot.store import Store, open_store
from bot.store.digests import list_digest_runs
from bot.store.outbox import list_messages
from bot.store.schema import developments, stories
from bot.store.subscriptions import upsert_subscription
from bot.store.topics import upsert_topic
from jobs.digests import run_due_digests
from jobs.scheduler import JobSettings, start_jobs

SEOUL_DEST = Destination(Platform.CONSOLE, "local", "seoul")
BERLIN_DEST = Destination(Platform.CONSOLE, "local", "berlin")
SETTINGS = DigestSettings(grace_hours=12)


@pytest.fixture
def host_zone(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Run the test with the host's zone set (TZ + tzset), so local-time mistakes would show."""
    monkeypatch.setenv("TZ", request.param)
    time.tzset()
    yield request.param
    monkeypatch.undo()
    time.tzset()


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await open_store(f"sqlite:///{tmp_path / 'digest.sqlite'}")
    yield opened
    await opened.close()


async def _subscribe(store: Store, dest: Destination, zone: str, created: datetime) -> Subscription:
    await upsert_topic(store, Topic("nk", "North Korea", "korea"), now=created)
    sub = Subscription(dest, "nk", mode=AlertMode.DIGEST, digest_at=clock_time(8, 0), timezone=zone)
    return await upsert_subscription(store, sub, now=created)


async def _development(store: Store, n: int, at: datetime) -> None:
    async with store.write() as conn:
        await conn.execute(
            insert(stories).values(
                id=n, topic_id="nk", title=f"Story {n}", first_seen=at, last_seen=at, key_terms=[]
            )
        )
        await conn.execute(
            insert(developments).values(
                id=n,
                topic_id="nk",
                story_id=n,
                headline=f"Development {n}",
                first_seen=at,
                last_seen=at,
                source_count=2,
            )
        )


async def _sent_times(
    store: Store, clock: ManualClock, sub: Subscription, until: datetime, step_min: int = 30
) -> dict[str, datetime]:
    """Step the clock to `until`, running the digest job each step: when `sub`'s periods were queued."""
    queued: dict[str, datetime] = {}
    while clock.now() < until:
        clock.advance(step_min * 60)
        for outcome in await run_due_digests(store, clock, SETTINGS):
            if outcome.subscription_id == sub.id and outcome.status == "sent":
                queued[outcome.period] = clock.now()
    return queued


@pytest.mark.parametrize("host_zone", ["America/New_York", "Europe/Berlin"], indirect=True)
async def test_due_at_local_time_across_host_and_subscription_dst(store: Store, host_zone: str) -> None:
    # New York springs forward on 2026-03-08, Berlin on 2026-03-29; Seoul has no DST.
    start = datetime(2026, 3, 7, 12, 0, tzinfo=UTC)
    clock = ManualClock(start)
    seoul = await _subscribe(store, SEOUL_DEST, "Asia/Seoul", start)
    queued = await _sent_times(store, clock, seoul, datetime(2026, 3, 10, 12, 0, tzinfo=UTC))
    # 08:00 in Seoul is 23:00 UTC the day before, on every day, whatever the host's zone did.
    assert queued == {
        "2026-03-08": datetime(2026, 3, 7, 23, 0, tzinfo=UTC),
        "2026-03-09": datetime(2026, 3, 8, 23, 0, tzinfo=UTC),
        "2026-03-10": datetime(2026, 3, 9, 23, 0, tzinfo=UTC),
    }
    start = datetime(2026, 3, 27, 12, 0, tzinfo=UTC)
    clock.set(start)
    berlin = await _subscribe(store, BERLIN_DEST, "Europe/Berlin", start)
    queued = await _sent_times(store, clock, berlin, datetime(2026, 3, 30, 12, 0, tzinfo=UTC))
    runs = {r.period: r.due_at for r in await list_digest_runs(store, berlin.id or 0)}
    # The subscription's own DST: 08:00 CET is 07:00 UTC, 08:00 CEST is 06:00 UTC.
    assert runs == {
        "2026-03-28": datetime(2026, 3, 28, 7, 0, tzinfo=UTC),
        "2026-03-29": datetime(2026, 3, 29, 6, 0, tzinfo=UTC),
        "2026-03-30": datetime(2026, 3, 30, 6, 0, tzinfo=UTC),
    }
    assert {period: queued[period] for period in runs} == runs


def _seoul(day: int, hour: int) -> datetime:
    return datetime(2026, 3, day, hour, 0, tzinfo=UTC) - timedelta(hours=9)


async def test_down_from_seven_to_nine_sends_once_at_start_through_the_scheduler(store: Store) -> None:
    clock = ManualClock(_seoul(10, 6))
    await _subscribe(store, SEOUL_DEST, "Asia/Seoul", clock.now())
    await _development(store, 1, _seoul(10, 6) + timedelta(minutes=30))
    clock.set(_seoul(10, 7))
    assert await run_due_digests(store, clock, SETTINGS) == []
    # Down from 07:00 to 09:00; the bot starts again with its scheduler and the console adapter.
    clock.set(_seoul(10, 9))
    console = ConsoleAdapter(output=io.StringIO(), workspace="local", channel="seoul")
    jobs = await start_jobs(
        store, {Platform.CONSOLE: console}, Settings(), clock, job_settings=JobSettings(deliver_every_s=0.1)
    )
    try:
        for _ in range(100):
            if console.sent:
                break
            await _real_sleep(0.05)
        await run_due_digests(store, clock, SETTINGS)
        clock.advance(600)
        await run_due_digests(store, clock, SETTINGS)
    finally:
        await jobs.stop(drain=True)
    assert len(console.sent) == 1
    destination, message = console.sent[0]
    assert destination == SEOUL_DEST
    assert "Development 1" in "\n".join(s.text for s in message.sections)
    [row] = await list_messages(store)
    assert row.kind == "digest" and row.status == "sent"
    assert row.idempotency_key == "digest:console:local:seoul:nk:2026-03-10"


async def _real_sleep(seconds: float) -> None:
    import asyncio

    await asyncio.sleep(seconds)


async def test_down_three_days_sends_the_latest_only_covering_the_whole_gap(store: Store) -> None:
    clock = ManualClock(_seoul(10, 6))
    sub = await _subscribe(store, SEOUL_DEST, "Asia/Seoul", clock.now())
    for day in (10, 11, 12, 13):
        await _development(store, day, _seoul(day, 12))
    clock.set(_seoul(10, 7))
    assert await run_due_digests(store, clock, SETTINGS) == []
    clock.set(_seoul(13, 9))
    outcomes = await run_due_digests(store, clock, SETTINGS)
    assert [(o.period, o.status, o.developments) for o in outcomes] == [("2026-03-13", "sent", 3)]
    assert await run_due_digests(store, clock, SETTINGS) == []
    [row] = await list_messages(store)
    text = "\n".join(s.text for s in message_from_json(row.payload).sections)
    assert all(f"Development {d}" in text for d in (10, 11, 12))
    assert [r.period for r in await list_digest_runs(store, sub.id or 0)] == ["2026-03-13"]


async def test_beyond_grace_is_skipped_and_the_next_day_is_normal(store: Store) -> None:
    clock = ManualClock(_seoul(10, 6))
    sub = await _subscribe(store, SEOUL_DEST, "Asia/Seoul", clock.now())
    clock.set(_seoul(10, 21))
    assert [(o.period, o.status) for o in await run_due_digests(store, clock, SETTINGS)] == [
        ("2026-03-10", "skipped")
    ]
    clock.set(_seoul(11, 8))
    assert [(o.period, o.status) for o in await run_due_digests(store, clock, SETTINGS)] == [
        ("2026-03-11", "sent")
    ]
    assert [r.status for r in await list_digest_runs(store, sub.id or 0)] == ["skipped", "sent"]
    assert len(await list_messages(store)) == 1
