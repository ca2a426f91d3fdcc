"""The metrics port (bot/metrics.py) counted with prometheus-client, in a registry of this process's own.

Counters and histograms move as the poll pass, the engine and delivery report to the port; the store's
gauges (outbox depth and age, sources by health) are read at scrape time by the ops server and handed
to `scraped()`, so a scrape that could not read the store shows `storywatch_store_up 0` and no stale
figures.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector

from bot.ingest.errors import POLL_ERROR_KINDS
from bot.metrics import DeliveryFailure
from bot.store.health import StoreFigures

POLL_STATUSES = ("stored", "not_modified", "error")
# Queue to platform: seconds in a healthy bot, hours behind a rate limit or an outage.
LATENCY_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900, 3600, 4 * 3600)
ENGINE_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)
POLL_PASS_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)


class _ScrapeGauges(Collector):
    """What the ops server read for this scrape: the store's figures, whether store and scheduler are up."""

    def __init__(self) -> None:
        self.figures: StoreFigures | None = None
        self.store_up = False
        self.scheduler_up = False

    def collect(self) -> Iterable[Metric]:
        yield GaugeMetricFamily(
            "storywatch_store_up", "1 when this scrape could read the store, else 0", value=self.store_up
        )
        yield GaugeMetricFamily(
            "storywatch_scheduler_up",
            "1 when every scheduled job showed a sign of life within its interval, else 0",
            value=self.scheduler_up,
        )
        figures = self.figures
        if figures is None:
            return
        gauges = (
            ("storywatch_outbox_pending", "Messages waiting to be sent", figures.outbox_pending),
            (
                "storywatch_outbox_retrying",
                "Pending messages a platform refused at least once (waiting for a retry)",
                figures.outbox_retrying,
            ),
            (
                "storywatch_outbox_dead",
                "Messages given up (kept until the outbox retention)",
                figures.outbox_dead,
            ),
        )
        for name, documentation, value in gauges:
            yield GaugeMetricFamily(name, documentation, value=value)
        age = figures.oldest_pending_age
        yield GaugeMetricFamily(
            "storywatch_outbox_oldest_pending_age_seconds",
            "Age of the oldest message not yet sent (0 when none is waiting)",
            value=age.total_seconds() if age is not None else 0.0,
        )
        sources = GaugeMetricFamily("storywatch_sources", "Sources by health", labels=["state"])
        for state, count in figures.sources.items():
            sources.add_metric([state], count)
        yield sources


class PrometheusMetrics:
    """Implements bot.metrics.Metrics; `render(accept)` is the exposition a scrape returns."""

    def __init__(self) -> None:
        registry = self.registry = CollectorRegistry()
        self._polls = Counter("storywatch_polls", "Sources polled, by outcome", ["status"], registry=registry)
        self._fetch_errors = Counter(
            "storywatch_fetch_errors", "Failed polls, by kind of error", ["reason"], registry=registry
        )
        self._articles = Counter("storywatch_articles_stored", "New articles stored", registry=registry)
        self._developments = Counter(
            "storywatch_developments_created", "Developments the engine started", registry=registry
        )
        self._alerts = Counter(
            "storywatch_alerts_queued", "Alert messages queued in the outbox", registry=registry
        )
        self._sent = Counter(
            "storywatch_messages_sent",
            "Messages the platform accepted",
            ["kind", "platform"],
            registry=registry,
        )
        self._failed = Counter(
            "storywatch_messages_failed",
            "Messages a platform refused: to retry later, or given up (dead)",
            ["kind", "platform", "outcome"],
            registry=registry,
        )
        self._latency = Histogram(
            "storywatch_delivery_latency_seconds",
            "From a message being queued to the platform accepting its last part",
            ["kind", "platform"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self._engine = Histogram(
            "storywatch_engine_batch_seconds",
            "Time the story engine took over one batch of new articles",
            buckets=ENGINE_BUCKETS,
            registry=registry,
        )
        self._poll_pass = Histogram(
            "storywatch_poll_pass_seconds",
            "Time of a poll pass that polled sources (fetch, store, engine, fan-out)",
            buckets=POLL_PASS_BUCKETS,
            registry=registry,
        )
        for status in POLL_STATUSES:
            self._polls.labels(status)
        for kind in POLL_ERROR_KINDS:
            self._fetch_errors.labels(kind)
        self._scrape = _ScrapeGauges()
        registry.register(self._scrape)

    def source_polled(self, status: str, error_kind: str | None) -> None:
        self._polls.labels(status).inc()
        if status == "error":
            self._fetch_errors.labels(error_kind or "internal").inc()

    def poll_pass_finished(self, seconds: float) -> None:
        self._poll_pass.observe(seconds)

    def articles_stored(self, count: int) -> None:
        self._articles.inc(count)

    def developments_created(self, count: int) -> None:
        self._developments.inc(count)

    def alerts_queued(self, count: int) -> None:
        self._alerts.inc(count)

    def engine_batch(self, articles: int) -> AbstractContextManager[None]:
        return self._timed(self._engine)

    def message_sent(self, kind: str, platform: str, latency_s: float | None) -> None:
        self._sent.labels(kind, platform).inc()
        if latency_s is not None:
            self._latency.labels(kind, platform).observe(max(latency_s, 0.0))

    def message_failed(self, kind: str, platform: str, outcome: DeliveryFailure) -> None:
        self._failed.labels(kind, platform, outcome).inc()

    def scraped(self, figures: StoreFigures | None, *, scheduler_up: bool) -> None:
        """What the ops server read for this scrape; `figures` is None when the store did not answer."""
        self._scrape.figures = figures
        self._scrape.store_up = figures is not None
        self._scrape.scheduler_up = scheduler_up

    def render(self, accept: str = "") -> tuple[bytes, str]:
        """The exposition in the format the scraper asked for (Accept header), and its content type."""
        encode, content_type = choose_encoder(accept)
        return encode(self.registry), content_type

    @staticmethod
    @contextlib.contextmanager
    def _timed(histogram: Histogram) -> Iterator[None]:
        started = time.perf_counter()
        yield
        histogram.observe(time.perf_counter() - started)
