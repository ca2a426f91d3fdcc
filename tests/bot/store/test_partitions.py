"""Engine partitions (both databases): leases, the fencing generation, the inbox in commit order, state."""

from __future__ import annotations

import asyncio
import socket
from datetime import UTC, datetime, timedelta

import pytest

from bot.models import Destination, Platform
from bot.operations.workers import release_dead_leases
from bot.store import Store
from bot.store.engine_inbox import inbox_depth, pending, queue_for_engine, trim_inbox
from bot.store.engine_journal import append_journal, load_state, write_snapshot
from bot.store.outbox import claim_in_order, enqueue_message
from bot.store.partitions import (
    FencedOut,
    PartitionCountError,
    acquire_partitions,
    ensure_partitions,
    fair_share,
    fence,
    forget_worker,
    inbox_mark,
    list_partitions,
    live_workers,
    partition_of,
    register_worker,
    release_partitions,
)

NOW = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)


async def test_the_partition_count_is_fixed_once_chosen(store: Store) -> None:
    assert await ensure_partitions(store, 4, now=NOW) == 4
    assert await ensure_partitions(store, 4, now=NOW) == 4
    with pytest.raises(PartitionCountError, match="has 4 partitions"):
        await ensure_partitions(store, 8, now=NOW)
    assert [p.partition for p in await list_partitions(store)] == [0, 1, 2, 3]


async def test_a_takeover_raises_the_generation_and_fences_the_old_holder(store: Store) -> None:
    await ensure_partitions(store, 4, now=NOW)
    a = await acquire_partitions(store, owner="a", now=NOW, lease_s=60, want=2)
    b = await acquire_partitions(store, owner="b", now=NOW, lease_s=60, want=3)
    assert [(p.partition, p.generation) for p in a] == [(0, 1), (1, 1)]
    assert [(p.partition, p.generation) for p in b] == [(2, 1), (3, 1)]
    # Renewing keeps the generation: nobody else wrote.
    renewed = await acquire_partitions(store, owner="a", now=NOW + timedelta(seconds=30), lease_s=60, want=2)
    assert [(p.partition, p.generation) for p in renewed] == [(0, 1), (1, 1)]
    # a stalls past its lease; b takes its partitions over.
    later = NOW + timedelta(seconds=200)
    taken = await acquire_partitions(store, owner="b", now=later, lease_s=60, want=4)
    assert [(p.partition, p.generation) for p in taken] == [(0, 2), (1, 2), (2, 1), (3, 1)]
    async with store.write() as conn:
        await fence(conn, 0, 2, now=later, inbox_mark=(0, 5))
    with pytest.raises(FencedOut):
        async with store.write() as conn:
            await fence(conn, 0, 1, now=later, inbox_mark=(0, 9))
    assert await inbox_mark(store, 0) == (0, 5)
    # a, resumed, holds nothing; a partition given back is taken with a new generation.
    assert await acquire_partitions(store, owner="a", now=later, lease_s=60, want=0) == []
    assert await release_partitions(store, owner="b", partitions=[3]) == 1
    again = await acquire_partitions(store, owner="a", now=later, lease_s=60, want=1)
    assert [(p.partition, p.generation) for p in again] == [(3, 2)]


@pytest.mark.postgres
async def test_workers_taking_partitions_at_once_never_share_one(pg_url: str) -> None:
    from bot.store import open_store

    stores = [await open_store(pg_url) for _ in range(4)]
    try:
        await ensure_partitions(stores[0], 8, now=NOW)
        held = await asyncio.gather(
            *(acquire_partitions(s, owner=f"w{i}", now=NOW, lease_s=60, want=2) for i, s in enumerate(stores))
        )
        taken = [p.partition for leases in held for p in leases]
        assert sorted(taken) == list(range(8))
    finally:
        for s in stores:
            await s.close()


def test_shares_and_topics_spread_over_partitions() -> None:
    owners = ["w1", "w2", "w3"]
    assert [fair_share(8, owners, o) for o in owners] == [3, 3, 2]
    assert fair_share(8, [], "w9") == 8
    assert partition_of("korea", 1) == 0
    spread = {partition_of(f"topic-{i}", 4) for i in range(40)}
    assert spread == {0, 1, 2, 3}
    assert partition_of("korea", 4) == partition_of("korea", 4)


async def test_the_inbox_is_read_after_the_mark_and_trimmed_behind_every_partition(store: Store) -> None:
    await ensure_partitions(store, 2, now=NOW)
    async with store.write() as conn:
        await queue_for_engine(conn, [(10, True), (11, False)], batch_at=NOW)
    async with store.write() as conn:
        await queue_for_engine(conn, [(12, True)], batch_at=NOW + timedelta(seconds=5))
    items = await pending(store, (0, 0), limit=10)
    assert [(i.article_id, i.announce) for i in items] == [(10, True), (11, False), (12, True)]
    assert await pending(store, items[1].mark, limit=10) == items[2:]
    assert await pending(store, (0, 0), limit=1) == items[:1]
    for partition, mark in ((0, items[1].mark), (1, items[2].mark)):
        async with store.write() as conn:
            await fence(conn, partition, 0, now=NOW, inbox_mark=mark)
    assert await trim_inbox(store) == 2
    assert await inbox_depth(store) == 1
    async with store.write() as conn:
        await fence(conn, 0, 0, now=NOW, inbox_mark=items[2].mark)
    assert await trim_inbox(store) == 1
    # With every row trimmed, a new row still lands after both marks: ids are never reused.
    async with store.write() as conn:
        await queue_for_engine(conn, [(13, True)], batch_at=NOW)
    assert [i.article_id for i in await pending(store, items[2].mark, limit=10)] == [13]


@pytest.mark.postgres
async def test_a_row_committed_late_is_not_passed_over(pg_url: str) -> None:
    """A transaction that queued first but commits last holds back the rows after it."""
    from bot.store import open_store

    store = await open_store(pg_url)
    try:
        async with store.write() as slow:
            await queue_for_engine(slow, [(1, True)], batch_at=NOW)
            async with store.write() as fast:
                await queue_for_engine(fast, [(2, True)], batch_at=NOW)
            # The fast row is committed, but a row may still appear before it: nothing is readable yet.
            assert await pending(store, (0, 0), limit=10) == []
        assert [i.article_id for i in await pending(store, (0, 0), limit=10)] == [1, 2]
    finally:
        await store.close()


async def test_snapshot_and_journal_rows(store: Store) -> None:
    await ensure_partitions(store, 1, now=NOW)
    assert (await load_state(store, 0)).snapshot is None
    async with store.write() as conn:
        await write_snapshot(conn, 0, 0, b"snap0", now=NOW)
        for seq in (1, 2, 3):
            await append_journal(conn, 0, seq, f"d{seq}".encode(), now=NOW)
    state = await load_state(store, 0)
    assert (state.snapshot, state.journal, state.last_seq) == (b"snap0", [b"d1", b"d2", b"d3"], 3)
    async with store.write() as conn:
        await write_snapshot(conn, 0, 2, b"snap2", now=NOW)
    state = await load_state(store, 0)
    assert (state.snapshot, state.snapshot_seq, state.journal, state.last_seq) == (b"snap2", 2, [b"d3"], 3)


async def test_live_workers(store: Store) -> None:
    await register_worker(store, "h:1", ["poll", "engine"], now=NOW)
    await register_worker(store, "h:2", ["deliver"], now=NOW - timedelta(seconds=100))
    live = await live_workers(store, now=NOW, within_s=60)
    assert [w.owner for w in live] == ["h:1"]
    assert await live_workers(store, now=NOW, within_s=600, role="engine") == live
    await forget_worker(store, "h:1")
    assert await live_workers(store, now=NOW, within_s=600, role="engine") == []


async def test_a_dead_workers_leases_are_freed_its_sends_left_in_doubt(store: Store) -> None:
    # A pid of this host that has just ended (reused only after the whole pid range wraps).
    child = await asyncio.create_subprocess_exec("true")
    await child.wait()
    dead = f"{socket.gethostname()}:{child.pid}"
    await ensure_partitions(store, 2, now=NOW)
    await register_worker(store, dead, ["engine", "deliver"], now=NOW)
    assert [
        p.partition for p in await acquire_partitions(store, owner=dead, now=NOW, lease_s=60, want=1)
    ] == [0]
    await enqueue_message(
        store, idempotency_key="k", destination=Destination(Platform.SLACK, "T1", "C1"), kind="alert",
        payload="{}", now=NOW,
    )  # fmt: skip
    assert len(await claim_in_order(store, now=NOW, owner=dead, lease_s=60, limit=5, per_channel=5)) == 1
    assert await release_dead_leases(store) == 2
    assert [p.lease_owner for p in await list_partitions(store)] == [None, None]
    assert await live_workers(store, now=NOW, within_s=60) == []
    claimed = await claim_in_order(store, now=NOW, owner="alive", lease_s=60, limit=5, per_channel=5)
    assert [m.unsettled for m in claimed] == [True]
