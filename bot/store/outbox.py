"""The outbox: messages waiting to be posted, claimed by delivery workers with leases.

A message is enqueued in the same transaction that records its development (pass that connection
as `db`); its idempotency key (destination + development) makes a second enqueue a no-op.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Row, and_, bindparam, delete, func, or_, select, text, update

from bot.models import Destination, Platform
from bot.store.db import Db, reading, writing
from bot.store.schema import outbox
from bot.store.sql import chunks, upsert_insert

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


async def enqueue_messages(db: Db, messages: Sequence[NewMessage], *, now: datetime) -> None:
    """Queue many messages in one statement per chunk; keys already queued are skipped."""
    if not messages:
        return
    rows = [
        {
            "idempotency_key": m.idempotency_key,
            "platform": m.destination.platform.value,
            "workspace": m.destination.workspace,
            "channel": m.destination.channel,
            "thread": m.destination.thread,
            "kind": m.kind,
            "payload": m.payload,
            "development_id": m.development_id,
            "subscription_id": m.subscription_id,
            "status": "pending",
            "attempts": 0,
            "parts_sent": 0,
            "not_before": now,
            "created_at": now,
        }
        for m in messages
    ]
    async with writing(db) as conn:
        stmt = upsert_insert(conn, outbox).on_conflict_do_nothing(index_elements=[outbox.c.idempotency_key])
        for chunk in chunks(rows, 2_000):
            await conn.execute(stmt, list(chunk))


# Any fixed number: on PostgreSQL claims take turns, so "is an earlier message still pending" is exact.
_PG_CLAIM_LOCK = 0x6F7574626F78


async def claim_in_order(
    db: Db,
    *,
    now: datetime,
    owner: str,
    lease_s: float,
    limit: int,
    per_channel: int,
    held: Mapping[tuple[str, str, str], int] | None = None,
) -> list[OutboxMessage]:
    """Lease due messages whose channel has no earlier message pending elsewhere: channels stay in order.

    A message is skipped while an earlier message of its channel is leased by another worker or waits
    for a retry; earlier messages leased by `owner` itself do not block (it sends a channel's
    messages in id order). A channel gets at most `per_channel` messages leased to `owner`, counting
    the `held` ones, so a lease is not outlived by the channel's rate limit. Returned in id order.
    """
    prior = outbox.alias("prior")
    blocked = (
        select(prior.c.id)
        .where(
            prior.c.platform == outbox.c.platform,
            prior.c.workspace == outbox.c.workspace,
            prior.c.channel == outbox.c.channel,
            prior.c.status == "pending",
            prior.c.id < outbox.c.id,
            or_(
                prior.c.not_before > now,
                and_(prior.c.lease_until > now, prior.c.lease_owner != owner),
            ),
        )
        .exists()
    )
    candidates = (
        select(outbox.c.id, outbox.c.platform, outbox.c.workspace, outbox.c.channel)
        .where(
            outbox.c.status == "pending",
            outbox.c.not_before <= now,
            or_(outbox.c.lease_until.is_(None), outbox.c.lease_until <= now),
            ~blocked,
        )
        .order_by(outbox.c.id)
        .limit(limit * 4)
    )
    async with writing(db) as conn:
        if conn.dialect.name == "postgresql":
            await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_CLAIM_LOCK})
            candidates = candidates.with_for_update(skip_locked=True, of=outbox)
        taken: dict[tuple[str, str, str], int] = dict(held or {})
        chosen: list[int] = []
        for row in await conn.execute(candidates):
            channel = (row.platform, row.workspace, row.channel)
            if taken.get(channel, 0) < per_channel:
                taken[channel] = taken.get(channel, 0) + 1
                chosen.append(int(row.id))
                if len(chosen) >= limit:
                    break
        claimed: list[OutboxMessage] = []
        for chunk in chunks(chosen):
            stmt = (
                update(outbox)
                .where(outbox.c.id.in_(chunk), outbox.c.status == "pending")
                .values(
                    lease_owner=owner,
                    lease_until=now + timedelta(seconds=lease_s),
                    attempts=outbox.c.attempts + 1,
                )
                .returning(*outbox.c)
            )
            claimed.extend(_message(row) for row in await conn.execute(stmt))
    return sorted(claimed, key=lambda m: m.id)


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


async def release_messages(db: Db, message_ids: Sequence[int], *, owner: str) -> int:
    """Give back leased messages that were not tried (their attempt is not counted)."""
    released = 0
    async with writing(db) as conn:
        for chunk in chunks(message_ids):
            stmt = (
                update(outbox)
                .where(outbox.c.id.in_(chunk), outbox.c.lease_owner == owner, outbox.c.status == "pending")
                .values(lease_owner=None, lease_until=None, attempts=outbox.c.attempts - 1)
            )
            released += (await conn.execute(stmt)).rowcount or 0
    return released


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


@dataclass(frozen=True, slots=True)
class PartProgress:
    """Parts of message `message_id` accepted so far; `done` when that was the last part."""

    message_id: int
    parts_sent: int
    thread_id: str | None
    receipt: str | None
    done: bool


async def record_progress(db: Db, progress: Sequence[PartProgress], *, now: datetime) -> None:
    """`record_parts` for many messages in one transaction (delivery records in batches)."""
    if not progress:
        return
    base = update(outbox).where(outbox.c.id == bindparam("b_id"), outbox.c.status == "pending")
    partial = base.values(
        parts_sent=bindparam("b_parts"), thread_id=bindparam("b_thread"), receipt=bindparam("b_receipt")
    )
    finished = partial.values(status="sent", sent_at=now, lease_owner=None, lease_until=None)
    async with writing(db) as conn:
        for done, stmt in ((False, partial), (True, finished)):
            rows = [
                {
                    "b_id": p.message_id,
                    "b_parts": p.parts_sent,
                    "b_thread": p.thread_id,
                    "b_receipt": p.receipt,
                }
                for p in progress
                if p.done is done
            ]
            if rows:
                await conn.execute(stmt, rows)
