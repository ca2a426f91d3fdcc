"""Claims keep each channel in order: nothing overtakes a leased or retrying message (both databases)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.store import Store
from bot.store.outbox import (
    PartProgress,
    claim_in_order,
    count_messages,
    mark_failed,
    record_progress,
    release_messages,
)
from tests.jobs.helpers import queue_messages

NOW = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)


async def test_claims_in_channel_order(store: Store) -> None:
    await queue_messages(store, channels=2, per_channel=4, now=NOW)
    first = await claim_in_order(store, now=NOW, owner="a", lease_s=60, limit=10, per_channel=2)
    assert [(m.destination.channel, m.id) for m in first] == [("C0", 1), ("C1", 2), ("C0", 3), ("C1", 4)]
    # Another worker gets nothing: every remaining message has an earlier one leased.
    assert await claim_in_order(store, now=NOW, owner="b", lease_s=60, limit=10, per_channel=2) == []
    # C0's first message must wait 30 s; C0's later ones wait with it, C1 goes on.
    await mark_failed(store, 1, now=NOW, error="429", retry_at=NOW + timedelta(seconds=30))
    await release_messages(store, [3], owner="a")
    await record_progress(
        store,
        [PartProgress(2, 1, "t2", "m2", True), PartProgress(4, 1, "t4", "m4", True)],
        now=NOW,
    )
    later = await claim_in_order(store, now=NOW, owner="b", lease_s=60, limit=10, per_channel=2)
    assert [m.id for m in later] == [6, 8]
    after_retry = await claim_in_order(
        store, now=NOW + timedelta(seconds=31), owner="c", lease_s=60, limit=10, per_channel=9
    )
    assert [m.id for m in after_retry] == [1, 3, 5, 7]
    assert [m.attempts for m in after_retry] == [2, 1, 1, 1]
    assert await count_messages(store) == {"pending": 6, "sent": 2}


async def test_a_lease_that_ran_out_unsettled_is_marked_so(store: Store) -> None:
    await queue_messages(store, channels=1, per_channel=3, now=NOW)
    held = await claim_in_order(store, now=NOW, owner="a", lease_s=60, limit=10, per_channel=9)
    assert [m.unsettled for m in held] == [False, False, False]
    # Worker a settles message 1 (a retry), gives back message 3, and dies holding message 2.
    await mark_failed(store, 1, now=NOW, error="429", retry_at=NOW)
    await release_messages(store, [3], owner="a")
    later = await claim_in_order(
        store, now=NOW + timedelta(seconds=61), owner="b", lease_s=60, limit=10, per_channel=9
    )
    assert {m.id: m.unsettled for m in later} == {1: False, 2: True, 3: False}
