"""Fan-out: the engine's events become outbox rows, one per subscribed channel, in the engine's transaction.

An alert's idempotency key is (destination, development): the same development reaching a channel
twice (a retried poll, a restart, the development growing past a channel's `min_sources` later) is
one message. Digest-only subscriptions, paused subscriptions and muted stories get no alert.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from bot.messages import build_alert
from bot.messages.routing import routed
from bot.messages.serial import message_to_json
from bot.metrics import NO_METRICS, Metrics
from bot.models import Article, Destination, Subscription, channel_key
from bot.pipeline.polling import PollReport
from bot.presentation import development_views_by_id
from bot.store.db import Store, StoreConnection
from bot.store.outbox import NewMessage, enqueue_alerts_counted
from bot.store.subscriptions import mutes_for_stories, subscriptions_for_topic
from bot.store.topics import topic_names
from bot.stories.engine import StoryEngine
from bot.stories.events import Event
from bot.stories.persist import record
from bot.stories.state import dump_engine

log = logging.getLogger("storywatch.fanout")


@dataclass(frozen=True, slots=True)
class FanoutReport:
    developments: int = 0
    alerts: int = 0
    muted: int = 0
    below_min_sources: int = 0
    # Of `alerts`, the rows the outbox took: a key already queued (an earlier event) is skipped.
    queued: int = 0


def alert_key(destination: Destination, development_id: int) -> str:
    return f"alert:{destination.key}:{development_id}"


async def enqueue_alerts(conn: StoreConnection, events: Sequence[Event], *, now: datetime) -> FanoutReport:
    """Queue an alert per (instant subscription, development) the events make due, in `conn`'s transaction."""
    if not events:
        return FanoutReport()
    reached: dict[int, int] = {}
    topic_of: dict[int, str] = {}
    story_is_new: dict[int, bool] = {}
    for event in events:
        reached[event.development_id] = max(reached.get(event.development_id, 0), event.source_count)
        topic_of[event.development_id] = event.topic_id
        story_is_new[event.development_id] = (
            story_is_new.get(event.development_id, False) or event.story_is_new
        )
    # The engine knows whether the development started its story; the rows only suggest it.
    views = {
        dev_id: replace(view, story_is_new=story_is_new[dev_id])
        for dev_id, view in (await development_views_by_id(conn, list(reached))).items()
    }
    subscribers: dict[str, list[Subscription]] = {}
    for topic_id in sorted(set(topic_of.values())):
        subscribers[topic_id] = [s for s in await subscriptions_for_topic(conn, topic_id) if s.mode.instant]
    names = await topic_names(conn, list(subscribers))
    story_ids = {v.story_id for v in views.values() if v.story_id is not None}
    mutes = await mutes_for_stories(conn, story_ids)
    rows: list[NewMessage] = []
    built: dict[tuple[int, str, bool, bool, bool], str] = {}
    muted = below = 0
    for development_id in sorted(reached):
        view = views.get(development_id)
        if view is None:
            continue
        sources_now = max(reached[development_id], view.source_count)
        for sub in subscribers[topic_of[development_id]]:
            if view.story_id is not None and (channel_key(sub.destination), view.story_id) in mutes:
                muted += 1
                continue
            # New-story caution: a story's first development needs outlets of its own, as the channel asked.
            needed = max(sub.min_sources, sub.new_story_sources) if view.story_is_new else sub.min_sources
            if sources_now < needed:
                below += 1
                continue
            # Channels with the same options share one payload (and one split at delivery).
            shape = (development_id, sub.timezone, sub.threaded, sub.broadcast, sub.webhook)
            payload = built.get(shape)
            if payload is None:
                message = build_alert(
                    view, topic_name=names.get(view.topic_id, view.topic_id), timezone=sub.timezone
                )
                message = routed(message, sub, story_id=view.story_id, story_title=view.story_title)
                payload = built[shape] = message_to_json(message)
            rows.append(
                NewMessage(
                    idempotency_key=alert_key(sub.destination, development_id),
                    destination=sub.destination,
                    kind="alert",
                    payload=payload,
                    development_id=development_id,
                    subscription_id=sub.id,
                )
            )
    queued = await enqueue_alerts_counted(conn, rows, list(reached), now=now)
    report = FanoutReport(len(reached), len(rows), muted, below, queued)
    log.info(
        "fanout developments=%d alerts=%d queued=%d muted=%d below_min_sources=%d",
        report.developments,
        report.alerts,
        report.queued,
        report.muted,
        report.below_min_sources,
    )
    return report


@dataclass(frozen=True, slots=True)
class IngestResult:
    articles: int
    events: int
    fanout: FanoutReport


async def ingest_to_outbox(
    store: Store, engine: StoryEngine, report: PollReport, *, now: datetime, metrics: Metrics = NO_METRICS
) -> IngestResult:
    """A poll's stored articles through the engine; its rows, snapshot and alerts land in one transaction.

    Every newly stored article teaches the engine; only those the poll may announce (not a new
    source's backfill) raise alerts.
    """
    return await ingest_articles(
        store, engine, report.saved, {a.id for a in report.announce}, now=now, metrics=metrics
    )


async def ingest_articles(
    store: Store,
    engine: StoryEngine,
    saved: Sequence[Article],
    announce: set[int | None],
    *,
    now: datetime,
    metrics: Metrics = NO_METRICS,
) -> IngestResult:
    articles = sorted(saved, key=lambda a: (a.published, a.id or 0))
    if not articles:
        return IngestResult(0, 0, FanoutReport())
    # The engine is CPU work: off the event loop, and before the write lock is taken.
    with metrics.engine_batch(len(articles)):
        decisions = await asyncio.to_thread(engine.process_batch, articles)
    blob = await asyncio.to_thread(dump_engine, engine)
    events = [
        event
        for article, decision in zip(articles, decisions, strict=True)
        if article.id in announce
        for event in decision.events
    ]
    async with store.write() as conn:
        await record(conn, engine, articles, decisions, blob, now=now)
        fanout = await enqueue_alerts(conn, events, now=now)
    metrics.developments_created(sum(a.new_development for d in decisions for a in d.assignments))
    metrics.alerts_queued(fanout.queued)
    return IngestResult(len(articles), len(events), fanout)
