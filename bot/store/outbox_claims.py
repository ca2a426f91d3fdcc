"""The delivery side of the outbox: leasing due rows in channel order, recording accepted parts in batches.

Delivery sends about a thousand parts a second at scale, so these are shaped for batches: a claim
leases thousands of rows and reads back only what sending needs; accepted parts are recorded with one
driver-level executemany per batch, still only after the platform accepted each of them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Select, and_, bindparam, func, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ClauseElement

from bot.models import ChannelKey, Destination, Platform
from bot.store.db import Db, writing
from bot.store.driver import Prepared
from bot.store.schema import outbox
from bot.store.sql import chunks

MessageKind = Literal["alert", "digest"]


@dataclass(frozen=True, slots=True)
class ClaimedMessage:
    """An outbox row leased to a worker: what sending it needs, and no more."""

    id: int
    idempotency_key: str
    destination: Destination
    kind: MessageKind
    payload: str
    attempts: int
    lease_until: datetime
    # Parts of the split message already accepted by the platform, and the thread the first one started.
    parts_sent: int = 0
    thread_id: str | None = None
    receipt: str | None = None
    # Its last lease ran out with nothing recorded (the worker died or stalled): the part after
    # `parts_sent` may have reached the platform even so.
    unsettled: bool = False
    # When it was queued: delivery latency is measured from here.
    queued_at: datetime | None = None


_UPDATE_CHUNK = 5_000
# Any fixed number: on PostgreSQL claims take turns, so "is an earlier message still pending" is exact.
_PG_CLAIM_LOCK = 0x6F7574626F78

_CLAIMED_COLUMNS = (
    outbox.c.id,
    outbox.c.idempotency_key,
    outbox.c.platform,
    outbox.c.workspace,
    outbox.c.channel,
    outbox.c.thread,
    outbox.c.kind,
    outbox.c.payload,
    outbox.c.attempts,
    outbox.c.parts_sent,
    outbox.c.thread_id,
    outbox.c.receipt,
    outbox.c.created_at,
)


async def claim_in_order(
    db: Db,
    *,
    now: datetime,
    owner: str,
    lease_s: float,
    limit: int,
    per_channel: int,
    held: Mapping[ChannelKey, int] | None = None,
    per_platform: Mapping[str, int] | None = None,
) -> list[ClaimedMessage]:
    """Lease due messages whose channel has no earlier message pending elsewhere: channels stay in order.

    A message is skipped while an earlier message of its channel is leased by another worker or waits
    for a retry; earlier messages leased by `owner` itself do not block (it sends a channel's
    messages in id order). A channel gets at most `per_channel` messages leased to `owner` (or its
    platform's figure in `per_platform`), counting the `held` ones, so a lease is not outlived by
    the channel's rate limit. Returned in id order.
    """
    candidates = _candidates(now, owner, limit)
    caps = dict(per_platform or {})
    lease_until = now + timedelta(seconds=lease_s)
    async with writing(db) as conn:
        if conn.dialect.name == "postgresql":
            await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_CLAIM_LOCK})
            candidates = candidates.with_for_update(skip_locked=True, of=outbox)
        rows = await conn.execute(candidates)
        chosen, unsettled = _choose(rows, dict(held or {}), caps, per_channel, limit)
        claimed = await _lease(conn, chosen, unsettled, owner=owner, lease_until=lease_until)
    claimed.sort(key=lambda m: m.id)
    return claimed


def _candidates(now: datetime, owner: str, limit: int) -> Select[Any]:
    """Due, unleased messages ahead of their channel's first blocked one, in id order."""
    # A channel is blocked from its first pending message that is not due yet or leased by another
    # worker: found in one grouped pass (few rows qualify), not by a subquery per candidate row.
    blockers = (
        select(
            outbox.c.platform,
            outbox.c.workspace,
            outbox.c.channel,
            func.min(outbox.c.id).label("first_id"),
        )
        .where(
            outbox.c.status == "pending",
            or_(
                outbox.c.not_before > now,
                and_(outbox.c.lease_until > now, outbox.c.lease_owner != owner),
            ),
        )
        .group_by(outbox.c.platform, outbox.c.workspace, outbox.c.channel)
        .cte("blockers")
    )
    joined = outbox.outerjoin(
        blockers,
        and_(
            blockers.c.platform == outbox.c.platform,
            blockers.c.workspace == outbox.c.workspace,
            blockers.c.channel == outbox.c.channel,
        ),
    )
    return (
        select(outbox.c.id, outbox.c.platform, outbox.c.workspace, outbox.c.channel, outbox.c.lease_owner)
        .select_from(joined)
        .where(
            outbox.c.status == "pending",
            outbox.c.not_before <= now,
            or_(outbox.c.lease_until.is_(None), outbox.c.lease_until <= now),
            or_(blockers.c.first_id.is_(None), outbox.c.id < blockers.c.first_id),
        )
        .order_by(outbox.c.id)
        .limit(limit * 4)
    )


def _choose(
    rows: Iterable[Any],
    taken: dict[ChannelKey, int],
    caps: Mapping[str, int],
    per_channel: int,
    limit: int,
) -> tuple[list[int], set[int]]:
    """The candidates each channel has room for (`taken` counts what it holds); and which of them an
    earlier worker left unsettled."""
    chosen: list[int] = []
    # Every settled outcome clears the lease owner: one still set on an expired lease was abandoned.
    unsettled: set[int] = set()
    for message_id, platform, workspace, channel_id, lease_owner in rows:
        channel = (platform, workspace, channel_id)
        count = taken.get(channel, 0)
        if count < caps.get(platform, per_channel):
            taken[channel] = count + 1
            chosen.append(message_id)
            if lease_owner is not None:
                unsettled.add(message_id)
            if len(chosen) >= limit:
                break
    return chosen, unsettled


async def _lease(
    conn: AsyncConnection, chosen: list[int], unsettled: set[int], *, owner: str, lease_until: datetime
) -> list[ClaimedMessage]:
    """Lease the chosen messages to `owner` and read back what sending them needs."""
    claimed: list[ClaimedMessage] = []
    # One alert goes to many channels: keep one copy of each payload and destination.
    payloads: dict[str, str] = {}
    destinations: dict[tuple[str, str, str, str | None], Destination] = {}
    # Large IN lists (well under both drivers' 32,766 parameters): each statement is a round trip
    # through an event loop that is busy sending.
    for chunk in chunks(chosen, _UPDATE_CHUNK):
        stmt = (
            update(outbox)
            .where(outbox.c.id.in_(chunk), outbox.c.status == "pending")
            .values(lease_owner=owner, lease_until=lease_until, attempts=outbox.c.attempts + 1)
            .returning(*_CLAIMED_COLUMNS)
        )
        for row in await conn.execute(stmt):
            message_id, key, platform, workspace, channel_id, thread, kind, payload = row[:8]
            attempts, parts_sent, thread_id, receipt, queued_at = row[8:]
            where = (platform, workspace, channel_id, thread)
            destination = destinations.get(where)
            if destination is None:
                destination = destinations[where] = Destination(
                    Platform(platform), workspace, channel_id, thread
                )
            claimed.append(
                ClaimedMessage(
                    message_id,
                    key,
                    destination,
                    kind,
                    payloads.setdefault(payload, payload),
                    attempts,
                    lease_until,
                    parts_sent,
                    thread_id,
                    receipt,
                    message_id in unsettled,
                    queued_at,
                )
            )
    return claimed


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


@dataclass(frozen=True, slots=True)
class PartProgress:
    """Parts of message `message_id` accepted so far; `done` when that was the last part."""

    message_id: int
    parts_sent: int
    thread_id: str | None
    receipt: str | None
    done: bool


_PROGRESS_ROW = ("b_parts", "b_thread", "b_receipt", "b_id")


def _progress_statement(done: bool) -> ClauseElement:
    stmt = (
        update(outbox)
        .where(outbox.c.id == bindparam("b_id"), outbox.c.status == bindparam("c_pending"))
        .values(
            parts_sent=bindparam("b_parts"), thread_id=bindparam("b_thread"), receipt=bindparam("b_receipt")
        )
    )
    if done:
        stmt = stmt.values(
            status=bindparam("c_sent"),
            sent_at=bindparam("c_now", type_=outbox.c.sent_at.type),
            lease_owner=None,
            lease_until=None,
        )
    return stmt


_PARTIAL = Prepared(lambda _dialect: _progress_statement(False), _PROGRESS_ROW)
_FINISHED = Prepared(lambda _dialect: _progress_statement(True), _PROGRESS_ROW)


async def record_progress(db: Db, progress: Sequence[PartProgress], *, now: datetime) -> None:
    """Record accepted parts of many messages in one transaction: one executemany per kind of update."""
    if not progress:
        return
    shared: dict[str, Any] = {"c_pending": "pending", "c_sent": "sent", "c_now": now}
    partial = [(p.parts_sent, p.thread_id, p.receipt, p.message_id) for p in progress if not p.done]
    finished = [(p.parts_sent, p.thread_id, p.receipt, p.message_id) for p in progress if p.done]
    async with writing(db) as conn:
        await _PARTIAL.run(conn, partial, shared)
        await _FINISHED.run(conn, finished, shared)
