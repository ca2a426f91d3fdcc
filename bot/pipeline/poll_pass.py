"""One poll pass, as the poll job, the demo and `storywatch poll --once` all run it.

Due sources are claimed, fetched, parsed and stored (bot.pipeline.polling), their new articles queued
for the engine stage; the pass is counted for the metrics and logged in one line.
"""

from __future__ import annotations

import logging
import time

from bot.clock import Clock
from bot.config import IngestSettings
from bot.ingest.fetch import Fetcher
from bot.ingest.pool import ParsePool
from bot.metrics import NO_METRICS, Metrics
from bot.pipeline.polling import PollReport, poll_due
from bot.store.db import Store

log = logging.getLogger("storywatch.poll")


async def poll_pass(
    store: Store,
    fetcher: Fetcher,
    *,
    clock: Clock,
    settings: IngestSettings,
    owner: str,
    lease_s: float = 300.0,
    parser: ParsePool | None = None,
    metrics: Metrics = NO_METRICS,
) -> PollReport:
    """Poll the sources due now (under leases held by `owner`); a pass that found none reports no polls."""
    # A duration for the metrics, not a time of day: the injected clock may be a replay's.
    started = time.perf_counter()
    report = await poll_due(
        store, fetcher, clock=clock, settings=settings, owner=owner, lease_s=lease_s, parser=parser
    )
    if not report.polls:
        return report
    for poll in report.polls:
        metrics.source_polled(poll.status, poll.error_kind)
    metrics.articles_stored(report.new)
    metrics.poll_pass_finished(time.perf_counter() - started)
    log.info(
        "poll sources=%d new=%d folded=%d errors=%d",
        len(report.polls),
        report.new,
        report.folded,
        report.errors,
    )
    return report
