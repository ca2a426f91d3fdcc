"""The engine's state saved every few batches (both databases): workers killed between saves and taken over
decide what one uninterrupted worker decides, with no development or alert twice; a batch that decides
differently when decided again (its topics changed) reuses no id."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from itertools import islice
from pathlib import Path

import msgpack
import pytest
from sqlalchemy import delete, select

from bot.clock import ManualClock
from bot.config import EngineSettings, Settings, WorkerSettings
from bot.models import AlertMode, Article, Destination, Platform, Subscription, Topic
from bot.pipeline.partition_engine import SAVE_EVERY
from bot.store import Store, open_store
from bot.store.articles import save_articles
from bot.store.engine_inbox import queue_for_engine
from bot.store.schema import articles, development_articles, developments, engine_journal, outbox
from bot.store.sources import add_source
from bot.store.subscriptions import upsert_subscription
from bot.store.topics import upsert_topic
from jobs.engine import EngineJob
from tests.bot.stories.synthetic import synthetic_stream

T0 = datetime(2026, 5, 4, 6, 0, tzinfo=UTC)
LEASE_S = 60.0
PASSES = 14
SETTINGS = Settings(
    engine=EngineSettings(model="none", partitions=2), workers=WorkerSettings(lease_s=LEASE_S)
)
CHANNEL = Destination(Platform.SLACK, "T1", "C1")


def _news() -> tuple[list[Topic], list[list[Article]]]:
    """Topics and PASSES poll passes of 30 articles (a development often spans passes)."""
    topics, stream = synthetic_stream(8, seed=11, step_s=240, start=T0 - timedelta(days=1))
    return topics, [list(islice(stream, 30)) for _ in range(PASSES)]


def _stamp(n: int) -> datetime:
    return T0 + timedelta(hours=n)


async def _setup(store: Store, topics: list[Topic]) -> int:
    for topic in topics:
        await upsert_topic(store, topic, now=T0)
        await upsert_subscription(store, Subscription(CHANNEL, topic.id, mode=AlertMode.INSTANT), now=T0)
    source = await add_source(store, "https://wire.example/feed", now=T0, title="Wire")
    assert source.id is not None
    return source.id


async def _poll(store: Store, source_id: int, n: int, batch: list[Article]) -> None:
    async with store.write() as conn:
        saved = await save_articles(conn, source_id, batch, now=_stamp(n))
        await queue_for_engine(conn, [(a.id, True) for a in saved.saved if a.id], batch_at=_stamp(n))


async def _until(store: Store, clock: ManualClock, worker: EngineJob, source_id: int, passes: range) -> None:
    """Poll the passes one by one, the worker deciding each before the next."""
    news = _news()[1]
    for n in passes:
        await _poll(store, source_id, n, news[n])
        clock.set(_stamp(n) + timedelta(seconds=30))
        await worker.run()


async def _outcome(store: Store) -> tuple[object, ...]:
    """What was decided and alerted, in terms both databases number alike."""
    dev_columns = (developments.c.id, developments.c.topic_id, developments.c.story_id)
    dev_columns += (developments.c.article_count, developments.c.headline)
    alert_columns = (outbox.c.development_id, outbox.c.idempotency_key, outbox.c.payload)
    async with store.read() as conn:
        links = sorted((await conn.execute(select(development_articles))).all())
        devs = sorted((await conn.execute(select(*dev_columns))).all())
        alerts = sorted((await conn.execute(select(*alert_columns))).all())
    return tuple(tuple(r) for r in links), tuple(tuple(r) for r in devs), tuple(tuple(r) for r in alerts)


async def _entry_kinds(store: Store) -> list[str]:
    async with store.read() as conn:
        rows = (await conn.execute(select(engine_journal.c.data).order_by(engine_journal.c.seq))).all()
    return [msgpack.unpackb(bytes(r.data), strict_map_key=False)["kind"] for r in rows]


async def _add_twin(store: Store) -> None:
    """A topic with the query of the first: it takes articles the batches decided already hold."""
    first = _news()[0][0]
    twin = Topic("twin-" + first.id, "Twin", first.query)
    await upsert_topic(store, twin, now=T0)
    await upsert_subscription(store, Subscription(CHANNEL, twin.id, mode=AlertMode.INSTANT), now=T0)


async def _uninterrupted(tmp_path: Path, *, twin_after: int | None = None) -> tuple[object, ...]:
    store = await open_store(f"sqlite+aiosqlite:///{tmp_path / 'uninterrupted.sqlite'}")
    try:
        topics = _news()[0]
        source_id = await _setup(store, topics)
        clock = ManualClock(T0)
        solo = EngineJob(store, clock, SETTINGS, owner="solo")
        if twin_after is None:
            await _until(store, clock, solo, source_id, range(PASSES))
        else:
            await _until(store, clock, solo, source_id, range(twin_after))
            await _add_twin(store)
            await _until(store, clock, solo, source_id, range(twin_after, PASSES))
        return await _outcome(store)
    finally:
        await store.close()


async def test_workers_killed_between_saves_decide_what_one_uninterrupted_worker_does(
    store: Store, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    assert SAVE_EVERY > 5
    topics = _news()[0]
    source_id = await _setup(store, topics)
    clock = ManualClock(T0)
    # a decides five passes, its state saved only when it opened the partitions, and is killed.
    await _until(store, clock, EngineJob(store, clock, SETTINGS, owner="a"), source_id, range(5))
    kinds = await _entry_kinds(store)
    assert kinds.count("batch") >= 5 and "delta" not in kinds
    # b takes over once a's leases run out: it decides a's five batches again, writing nothing, and goes on.
    caplog.set_level(logging.INFO, logger="storywatch.engine")
    b = EngineJob(store, clock, SETTINGS, owner="b")
    await _until(store, clock, b, source_id, range(5, 9))
    assert "replayed=5" in caplog.text and "replay_differs" not in caplog.text
    # b is killed too, with batches unsaved since; c takes over and finishes.
    await _until(store, clock, EngineJob(store, clock, SETTINGS, owner="c"), source_id, range(9, PASSES))
    assert "replay_differs" not in caplog.text
    outcome = await _outcome(store)
    links, devs, alerts = outcome
    assert links and devs and alerts
    assert len({key for _, key, _ in alerts}) == len(alerts)
    assert outcome == await _uninterrupted(tmp_path)


async def test_a_topic_added_while_the_holder_was_dead_applies_after_its_batches(
    store: Store, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    topics = _news()[0]
    source_id = await _setup(store, topics)
    clock = ManualClock(T0)
    await _until(store, clock, EngineJob(store, clock, SETTINGS, owner="a"), source_id, range(4))
    # a is killed; a topic is added before anyone decides again. a's batches are decided again with the
    # topics a had; the new topic applies from the next batch on, as for a worker that never stopped.
    await _add_twin(store)
    caplog.set_level(logging.INFO, logger="storywatch.engine")
    await _until(store, clock, EngineJob(store, clock, SETTINGS, owner="b"), source_id, range(4, PASSES))
    assert "replayed=4" in caplog.text and "replay_differs" not in caplog.text
    assert await _outcome(store) == await _uninterrupted(tmp_path, twin_after=4)


async def test_a_batch_decided_differently_when_decided_again_reuses_no_id(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    topics = _news()[0]
    source_id = await _setup(store, topics)
    clock = ManualClock(T0)
    await _until(store, clock, EngineJob(store, clock, SETTINGS, owner="a"), source_id, range(4))
    links, devs, _ = await _outcome(store)
    # a is killed; an article of its last batch that started a development is deleted meanwhile.
    started = max(dev_id for dev_id, *_ in devs)
    async with store.write() as conn:
        article_id = min(a for d, a, *_ in links if d == started)
        await conn.execute(delete(articles).where(articles.c.id == article_id))
    caplog.set_level(logging.INFO, logger="storywatch.engine")
    await _until(store, clock, EngineJob(store, clock, SETTINGS, owner="b"), source_id, range(4, 8))
    assert "replay_differs" in caplog.text
    after = {row[0]: row[1] for row in (await _outcome(store))[1]}
    # b numbered what it decided above every id a wrote: a's developments keep their topics, and every
    # development b created has an id of its own.
    assert all(after[dev_id] == topic for dev_id, topic, *_ in devs if dev_id in after)
    created = set(after) - {dev_id for dev_id, *_ in devs}
    assert created and min(created) > started


async def test_a_worker_that_stops_saves_so_the_next_decides_nothing_again(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    source_id = await _setup(store, _news()[0])
    clock = ManualClock(T0)
    a = EngineJob(store, clock, SETTINGS, owner="a")
    await _until(store, clock, a, source_id, range(3))
    await a.stop()
    assert (await _entry_kinds(store))[-1] == "delta"
    caplog.set_level(logging.INFO, logger="storywatch.engine")
    await _until(store, clock, EngineJob(store, clock, SETTINGS, owner="b"), source_id, range(3, 4))
    assert "replayed=0" in caplog.text and "replayed=3" not in caplog.text
