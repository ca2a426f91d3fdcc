"""The engine job (both databases): partitions under leases, a lost lease never reusing a stale engine, and
a paused worker's late write refused by the fence."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from rich.console import Console
from sqlalchemy import func, select

from bot.clock import ManualClock
from bot.config import EngineSettings, Settings, WorkerSettings
from bot.models import AlertMode, Article, Destination, Platform, Subscription, Topic
from bot.operations.lease_status import collect_leases, render_leases
from bot.pipeline.partition_engine import BatchResult
from bot.store import Store
from bot.store.articles import save_articles
from bot.store.engine_inbox import inbox_depth, queue_for_engine
from bot.store.partitions import (
    FencedOut,
    PartitionCountError,
    ensure_partitions,
    list_partitions,
    partition_of,
    register_worker,
)
from bot.store.schema import (
    articles,
    development_articles,
    developments,
    engine_journal,
    engine_snapshots,
    outbox,
)
from bot.store.sources import add_source
from bot.store.subscriptions import upsert_subscription
from bot.store.topics import upsert_topic
from jobs.engine import EngineJob
from jobs.scheduler import start_jobs

T0 = datetime(2026, 3, 3, 5, 0, tzinfo=UTC)
LEASE_S = 60.0
KOREA = Topic("korea", "Korea diplomacy", '"north korea" OR pyongyang OR "kim jong un"')
FED = Topic("fed", "Central banks", '"federal reserve" OR "interest rates"')
CHANNEL = Destination(Platform.SLACK, "T1", "C1")
SETTINGS = Settings(
    engine=EngineSettings(model="none", partitions=2), workers=WorkerSettings(lease_s=LEASE_S)
)
# (hours after T0, outlet, title, text): a summit, then a missile test reported twice two hours apart.
NEWS = (
    (0, "Reuters", "US and North Korea agree to hold summit in Hanoi",
     "Washington and Pyongyang agreed to hold a second summit between Trump and Kim Jong Un in Hanoi."),
    (0, "AP", "Trump and Kim will meet in Hanoi for second summit",
     "Donald Trump and Kim Jong Un will meet in Hanoi, Vietnam, for their second summit, officials said."),
    (50, "BBC", "North Korea fires ballistic missile into the sea off its east coast",
     "North Korea fired a short-range ballistic missile into the sea off its east coast, Seoul said."),
    (52, "AP", "North Korea fires ballistic missile off east coast, Seoul says",
     "Pyongyang fired a short-range ballistic missile into the sea off its east coast, South Korea said."),
    (53, "Reuters", "Federal Reserve raises interest rates by a quarter point",
     "The Federal Reserve raised interest rates by a quarter point on Wednesday."),
)  # fmt: skip


async def _setup(store: Store) -> dict[str, int]:
    for topic in (KOREA, FED):
        await upsert_topic(store, topic, now=T0)
    await upsert_subscription(store, Subscription(CHANNEL, "korea", mode=AlertMode.INSTANT), now=T0)
    ids = {}
    for outlet in ("Reuters", "AP", "BBC"):
        ids[outlet] = (
            await add_source(store, f"https://{outlet.lower()}.example/feed", now=T0, title=outlet)
        ).id
    return ids


async def _poll(store: Store, sources: dict[str, int], rows: range) -> None:
    """What a poll pass writes: the articles and their inbox rows, in one transaction, one stamp."""
    stamp = T0 + timedelta(hours=NEWS[rows[0]][0])
    async with store.write() as conn:
        for n in rows:
            hours, outlet, title, text = NEWS[n]
            article = Article(
                url=f"https://{outlet.lower()}.example/{n}",
                title=title,
                text=text,
                published=T0 + timedelta(hours=hours),
                source_id=sources[outlet],
                item_key=str(n),
                source_name=outlet,
            )
            saved = await save_articles(conn, sources[outlet], [article], now=stamp)
            await queue_for_engine(conn, [(a.id, True) for a in saved.saved if a.id], batch_at=stamp)


async def _figures(store: Store) -> tuple[int, int, dict[int, int]]:
    async with store.read() as conn:
        devs = (await conn.execute(select(func.count()).select_from(developments))).scalar_one()
        alerts = (
            await conn.execute(select(func.count()).select_from(outbox).where(outbox.c.kind == "alert"))
        ).scalar_one()
        links = dict(
            (
                await conn.execute(
                    select(development_articles.c.article_id, development_articles.c.development_id)
                )
            ).all()
        )
    return int(devs), int(alerts), {int(k): int(v) for k, v in links.items()}


async def _article_ids(store: Store, n: int) -> int:
    """The id of the NEWS item `n` as stored."""
    async with store.read() as conn:
        return int(
            (await conn.execute(select(articles.c.id).where(articles.c.item_key == str(n)))).scalar_one()
        )


def _decided(results: list[BatchResult], partition: int) -> int:
    """Articles the partition decided (every partition reads every article; each keeps its topics')."""
    return sum(r.articles for r in results if r.partition == partition)


def _worker(store: Store, clock: ManualClock, owner: str) -> EngineJob:
    return EngineJob(store, clock, SETTINGS, owner=owner)


async def test_a_lease_lost_and_regained_rebuilds_the_engine(store: Store) -> None:
    sources = await _setup(store)
    clock = ManualClock(T0)
    a, b = _worker(store, clock, "a"), _worker(store, clock, "b")
    korea = partition_of("korea", 2)
    await _poll(store, sources, range(0, 2))
    clock.set(T0 + timedelta(hours=1))
    assert _decided(await a.run(), korea) == 2
    generation = a.engines[korea].generation
    # a stalls; its leases run out and b takes over, deciding the first report of the missile test.
    await _poll(store, sources, range(2, 3))
    clock.set(T0 + timedelta(hours=51))
    assert _decided(await b.run(), korea) == 1
    assert {p.lease_owner for p in await list_partitions(store)} == {"b"}
    # b goes; a gets the partitions back. Its engine in memory knows nothing of the missile test.
    await b.stop()
    await _poll(store, sources, range(3, 5))
    clock.set(T0 + timedelta(hours=54))
    assert _decided(await a.run(), korea) == 2
    assert a.engines[korea].generation > generation + 1
    devs, alerts, links = await _figures(store)
    # The second missile report joins the development b started: no new development, no second alert.
    first, second = await _article_ids(store, 2), await _article_ids(store, 3)
    assert links[first] == links[second]
    assert (devs, alerts) == (3, 2)
    assert await inbox_depth(store) == 5


async def test_a_paused_workers_late_write_is_refused(store: Store) -> None:
    sources = await _setup(store)
    clock = ManualClock(T0)
    a, b = _worker(store, clock, "a"), _worker(store, clock, "b")
    korea = partition_of("korea", 2)
    await _poll(store, sources, range(0, 2))
    clock.set(T0 + timedelta(hours=1))
    await a.run()
    paused = a.engines[korea]
    await _poll(store, sources, range(2, 4))
    # a is paused past its lease; b takes the partitions over and decides the missile reports.
    clock.set(T0 + timedelta(hours=53))
    await b.run()
    before = await _figures(store)
    # a resumes where it stopped: it decides the same reports again, and the fence refuses its write.
    with pytest.raises(FencedOut):
        await paused.run(now=clock.now())
    assert await _figures(store) == before
    assert not paused.usable
    # Its next run finds the partitions held by b: it holds nothing and keeps no engine.
    assert await a.run() == [] and a.engines == {}
    assert before[:2] == (2, 2)


async def test_status_shows_which_worker_holds_what(store: Store) -> None:
    sources = await _setup(store)
    clock = ManualClock(T0)
    await register_worker(store, "host:11", ["engine"], now=T0)
    await register_worker(store, "host:12", ["engine", "deliver"], now=T0)
    await _poll(store, sources, range(0, 2))
    clock.set(T0 + timedelta(hours=1))
    await register_worker(store, "host:11", ["engine"], now=clock.now())
    await register_worker(store, "host:12", ["engine", "deliver"], now=clock.now())
    await _worker(store, clock, "host:11").run()
    await _worker(store, clock, "host:12").run()
    async with store.read() as conn:
        report = await collect_leases(conn, clock.now())
    held = {w.owner: [p.partition for p in w.partitions] for w in report.workers}
    assert held == {"host:11": [0], "host:12": [1]} and report.free == ()
    console = Console(record=True, width=120)
    console.print(*render_leases(report))
    text = console.export_text()
    assert "host:11" in text and "0 (gen 1)" in text and "2 engine partitions, 2 articles" in text


async def test_an_engine_started_over_numbers_above_the_stored_rows(store: Store) -> None:
    sources = await _setup(store)
    clock = ManualClock(T0)
    await _poll(store, sources, range(0, 2))
    clock.set(T0 + timedelta(hours=1))
    await _worker(store, clock, "a").run()
    async with store.write() as conn:
        # What the README's "starting the engine over" does: its state goes, its rows stay.
        for table in (engine_snapshots, engine_journal):
            await conn.execute(table.delete())
    before = await _figures(store)
    await _poll(store, sources, range(2, 5))
    clock.set(T0 + timedelta(hours=54))
    await _worker(store, clock, "b").run()
    after = await _figures(store)
    fresh = {after[2][await _article_ids(store, n)] for n in (2, 3, 4)}
    # No development of the new engine lands on an id the old one used (it would overwrite that row).
    assert min(fresh) > max(before[2].values()) and after[0] == before[0] + len(fresh)


async def test_an_engine_worker_with_another_partition_count_does_not_start(store: Store) -> None:
    await ensure_partitions(store, 2, now=T0)
    settings = Settings(engine=EngineSettings(model="none", partitions=4))
    with pytest.raises(PartitionCountError, match="has 2 partitions"):
        await start_jobs(store, {}, settings, ManualClock(T0), roles=("engine",))
    # A worker that holds no partitions (poll, deliver) is not concerned.
    jobs = await start_jobs(store, {}, settings, ManualClock(T0), roles=("poll",))
    await jobs.stop(drain=False)
