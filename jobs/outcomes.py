"""What becomes of a part the platform refused: a retry later, a message given up, a channel paused.

A message waiting for its retry stalls its channel: nothing later in the channel may overtake it,
so the deliverer refuses later messages of that channel claimed before the failure was recorded.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta

from bot.clock import Clock
from bot.messages import DeliveryError
from bot.metrics import NO_METRICS, Metrics
from bot.models import ChannelKey, channel_key
from bot.store.db import Store
from bot.store.outbox import abandon_channel, mark_failed
from bot.store.outbox_claims import ClaimedMessage
from bot.store.subscriptions import pause_subscriptions
from jobs.ratelimit import RateLimits

log = logging.getLogger("storywatch.jobs.deliver")


@dataclass(frozen=True, slots=True)
class DeliverySettings:
    # Rows leased by a drain's first claim, so sending starts soon; a claim after a full one takes all
    # it may (up to max_held claimed and not yet sent): every claim reads all pending rows once.
    claim_limit: int = 2_000
    max_held: int = 20_000
    # Accepted parts are recorded together at most this often (the client ids cover a crash between).
    record_every_s: float = 0.05
    lease_s: float = 120.0
    # Parts being sent at once, across channels; each channel itself is strictly one after the other.
    max_in_flight: int = 32
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


class Outcomes:
    """Records refusals; `report` counts what a drain did, `stalled` the channels waiting for a retry."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        settings: DeliverySettings,
        limits: RateLimits,
        flush: Callable[[], Awaitable[None]],
        metrics: Metrics = NO_METRICS,
    ) -> None:
        self.store = store
        self.clock = clock
        self.settings = settings
        self.limits = limits
        # Accepted parts are recorded before a refusal of the same message is.
        self.flush = flush
        self.metrics = metrics
        self.report = DrainReport()
        # Channels whose message waits for a retry (its id; until when at most): nothing later goes first.
        self.stalled: dict[ChannelKey, tuple[int, float]] = {}

    async def refused(self, row: ClaimedMessage, exc: DeliveryError, part: int) -> bool:
        """Act on a refused part; True when the channel may go on with its next message."""
        key = channel_key(row.destination)
        if exc.kind == "retry":
            if exc.retry_after:
                self.limits.hold(key, exc.retry_after, self.clock.now().timestamp())
            await self.retry(row, exc.reason, exc.retry_after, part=part)
            return False
        if exc.kind == "invalid":
            await self.dead(row, f"invalid: {exc.reason}", part=part)
            return True
        reason = f"{exc.kind}: {exc.reason}"
        now = self.clock.now()
        await self.dead(row, reason, part=part)
        abandoned = await abandon_channel(self.store, row.destination, now=now, reason=reason)
        paused = await pause_subscriptions(self.store, row.destination, reason, now=now)
        self.report.paused.append(row.destination.key)
        log.warning(
            "deliver channel=%s status=paused reason=%r subscriptions=%d abandoned=%d",
            row.destination.key,
            reason,
            paused,
            abandoned,
        )
        return False

    async def retry(self, row: ClaimedMessage, reason: str, after: float | None, *, part: int = 0) -> None:
        cfg = self.settings
        if row.attempts >= cfg.max_attempts:
            await self.dead(row, f"gave up after {row.attempts} attempts: {reason}", part=part)
            return
        if after is None:
            after = min(cfg.backoff_max_s, cfg.backoff_base_s * 2 ** max(0, row.attempts - 1))
        now = self.clock.now()
        until = now + timedelta(seconds=after)
        self.stalled[channel_key(row.destination)] = (row.id, until.timestamp() + cfg.lease_s)
        await self.flush()
        await mark_failed(self.store, row.id, now=now, error=reason, retry_at=until)
        self.report.retried += 1
        self.metrics.message_failed(row.kind, row.destination.platform.value, "retry")
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

    async def dead(self, row: ClaimedMessage, reason: str, *, part: int = 0) -> None:
        await self.flush()
        await mark_failed(self.store, row.id, now=self.clock.now(), error=reason, retry_at=None)
        self.report.dead += 1
        self.metrics.message_failed(row.kind, row.destination.platform.value, "dead")
        log.warning(
            "deliver id=%d kind=%s dest=%s part=%d status=dead reason=%r",
            row.id,
            row.kind,
            row.destination.key,
            part + 1,
            reason,
        )
