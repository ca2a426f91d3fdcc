"""The poll job: due sources (the store's `next_poll_at` holds each interval, jitter and backoff) are
claimed, fetched, parsed and stored, their new articles queued for the engine in the same transaction.

Any number of workers run it at once: each claims different sources (leases). The engine and fan-out
are a stage of their own (jobs/engine.py).
"""

from __future__ import annotations

from bot.clock import Clock
from bot.config import IngestSettings
from bot.ingest.fetch import Fetcher
from bot.metrics import NO_METRICS, Metrics
from bot.pipeline.poll_pass import poll_pass
from bot.pipeline.polling import PollReport
from bot.store.db import Store


class PollJob:
    def __init__(
        self,
        store: Store,
        fetcher: Fetcher,
        clock: Clock,
        settings: IngestSettings,
        *,
        owner: str,
        lease_s: float = 300.0,
        metrics: Metrics = NO_METRICS,
    ) -> None:
        self.store, self.fetcher, self.clock, self.settings = store, fetcher, clock, settings
        self.owner = owner
        self.lease_s = lease_s
        self.metrics = metrics

    async def run(self) -> PollReport | None:
        report = await poll_pass(
            self.store,
            self.fetcher,
            clock=self.clock,
            settings=self.settings,
            owner=self.owner,
            lease_s=self.lease_s,
            metrics=self.metrics,
        )
        return report if report.polls else None
