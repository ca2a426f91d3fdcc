"""The outbox: messages waiting to be posted, claimed by delivery workers with leases.

A message is enqueued in the same transaction that records its development (pass that connection
as `db`); its idempotency key (destination + development) makes a second enqueue a no-op.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Row, bindparam, delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ClauseElement

from bot.models import Destination, Platform
from bot.store.db import Db, reading, writing
from bot.store.driver import Prepared
from bot.store.outbox_claims import ClaimedMessage as ClaimedMessage
from bot.store.outbox_claims import MessageKind
from bot.store.outbox_claims import PartProgress as PartProgress
from bot.store.outbox_claims import claim_in_order as claim_in_order
from bot.store.outbox_claims import record_progress as record_progress
from bot.store.outbox_claims import release_messages as release_messages
from bot.store.schema import outbox
from bot.store.sql import chunks, upsert_insert

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
    # Parts of the split message already accepted by the platform, and the thread the first one started.
    parts_sent: int = 0
    thread_id: str | None = None


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
        parts_sent=row.parts_sent,
        thread_id=row.thread_id,
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


@dataclass(frozen=True, slots=True)
class NewMessage:
    """One row for `enqueue_messages`, the batch form of `enqueue_message`."""

    idempotency_key: str
    destination: Destination
    kind: MessageKind
    payload: str
    development_id: int | None = None
    subscription_id: int | None = None


_ENQUEUE_COLUMNS = (
    "idempotency_key",
    "platform",
    "workspace",
    "channel",
    "thread",
    "kind",
    "payload",
    "development_id",
    "subscription_id",
)


def _enqueue_statement(dialect: str) -> ClauseElement:
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    values: dict[str, Any] = {name: bindparam(name) for name in _ENQUEUE_COLUMNS}
    values.update(
        status=bindparam("c_status"),
        attempts=bindparam("c_zero"),
        parts_sent=bindparam("c_zero"),
        not_before=bindparam("c_now", type_=outbox.c.not_before.type),
        created_at=bindparam("c_now", type_=outbox.c.created_at.type),
    )
    return insert(outbox).values(values).on_conflict_do_nothing(index_elements=[outbox.c.idempotency_key])


_ENQUEUE = Prepared(_enqueue_statement, _ENQUEUE_COLUMNS)


async def enqueue_messages(db: Db, messages: Sequence[NewMessage], *, now: datetime) -> None:
    """Queue many messages in one executemany per chunk; keys already queued are skipped.

    Fan-out writes thousands of rows in the engine's transaction: each row is a plain tuple, and
    the values all rows share (the time, the status) are converted once.
    """
    if not messages:
        return
    rows = [
        (
            m.idempotency_key,
            m.destination.platform.value,
            m.destination.workspace,
            m.destination.channel,
            m.destination.thread,
            m.kind,
            m.payload,
            m.development_id,
            m.subscription_id,
        )
        for m in messages
    ]
    shared = {"c_status": "pending", "c_zero": 0, "c_now": now}
    async with writing(db) as conn:
        for chunk in chunks(rows, 5_000):
            await _ENQUEUE.run(conn, chunk, shared)


async def record_parts(
    db: Db,
    message_id: int,
    *,
    parts_sent: int,
    thread_id: str | None,
    now: datetime,
    receipt: str | None,
    done: bool,
) -> bool:
    """The platform accepted parts up to `parts_sent`; `done` marks the whole message sent."""
    values: dict[str, Any] = {"parts_sent": parts_sent, "thread_id": thread_id, "receipt": receipt}
    if done:
        values.update(status="sent", sent_at=now, lease_owner=None, lease_until=None)
    async with writing(db) as conn:
        stmt = update(outbox).where(outbox.c.id == message_id, outbox.c.status == "pending").values(**values)
        return bool((await conn.execute(stmt)).rowcount)


async def abandon_channel(db: Db, destination: Destination, *, now: datetime, reason: str) -> int:
    """Give up every pending message to a channel that is gone or forbids the bot; returns how many."""
    async with writing(db) as conn:
        stmt = (
            update(outbox)
            .where(
                outbox.c.platform == destination.platform.value,
                outbox.c.workspace == destination.workspace,
                outbox.c.channel == destination.channel,
                outbox.c.status == "pending",
            )
            .values(status="dead", last_error=reason, lease_owner=None, lease_until=None, sent_at=None)
        )
        del now
        return int((await conn.execute(stmt)).rowcount or 0)


async def next_pending_at(db: Db) -> datetime | None:
    """When the earliest pending message becomes due (it may be now or past)."""
    async with reading(db) as conn:
        query = select(func.min(outbox.c.not_before)).where(outbox.c.status == "pending")
        value: datetime | None = (await conn.execute(query)).scalar()
        return value


async def count_messages(db: Db) -> dict[str, int]:
    """How many messages are in each status."""
    async with reading(db) as conn:
        query = select(outbox.c.status, func.count()).group_by(outbox.c.status)
        return {str(status): int(count) for status, count in await conn.execute(query)}


async def purge_messages(db: Db, *, before: datetime) -> int:
    """Delete sent and dead messages created before `before` (their keys no longer guard anything)."""
    async with writing(db) as conn:
        stmt = delete(outbox).where(outbox.c.status.in_(["sent", "dead"]), outbox.c.created_at < before)
        return int((await conn.execute(stmt)).rowcount or 0)


async def enqueue_alerts_counted(
    conn: AsyncConnection, rows: list[NewMessage], development_ids: list[int], *, now: datetime
) -> int:
    """Queue alert rows for these developments; how many the outbox took (a key queued before is not).
    One worker runs a topic's engine, so the rows of these developments above the highest id before are
    exactly ours."""
    if not rows:
        return 0
    before = (await conn.execute(select(func.max(outbox.c.id)))).scalar() or 0
    await enqueue_messages(conn, rows, now=now)
    added = select(func.count()).where(
        outbox.c.id > before, outbox.c.kind == "alert", outbox.c.development_id.in_(development_ids)
    )
    return int((await conn.execute(added)).scalar() or 0)
