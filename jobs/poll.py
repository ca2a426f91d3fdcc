"""The poll job: due sources (the store's `next_poll_at` holds each interval, jitter and backoff), then
the engine, then fan-out, in one pass. One process at a time runs it (a job lease): the engine's memory
is one, however many delivery workers there are."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from bot.clock import Clock
from bot.config import IngestSettings
from bot.fanout import IngestResult, ingest_to_outbox
from bot.ingest.fetch import Fetcher
from bot.metrics import NO_METRICS, Metrics
from bot.models import Topic
from bot.polling import poll_due
from bot.store.db import Store
from bot.store.state import acquire_job_lease
from bot.store.topics import list_topics
from bot.stories.embedding import Embedder, load_embedder
from bot.stories.engine import StoryEngine
from bot.stories.persist import open_engine

log = logging.getLogger("storywatch.jobs.poll")
POLL_LEASE = "job:poll"


class PollJob:
    def __init__(
        self,
        store: Store,
        fetcher: Fetcher,
        clock: Clock,
        settings: IngestSettings,
        *,
        owner: str,
        on_alerts: Callable[[], None] = lambda: None,
        lease_s: float = 300.0,
        engine_factory: Callable[[list[Topic]], StoryEngine] | None = None,
        metrics: Metrics = NO_METRICS,
        model: str = "auto",
    ) -> None:
        self.store, self.fetcher, self.clock, self.settings = store, fetcher, clock, settings
        self.owner = owner
        self.on_alerts = on_alerts
        self.lease_s = lease_s
        self._engine: StoryEngine | None = None
        self._topics: list[Topic] | None = None
        self._engine_factory = engine_factory
        self.metrics = metrics
        self._model = model
        self._embedder: Embedder | None = None
        self._embedder_loaded = False

    async def _current_engine(self) -> StoryEngine:
        topics = await list_topics(self.store)
        # Topics change at run time (subscribe creates them): the engine matches against the current set.
        if self._engine is None or topics != self._topics:
            if self._engine_factory is not None:
                self._engine = self._engine_factory(topics)
            else:
                self._engine = await open_engine(self.store, topics, embedder=await self._load_embedder())
            self._topics = topics
        return self._engine

    async def _load_embedder(self) -> Embedder | None:
        # The model (engine.model) is loaded once; a topic change rebuilds the engine, not the model.
        if not self._embedder_loaded:
            self._embedder = await asyncio.to_thread(load_embedder, self._model)
            self._embedder_loaded = True
        return self._embedder

    async def run(self) -> IngestResult | None:
        now = self.clock.now()
        if not await acquire_job_lease(
            self.store, POLL_LEASE, owner=self.owner, now=now, lease_s=self.lease_s
        ):
            return None
        started = time.perf_counter()
        report = await poll_due(
            self.store,
            self.fetcher,
            clock=self.clock,
            settings=self.settings,
            owner=self.owner,
            lease_s=self.lease_s,
        )
        if not report.polls:
            return None
        for poll in report.polls:
            self.metrics.source_polled(poll.status, poll.error)
        self.metrics.articles_stored(report.new)
        engine = await self._current_engine()
        result = await ingest_to_outbox(
            self.store, engine, report, now=self.clock.now(), metrics=self.metrics
        )
        self.metrics.poll_pass_finished(time.perf_counter() - started)
        log.info(
            "poll sources=%d new=%d folded=%d errors=%d events=%d alerts=%d",
            len(report.polls),
            report.new,
            report.folded,
            report.errors,
            result.events,
            result.fanout.alerts,
        )
        if result.fanout.alerts:
            self.on_alerts()
        return result
