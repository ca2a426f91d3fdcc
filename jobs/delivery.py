"""The deliver job: drains the outbox, channel by channel, in order, within each platform's rate limits.

Each claimed message is split by its adapter's Capabilities; continuations go to the first part's
thread. Every part carries a client message id (`metadata["idempotency_key"]`, the row's key plus the
part's index) which an adapter uses to keep a re-sent part from posting twice: Discord dedupes on it
as `nonce` with `enforce_nonce`; Slack has no such key, so the Slack adapter carries it in message
metadata and looks for it after a doubtful failure or when a part is `unsettled` (a worker died
holding it; adapters/slack/posting.py). Progress is recorded per part, in batches, so a retry
resumes where it stopped.

Shape, for a thousand channels at a message a second each: claims lease thousands of rows at once;
a Pacer (one heap, one timer) hands each channel to a bounded pool of senders when its rate allows;
a sender sends one part (the send path: jobs/sending.py), and the channel goes back to the Pacer until
its next slot. This module is the claim and pacing loop: claims, queues per channel, senders, recording.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping

from bot.chat import ChatAdapter
from bot.clock import Clock
from bot.metrics import NO_METRICS, Metrics
from bot.models import ChannelKey, Platform, channel_key
from bot.store.db import Store
from bot.store.outbox import next_pending_at
from bot.store.outbox_claims import (
    ClaimedMessage,
    PartProgress,
    claim_in_order,
    record_progress,
    release_messages,
)
from jobs.outcomes import DeliverySettings as DeliverySettings
from jobs.outcomes import DrainReport as DrainReport
from jobs.outcomes import Outcomes
from jobs.pacing import Pacer
from jobs.ratelimit import RateLimits
from jobs.sending import Channel, ChannelSender

log = logging.getLogger("storywatch.jobs.deliver")


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
        metrics: Metrics = NO_METRICS,
        heartbeat: Callable[[], None] = lambda: None,
    ) -> None:
        self.store = store
        self.adapters = dict(adapters)
        self.clock = clock
        self.owner = owner
        self.settings = settings or DeliverySettings()
        self.limits = RateLimits()
        self.metrics = metrics
        # Called on every turn of a drain's claim loop: a long drain is alive, not stuck.
        self._heartbeat = heartbeat
        self._wake = asyncio.Event()
        self._channels: dict[ChannelKey, Channel] = {}
        self._held = 0
        self._stopping = False
        self._cancel_sends = False
        self._closing = False
        self._drain_lock = asyncio.Lock()
        self._pacer: Pacer | None = None
        self._senders: list[asyncio.Task[None]] = []
        # Accepted parts wait here briefly so one transaction records many (SQLite has one writer).
        self._progress: list[PartProgress] = []
        self._flusher: asyncio.Task[None] | None = None
        self._outcomes = Outcomes(store, clock, self.settings, self.limits, self.flush, metrics)
        self._sender_path = ChannelSender(
            store,
            self.adapters,
            clock,
            self.limits,
            self._outcomes,
            metrics,
            record=self._record,
            popped=self._popped,
        )

    @property
    def draining(self) -> bool:
        return self._drain_lock.locked()

    def nudge(self) -> None:
        """New rows are waiting: a running drain claims them now rather than at its next look."""
        self._wake.set()

    def _now(self) -> float:
        return self.clock.now().timestamp()

    async def drain(self) -> DrainReport:
        """Deliver until nothing is due (or stop() is called); returns what this drain did."""
        if self._drain_lock.locked():
            self.nudge()
            return DrainReport()
        async with self._drain_lock:
            self._outcomes.report = DrainReport()
            if not self._stopping:
                await self._run()
            return self._outcomes.report

    async def stop(self, *, drain: bool = True) -> None:
        """Stop claiming and starting sends. With `drain`, the parts already being sent finish and are
        recorded; without, they are cancelled (the client ids cover a part the platform took anyway).
        Whatever was claimed but not sent goes back to the outbox at once."""
        if not drain:
            self.abort()
        self._stopping = True
        self._wake.set()
        async with self._drain_lock:
            # The drain (if one ran) has cleaned up on its way out; nothing is left to wait for.
            await self.flush()

    def abort(self) -> None:
        """Stop now: cancel the sends in flight (the client ids cover a part the platform took anyway)."""
        self._stopping = True
        self._cancel_sends = True
        self._wake.set()
        for task in self._senders:
            task.cancel()

    async def _run(self) -> None:
        pacer = self._pacer = Pacer(self.clock)
        timer = asyncio.create_task(pacer.run(), name="deliver:pacer")
        senders = self._senders = [
            asyncio.create_task(self._sender(pacer), name=f"deliver:sender:{n}")
            for n in range(self.settings.max_in_flight)
        ]
        try:
            await self._claim_loop()
        finally:
            # Senders finish the part they are sending (or are cancelled), then stop.
            self._closing = True
            if self._cancel_sends:
                for task in senders:
                    task.cancel()
            else:
                pacer.release_senders(len(senders))
            await asyncio.gather(*senders, return_exceptions=True)
            self._senders = []
            timer.cancel()
            await asyncio.gather(timer, return_exceptions=True)
            self._pacer = None
            await self.flush()
            leftover = [m.id for ch in self._channels.values() for m in ch.queue]
            self._channels.clear()
            self._held = 0
            self._closing = False
            if leftover:
                # Leases of what was claimed but not sent go back at once instead of expiring.
                await release_messages(self.store, leftover, owner=self.owner)
            self.limits.forget_idle(self._now())

    async def _claim_loop(self) -> None:
        cfg = self.settings
        size = cfg.claim_limit
        while not self._stopping:
            self._heartbeat()
            self._wake.clear()
            room = min(size, cfg.max_held - self._held)
            claimed = await self._claim(room) if room > 0 else []
            refused = [m.id for m in claimed if not self._enqueue(m)]
            if refused:
                await release_messages(self.store, refused, owner=self.owner)
            if claimed and len(claimed) >= room and self._held < cfg.max_held:
                size = cfg.max_held
                continue
            if not self._channels:
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

    async def flush(self) -> None:
        """Record the parts accepted so far (the drain does this on its own, in batches)."""
        while True:
            if self._flusher is not None and not self._flusher.done():
                await asyncio.shield(self._flusher)
            elif self._progress:
                self._flusher = asyncio.create_task(self._flush_batches())
            else:
                return

    def _record(self, progress: PartProgress) -> None:
        self._progress.append(progress)
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush_batches(self.settings.record_every_s))

    async def _flush_batches(self, gather_s: float = 0.0) -> None:
        # One flusher at a time, so a message's progress is recorded in the order it was made.
        if gather_s > 0 and not self._closing:
            await asyncio.sleep(gather_s)
        while self._progress:
            batch, self._progress = self._progress, []
            try:
                await record_progress(self.store, batch, now=self.clock.now())
            except Exception:
                # Unrecorded parts are re-sent once the leases expire; their client ids make that a no-op.
                log.exception("deliver status=record_failed parts=%d", len(batch))

    async def _claim(self, limit: int) -> list[ClaimedMessage]:
        cfg = self.settings
        # Enough per channel to keep its rate busy for half a lease, never so many that a lease runs out.
        per_platform = {
            platform.value: max(1, int(adapter.capabilities.per_channel_rate * cfg.lease_s / 2))
            for platform, adapter in self.adapters.items()
        }
        return await claim_in_order(
            self.store,
            now=self.clock.now(),
            owner=self.owner,
            lease_s=cfg.lease_s,
            limit=limit,
            per_channel=1,
            per_platform=per_platform,
            held={key: len(ch.queue) for key, ch in self._channels.items()},
        )

    def _enqueue(self, message: ClaimedMessage) -> bool:
        """Queue a claimed message behind its channel's; False if the channel is stalled behind a failure."""
        key = channel_key(message.destination)
        stalled = self._outcomes.stalled.get(key)
        if stalled is not None:
            failed_id, until = stalled
            if message.id > failed_id and until > self._now():
                # Claimed before the failure was recorded: it must not overtake the failed message.
                return False
            del self._outcomes.stalled[key]
        channel = self._channels.get(key)
        if channel is None:
            channel = self._channels[key] = Channel()
        channel.queue.append(message)
        self._held += 1
        if not channel.scheduled and self._pacer is not None:
            channel.scheduled = True
            self._pacer.schedule(key, self.limits.free_at(key), self._sender_path.gap(key))
        return True

    async def _sender(self, pacer: Pacer) -> None:
        while True:
            key = (await pacer.ready.get())[2]
            if key is None or self._closing or self._stopping:
                return
            channel = self._channels.get(key)
            if channel is None:
                continue
            try:
                due = await self._sender_path.send_next(key, channel)
            except Exception:
                log.exception("deliver channel=%s status=error", key)
                due = None
            if due is not None and channel.queue:
                if self._closing or self._stopping:
                    return
                pacer.schedule(key, due, self._sender_path.gap(key))
                continue
            # The channel is done, or stopped behind a failure: the rest keeps its order, untried.
            channel.scheduled = False
            rest = [m.id for m in channel.queue]
            channel.queue.clear()
            self._held -= len(rest)
            if self._channels.get(key) is channel:
                del self._channels[key]
            if not self._channels:
                self._wake.set()
            if rest:
                with contextlib.suppress(Exception):
                    await release_messages(self.store, rest, owner=self.owner)

    def _popped(self) -> None:
        self._held -= 1
