from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy.exc import IntegrityError

from bot.models import Destination, Platform
from bot.store import Store
from bot.store.outbox import (
    claim_messages,
    enqueue_message,
    get_message,
    get_message_by_key,
    list_messages,
    mark_failed,
    mark_sent,
)
from bot.store.schema import outbox

DEST = Destination(Platform.DISCORD, "guild-1", "chan-9", thread="th-1")


async def test_idempotency_key_makes_second_enqueue_a_no_op(store: Store, t0: datetime) -> None:
    key = f"{DEST.key}:dev:1"
    first = await enqueue_message(
        store, idempotency_key=key, destination=DEST, kind="alert", payload='{"a":1}', now=t0
    )
    second = await enqueue_message(
        store, idempotency_key=key, destination=DEST, kind="alert", payload='{"a":2}', now=t0
    )
    assert first is not None and second is None
    stored = await get_message_by_key(store, key)
    assert stored is not None and stored.payload == '{"a":1}' and stored.destination == DEST
    assert len(await list_messages(store)) == 1


async def test_the_table_itself_refuses_duplicate_keys(store: Store, t0: datetime) -> None:
    row = {
        "idempotency_key": "k",
        "platform": "slack",
        "workspace": "T",
        "channel": "C",
        "kind": "alert",
        "payload": "{}",
        "not_before": t0,
        "created_at": t0,
    }
    async with store.write() as conn:
        await conn.execute(outbox.insert().values(**row))
    with pytest.raises(IntegrityError):
        async with store.write() as conn:
            await conn.execute(outbox.insert().values(**row))


async def test_claim_send_and_retry(store: Store, t0: datetime) -> None:
    ids = [
        await enqueue_message(
            store, idempotency_key=f"k{n}", destination=DEST, kind="digest", payload="{}", now=t0
        )
        for n in range(3)
    ]
    later = await enqueue_message(
        store,
        idempotency_key="later",
        destination=DEST,
        kind="alert",
        payload="{}",
        now=t0,
        not_before=t0 + timedelta(hours=1),
    )
    claimed = await claim_messages(store, now=t0, owner="w1", lease_s=60, limit=10)
    assert [m.id for m in claimed] == ids and all(m.attempts == 1 for m in claimed)
    assert await claim_messages(store, now=t0, owner="w2", lease_s=60, limit=10) == []

    assert await mark_sent(store, claimed[0].id, now=t0, receipt="ts-123")
    assert not await mark_sent(store, claimed[0].id, now=t0)
    sent = await get_message(store, claimed[0].id)
    assert sent is not None and sent.status == "sent" and sent.receipt == "ts-123" and sent.sent_at == t0

    assert await mark_failed(
        store, claimed[1].id, now=t0, error="HTTP 429", retry_at=t0 + timedelta(seconds=30)
    )
    assert await mark_failed(store, claimed[2].id, now=t0, error="channel_not_found", retry_at=None)
    dead = await get_message(store, claimed[2].id)
    assert dead is not None and dead.status == "dead" and dead.last_error == "channel_not_found"

    retry = await claim_messages(store, now=t0 + timedelta(seconds=31), owner="w2", lease_s=60, limit=10)
    assert [m.id for m in retry] == [claimed[1].id] and retry[0].attempts == 2
    # A crashed worker's lease runs out and the message is claimed again.
    again = await claim_messages(store, now=t0 + timedelta(hours=2), owner="w3", lease_s=60, limit=10)
    assert [m.id for m in again] == [claimed[1].id, later]
    assert [m.id for m in await list_messages(store, status="dead")] == [claimed[2].id]
