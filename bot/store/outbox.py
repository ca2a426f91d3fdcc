"""The outbox: messages waiting to be posted, claimed by delivery workers with leases.

A message is enqueued in the same transaction that records its development (pass that connection
as `db`); its idempotency key (destination + development) makes a second enqueue a no-op.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Row, or_, select, update

from bot.models import Destination, Platform
from bot.store.db import Db, reading, writing
from bot.store.schema import outbox
from bot.store.sql import upsert_insert

MessageKind = Literal["alert", "digest"]
MessageStatus = Literal["pending", "sent", "dead"]


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    id: int
    idempotency_key: str
    destination: Destination
    kind: MessageKind
    payload: str
    status: MessageStatus
    attempts: int
    not_before: datetime
    created_at: datetime
    development_id: int | None = None
    subscription_id: int | None = None
    lease_owner: str | None = None
    lease_until: datetime | None = None
    sent_at: datetime | None = None
    receipt: str | None = None
    last_error: str | None = None


def _message(row: Row[Any]) -> OutboxMessage:
    return OutboxMessage(
        id=row.id,
        idempotency_key=row.idempotency_key,
        destination=Destination(Platform(row.platform), row.workspace, row.channel, row.thread),
        kind=row.kind,
        payload=row.payload,
        status=row.status,
        attempts=row.attempts,
        not_before=row.not_before,
        created_at=row.created_at,
        development_id=row.development_id,
        subscription_id=row.subscription_id,
        lease_owner=row.lease_owner,
        lease_until=row.lease_until,
        sent_at=row.sent_at,
        receipt=row.receipt,
        last_error=row.last_error,
    )


async def enqueue_message(
    db: Db,
    *,
    idempotency_key: str,
    destination: Destination,
    kind: MessageKind,
    payload: str,
    now: datetime,
    development_id: int | None = None,
    subscription_id: int | None = None,
    not_before: datetime | None = None,
) -> int | None:
    """Queue a message; returns its id, or None if a message with this key was already queued."""
    async with writing(db) as conn:
        stmt = (
            upsert_insert(conn, outbox)
            .values(
                idempotency_key=idempotency_key,
                platform=destination.platform.value,
                workspace=destination.workspace,
                channel=destination.channel,
                thread=destination.thread,
                kind=kind,
                payload=payload,
                development_id=development_id,
                subscription_id=subscription_id,
                status="pending",
                attempts=0,
                not_before=not_before or now,
                created_at=now,
            )
            .on_conflict_do_nothing(index_elements=[outbox.c.idempotency_key])
            .returning(outbox.c.id)
        )
        message_id = (await conn.execute(stmt)).scalar()
        return int(message_id) if message_id is not None else None


async def claim_messages(
    db: Db, *, now: datetime, owner: str, lease_s: float, limit: int
) -> list[OutboxMessage]:
    """Lease up to `limit` pending messages whose time has come, oldest first, counting an attempt each."""
    ready = (
        select(outbox.c.id)
        .where(
            outbox.c.status == "pending",
            outbox.c.not_before <= now,
            or_(outbox.c.lease_until.is_(None), outbox.c.lease_until <= now),
        )
        .order_by(outbox.c.not_before, outbox.c.id)
        .limit(limit)
    )
    async with writing(db) as conn:
        if conn.dialect.name == "postgresql":
            ready = ready.with_for_update(skip_locked=True)
        stmt = (
            update(outbox)
            .where(outbox.c.id.in_(ready.scalar_subquery()))
            .values(
                lease_owner=owner,
                lease_until=now + timedelta(seconds=lease_s),
                attempts=outbox.c.attempts + 1,
            )
            .returning(*outbox.c)
        )
        rows = (await conn.execute(stmt)).all()
    return sorted((_message(row) for row in rows), key=lambda m: (m.not_before, m.id))


async def mark_sent(db: Db, message_id: int, *, now: datetime, receipt: str | None = None) -> bool:
    """The platform accepted the message: never send it again. False if it was not pending."""
    async with writing(db) as conn:
        stmt = (
            update(outbox)
            .where(outbox.c.id == message_id, outbox.c.status == "pending")
            .values(status="sent", sent_at=now, receipt=receipt, lease_owner=None, lease_until=None)
        )
        return bool((await conn.execute(stmt)).rowcount)


async def mark_failed(
    db: Db, message_id: int, *, now: datetime, error: str, retry_at: datetime | None
) -> bool:
    """Sending failed: retry at `retry_at`, or give up (status 'dead') when it is None."""
    values: dict[str, Any] = {"last_error": error, "lease_owner": None, "lease_until": None}
    if retry_at is None:
        values["status"] = "dead"
    else:
        values["not_before"] = max(retry_at, now)
    async with writing(db) as conn:
        stmt = update(outbox).where(outbox.c.id == message_id, outbox.c.status == "pending").values(**values)
        return bool((await conn.execute(stmt)).rowcount)


async def get_message(db: Db, message_id: int) -> OutboxMessage | None:
    async with reading(db) as conn:
        row = (await conn.execute(select(outbox).where(outbox.c.id == message_id))).first()
        return _message(row) if row else None


async def get_message_by_key(db: Db, idempotency_key: str) -> OutboxMessage | None:
    async with reading(db) as conn:
        query = select(outbox).where(outbox.c.idempotency_key == idempotency_key)
        row = (await conn.execute(query)).first()
        return _message(row) if row else None


async def list_messages(
    db: Db, *, status: MessageStatus | None = None, limit: int = 100
) -> list[OutboxMessage]:
    query = select(outbox).order_by(outbox.c.id).limit(limit)
    if status is not None:
        query = query.where(outbox.c.status == status)
    async with reading(db) as conn:
        return [_message(row) for row in await conn.execute(query)]
