"""Work shared by several workers: two claimers, on two connections, never get the same row."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from bot.models import Destination, Platform
from bot.store import Store, open_store
from bot.store.outbox import claim_messages, enqueue_message
from bot.store.sources import add_source, claim_due_sources
from bot.store.state import acquire_job_lease, release_job_lease

DEST = Destination(Platform.SLACK, "T1", "C1")


async def _claim_all_sources(store: Store, owner: str, now: datetime) -> list[int]:
    claimed: list[int] = []
    while batch := await claim_due_sources(store, now, owner, 300, 3):
        claimed += [s.id for s in batch]
        await asyncio.sleep(0)
    return claimed


async def test_two_workers_never_claim_the_same_source(store: Store, db_url: str, t0: datetime) -> None:
    for n in range(40):
        await add_source(store, f"https://feeds.example/{n}.xml", now=t0)
    other = await open_store(db_url, migrate=False)
    try:
        first, second = await asyncio.gather(
            _claim_all_sources(store, "w1", t0), _claim_all_sources(other, "w2", t0)
        )
    finally:
        await other.close()
    assert not set(first) & set(second)
    assert sorted(first + second) == sorted(set(first + second)) and len(first + second) == 40


async def test_claim_while_another_transaction_holds_rows(store: Store, db_url: str, t0: datetime) -> None:
    for n in range(6):
        await add_source(store, f"https://feeds.example/{n}.xml", now=t0)
    other = await open_store(db_url, migrate=False)
    try:
        async with store.write() as conn:
            held = await claim_due_sources(conn, t0, "w1", 300, 3)
            waiter = asyncio.create_task(claim_due_sources(other, t0, "w2", 300, 10))
            if store.dialect == "postgresql":
                # SKIP LOCKED: the second worker passes the locked rows by instead of waiting.
                rest = await asyncio.wait_for(asyncio.shield(waiter), timeout=10)
                assert len(rest) == 3
            else:
                # SQLite: the second writer waits for the lock, then sees the first one's leases.
                await asyncio.sleep(0.2)
                assert not waiter.done()
        rest = await waiter
    finally:
        await other.close()
    assert len(held) == 3 and len(rest) == 3
    assert not {s.id for s in held} & {s.id for s in rest}


async def _claim_all_messages(store: Store, owner: str, now: datetime) -> list[int]:
    claimed: list[int] = []
    while batch := await claim_messages(store, now=now, owner=owner, lease_s=60, limit=2):
        claimed += [m.id for m in batch]
        await asyncio.sleep(0)
    return claimed


async def test_two_workers_never_claim_the_same_outbox_row(store: Store, db_url: str, t0: datetime) -> None:
    for n in range(30):
        await enqueue_message(
            store, idempotency_key=f"k{n}", destination=DEST, kind="alert", payload="{}", now=t0
        )
    other = await open_store(db_url, migrate=False)
    try:
        first, second = await asyncio.gather(
            _claim_all_messages(store, "w1", t0), _claim_all_messages(other, "w2", t0)
        )
    finally:
        await other.close()
    assert not set(first) & set(second) and len(first) + len(second) == 30


async def test_job_lease_has_one_holder(store: Store, db_url: str, t0: datetime) -> None:
    other = await open_store(db_url, migrate=False)
    try:
        results = await asyncio.gather(
            *(
                acquire_job_lease(s, "digest", owner=f"w{i}", now=t0, lease_s=60)
                for i, s in enumerate([store, other, store, other])
            )
        )
    finally:
        await other.close()
    assert sum(results) == 1
    winner = f"w{results.index(True)}"
    # The holder renews; others wait until it expires or is released.
    assert await acquire_job_lease(store, "digest", owner=winner, now=t0 + timedelta(seconds=30), lease_s=60)
    assert not await acquire_job_lease(
        store, "digest", owner="late", now=t0 + timedelta(seconds=60), lease_s=60
    )
    assert await acquire_job_lease(store, "digest", owner="late", now=t0 + timedelta(seconds=91), lease_s=60)
    assert not await release_job_lease(store, "digest", owner=winner)
    assert await release_job_lease(store, "digest", owner="late")
    assert await acquire_job_lease(store, "digest", owner="next", now=t0 + timedelta(seconds=92), lease_s=60)
