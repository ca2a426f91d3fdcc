"""The deliver job: drains the outbox, channel by channel, in order, within each platform's rate limits.

Each claimed message is split by its adapter's Capabilities; continuations go to the first part's
thread. Every part carries a client message id (`metadata["idempotency_key"]`, the row's key plus the
part's index) which an adapter hands to the platform (Discord `nonce` with `enforce_nonce`, Slack
`client_msg_id`), so a part re-sent after a crash between "accepted" and "recorded" is recognised by
the platform instead of posted twice. Progress is recorded per part, so a retry resumes where it stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from adapters.base import ChatAdapter
from bot.clock import Clock
from bot.messages import DeliveryError, split_message
from bot.messages.serial import message_from_json
from bot.models import Message, Platform
from bot.store.db import Store
from bot.store.outbox import (
    OutboxMessage,
    PartProgress,
    abandon_channel,
    claim_in_order,
    mark_failed,
    next_pending_at,
    record_progress,
    release_messages,
)
from bot.store.subscriptions import channel_key, pause_subscriptions
from jobs.ratelimit import ChannelKey, RateLimits

log = logging.getLogger("storywatch.jobs.deliver")


@dataclass(frozen=True, slots=True)
class DeliverySettings:
    claim_limit: int = 2_000
    lease_s: float = 120.0
    # Channels sent to at once; each channel itself is strictly one message after the other.
    max_channels: int = 256
    max_attempts: int = 25
    backoff_base_s: float = 2.0
    backoff_max_s: float = 900.0
    # While a drain runs, how often it looks for new rows (a nudge wakes it sooner), and at most how often.
    idle_check_s: float = 0.25
    min_claim_gap_s: float = 0.05
    # A drain waits in place for a retry due this soon, instead of returning to the scheduler.
    linger_s: float = 1.0


@dataclass(slots=True)
class DrainReport:
    sent: int = 0
    retried: int = 0
    dead: int = 0
    paused: list[str] = field(default_factory=list)


class Deliverer:
    """Sends outbox messages through the adapters; one per process, safe beside others on PostgreSQL."""

    def __init__(
        self,
        store: Store,
        adapters: Mapping[Platform, ChatAdapter],
        clock: Clock,
        *,
        owner: str,
        settings: DeliverySettings | None = None,
    ) -> None:
        self.store = store
        self.adapters = dict(adapters)
        self.clock = clock
        self.owner = owner
        self.settings = settings or DeliverySettings()
        self.limits = RateLimits(clock)
        self._wake = asyncio.Event()
        self._queues: dict[ChannelKey, deque[OutboxMessage]] = {}
        self._tasks: dict[ChannelKey, asyncio.Task[None]] = {}
        self._report = DrainReport()
        self._stopping = False
        self._drain_lock = asyncio.Lock()
        # Accepted parts wait here briefly so one transaction records many (SQLite has one writer).
        self._progress: list[PartProgress] = []
        self._flusher: asyncio.Task[None] | None = None
        # Channels whose message waits for a retry (its id; until when at most): nothing later goes first.
        self._stalled: dict[ChannelKey, tuple[int, datetime]] = {}
        self._split_cache: dict[tuple[str, Platform], list[Message]] = {}

    def nudge(self) -> None:
        """New rows are waiting: a running drain claims them now rather than at its next look."""
        self._wake.set()

    async def drain(self) -> DrainReport:
        """Deliver until nothing is due (or stop() is called); returns what this drain did."""
        if self._drain_lock.locked():
            self.nudge()
            return DrainReport()
        async with self._drain_lock:
            self._report = DrainReport()
            await self._drain()
            return self._report

    async def stop(self, *, drain: bool = True) -> None:
        """Stop claiming; with `drain`, let the channels being sent finish, else cancel them."""
        self._stopping = True
        self._wake.set()
        if not drain:
            for task in list(self._tasks.values()):
                task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks.values(), return_exceptions=True)
        await self.flush()
        # Leases of what was claimed but not tried go back at once instead of expiring.
        leftover = [m.id for q in self._queues.values() for m in q]
        if leftover:
            await release_messages(self.store, leftover, owner=self.owner)
        self._queues.clear()

    async def _drain(self) -> None:
        cfg = self.settings
        while not self._stopping:
            self._wake.clear()
            claimed = await self._claim()
            refused = [m.id for m in claimed if not self._enqueue(m)]
            if refused:
                await release_messages(self.store, refused, owner=self.owner)
            if len(claimed) >= cfg.claim_limit:
                continue
            if not self._tasks:
                await self.flush()
                due = await next_pending_at(self.store)
                wait = (due - self.clock.now()).total_seconds() if due is not None else None
                if wait is None or wait > cfg.linger_s:
                    return
                await self.clock.sleep(max(wait, 0.0))
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), cfg.idle_check_s)
            await asyncio.sleep(cfg.min_claim_gap_s)
        await self.stop(drain=True)

    async def flush(self) -> None:
        """Record the parts accepted so far (the drain does this on its own, in batches)."""
        while self._flusher is not None and not self._flusher.done():
            await asyncio.shield(self._flusher)
        if self._progress:
            batch, self._progress = self._progress, []
            await record_progress(self.store, batch, now=self.clock.now())

    def _record(self, progress: PartProgress) -> None:
        self._progress.append(progress)
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush_batches())

    async def _flush_batches(self) -> None:
        while self._progress:
            batch, self._progress = self._progress, []
            await record_progress(self.store, batch, now=self.clock.now())

    async def _claim(self) -> list[OutboxMessage]:
        cfg = self.settings
        free = cfg.max_channels - len(self._tasks)
        if free <= 0:
            return []
        # Enough per channel to keep its rate busy for half a lease, never so many that a lease runs out.
        rates = [a.capabilities.per_channel_rate for a in self.adapters.values()] or [1.0]
        per_channel = max(1, int(max(rates) * cfg.lease_s / 2))
        return await claim_in_order(
            self.store,
            now=self.clock.now(),
            owner=self.owner,
            lease_s=cfg.lease_s,
            limit=cfg.claim_limit,
            per_channel=per_channel,
            held={key: len(queue) for key, queue in self._queues.items()},
        )

    def _enqueue(self, message: OutboxMessage) -> bool:
        """Queue a claimed message behind its channel's; False if the channel is stalled behind a failure."""
        key = channel_key(message.destination)
        stalled = self._stalled.get(key)
        if stalled is not None:
            failed_id, until = stalled
            if message.id > failed_id and until > self.clock.now():
                # Claimed before the failure was recorded: it must not overtake the failed message.
                return False
            del self._stalled[key]
        self._queues.setdefault(key, deque()).append(message)
        task = self._tasks.get(key)
        if task is None or task.done():
            self._tasks[key] = asyncio.create_task(self._run_channel(key), name=f"deliver:{key}")
        return True

    async def _run_channel(self, key: ChannelKey) -> None:
        queue = self._queues[key]
        try:
            while queue:
                message = queue[0]
                ok = await self._deliver(message)
                queue.popleft()
                if not ok:
                    # The channel stalls behind a failed message: the rest keeps its order, untried.
                    if queue:
                        await release_messages(self.store, [m.id for m in queue], owner=self.owner)
                        queue.clear()
                    break
        finally:
            if not queue:
                self._queues.pop(key, None)
            if self._tasks.get(key) is asyncio.current_task():
                del self._tasks[key]
            self._wake.set()

    async def _deliver(self, row: OutboxMessage) -> bool:
        """Send the remaining parts of one message; True when it is sent in full."""
        adapter = self.adapters.get(row.destination.platform)
        if adapter is None:
            return await self._retry(row, f"no adapter for {row.destination.platform.value}", 60.0)
        if row.lease_until is not None and self.clock.now() >= row.lease_until - timedelta(seconds=5):
            # Our lease is (nearly) over: another worker may own the message now.
            return False
        try:
            parts = self._parts(row.payload, adapter)
        except (ValueError, KeyError, TypeError) as exc:
            return await self._dead(row, f"unreadable payload: {exc}")
        caps = adapter.capabilities
        thread_id = row.thread_id
        receipt_id = row.receipt
        key = channel_key(row.destination)
        for index in range(row.parts_sent, len(parts)):
            destination = row.destination
            if index > 0 and caps.threads and thread_id is not None:
                destination = replace(destination, thread=thread_id)
            part = _with_client_id(parts[index], f"{row.idempotency_key}#{index}")
            await self.limits.acquire(row.destination.platform, key, caps)
            started = self.clock.now()
            try:
                receipt = await adapter.send(destination, part)
            except DeliveryError as exc:
                self.limits.answered(key, caps)
                return await self._failed(row, exc, index)
            except Exception as exc:  # an adapter bug or a network error is worth another try
                log.exception("deliver id=%d adapter error", row.id)
                return await self._retry(row, f"{type(exc).__name__}: {exc}", None)
            self.limits.answered(key, caps)
            if index == 0:
                thread_id, receipt_id = receipt.thread_id, receipt.message_id
            done = index == len(parts) - 1
            self._record(PartProgress(row.id, index + 1, thread_id, receipt_id, done))
            log.info(
                "deliver id=%d kind=%s dest=%s part=%d/%d status=%s attempt=%d send_ms=%d",
                row.id,
                row.kind,
                row.destination.key,
                index + 1,
                len(parts),
                "sent" if done else "part_sent",
                row.attempts,
                (self.clock.now() - started).total_seconds() * 1000,
            )
        self._report.sent += 1
        return True

    def _parts(self, payload: str, adapter: ChatAdapter) -> list[Message]:
        # One alert goes to many channels with the same payload: split it once.
        key = (payload, adapter.platform)
        parts = self._split_cache.get(key)
        if parts is None:
            if len(self._split_cache) >= 256:
                self._split_cache.clear()
            parts = self._split_cache[key] = split_message(message_from_json(payload), adapter.capabilities)
        return parts

    async def _failed(self, row: OutboxMessage, exc: DeliveryError, part: int) -> bool:
        key = channel_key(row.destination)
        if exc.kind == "retry":
            if exc.retry_after:
                self.limits.hold(key, exc.retry_after)
            return await self._retry(row, exc.reason, exc.retry_after, part=part)
        if exc.kind == "invalid":
            return await self._dead(row, f"invalid: {exc.reason}", part=part)
        reason = f"{exc.kind}: {exc.reason}"
        now = self.clock.now()
        await self._dead(row, reason, part=part)
        abandoned = await abandon_channel(self.store, row.destination, now=now, reason=reason)
        paused = await pause_subscriptions(self.store, row.destination, reason, now=now)
        self._report.paused.append(row.destination.key)
        log.warning(
            "deliver channel=%s status=paused reason=%r subscriptions=%d abandoned=%d",
            row.destination.key,
            reason,
            paused,
            abandoned,
        )
        return False

    async def _retry(self, row: OutboxMessage, reason: str, after: float | None, *, part: int = 0) -> bool:
        cfg = self.settings
        if row.attempts >= cfg.max_attempts:
            return await self._dead(row, f"gave up after {row.attempts} attempts: {reason}", part=part)
        if after is None:
            after = min(cfg.backoff_max_s, cfg.backoff_base_s * 2 ** max(0, row.attempts - 1))
        now = self.clock.now()
        until = now + timedelta(seconds=after)
        self._stalled[channel_key(row.destination)] = (row.id, until + timedelta(seconds=cfg.lease_s))
        await mark_failed(self.store, row.id, now=now, error=reason, retry_at=until)
        self._report.retried += 1
        log.info(
            "deliver id=%d kind=%s dest=%s part=%d status=retry reason=%r retry_in_s=%.2f attempt=%d",
            row.id,
            row.kind,
            row.destination.key,
            part + 1,
            reason,
            after,
            row.attempts,
        )
        return False

    async def _dead(self, row: OutboxMessage, reason: str, *, part: int = 0) -> bool:
        await mark_failed(self.store, row.id, now=self.clock.now(), error=reason, retry_at=None)
        self._report.dead += 1
        log.warning(
            "deliver id=%d kind=%s dest=%s part=%d status=dead reason=%r",
            row.id,
            row.kind,
            row.destination.key,
            part + 1,
            reason,
        )
        return False


def _with_client_id(part: Message, client_id: str) -> Message:
    return replace(part, metadata={**part.metadata, "idempotency_key": client_id})
