"""One engine partition in this process: its engine, valid for one generation of the partition's lease.

The engine stage of the pipeline. The partition reads the engine inbox after its mark, one poll pass
(`batch_at`) at a time, decides each pass as one batch, and writes the development and story rows,
the alerts, the journal entry and the new mark in one transaction that first checks the lease's
generation (partitions.fence). Any failure to write leaves the engine unusable: it is dropped and the
next run rebuilds it from the store, so memory never runs ahead of what was recorded.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.metrics import NO_METRICS, Metrics
from bot.models import Topic
from bot.pipeline.fanout import FanoutReport, enqueue_alerts
from bot.store.articles import get_articles
from bot.store.db import Store
from bot.store.engine_inbox import InboxItem, pending
from bot.store.engine_journal import append_journal, highest_ids, load_state, write_snapshot
from bot.store.partitions import fence, inbox_mark, partition_of
from bot.store.state import get_engine_state
from bot.stories.embedding import Embedder
from bot.stories.engine import StoryEngine
from bot.stories.engine_config import EngineConfig
from bot.stories.partition_state import StateTracker, adopt_legacy, restore
from bot.stories.persist import STATE_KEY, record
from bot.stories.state import load_engine

log = logging.getLogger("storywatch.engine")
# Inbox rows read at once; a poll pass larger than this is decided in several batches.
READ_LIMIT = 5000


@dataclass(frozen=True, slots=True)
class BatchResult:
    partition: int
    articles: int
    events: int
    developments: int
    fanout: FanoutReport


def partition_topics(topics: Sequence[Topic], partition: int, count: int) -> tuple[Topic, ...]:
    return tuple(t for t in topics if partition_of(t.id, count) == partition)


def batches(items: Sequence[InboxItem], now: datetime, *, complete: bool) -> list[list[InboxItem]]:
    """The rows to decide now, in inbox order, one batch per run of rows from the same poll pass.

    Only rows stamped before `now` count (a pass stamped now may still be writing), and reading stops at
    the first later one, so the mark, which moves to each batch's last row, never passes a row left
    behind. When the read was cut by its limit (`complete` false) the last run may continue beyond it:
    it waits for the next read, unless it is all there is.
    """
    runs: list[list[InboxItem]] = []
    for item in items:
        if item.batch_at >= now:
            complete = True
            break
        if runs and runs[-1][0].batch_at == item.batch_at:
            runs[-1].append(item)
        else:
            runs.append([item])
    if not complete and len(runs) > 1:
        runs.pop()
    return runs


class PartitionEngine:
    """A partition's engine and state tracker, as of `generation` of its lease."""

    def __init__(
        self,
        store: Store,
        partition: int,
        count: int,
        generation: int,
        topics: tuple[Topic, ...],
        engine: StoryEngine,
        tracker: StateTracker,
        *,
        seq: int,
        mark: tuple[int, int],
        snapshot_bytes: int,
        journal_bytes: int,
        lease_s: float = 300.0,
    ) -> None:
        self.store, self.partition, self.count, self.generation = store, partition, count, generation
        self.topics = topics
        self.engine, self.tracker = engine, tracker
        self.seq, self.mark = seq, mark
        self.snapshot_bytes, self.journal_bytes = snapshot_bytes, journal_bytes
        self.lease_s = lease_s
        self.usable = True

    async def run(self, *, now: datetime, metrics: Metrics = NO_METRICS) -> list[BatchResult]:
        """Decide what the inbox holds for this partition now; one fenced transaction per poll pass."""
        items = await pending(self.store, self.mark, limit=READ_LIMIT)
        results = []
        for group in batches(items, now, complete=len(items) < READ_LIMIT):
            results.append(await self._decide(group, now=now, metrics=metrics))
        if self.journal_bytes > max(self.snapshot_bytes, 1 << 20):
            await self._compact(now=now)
        return results

    async def _decide(self, group: list[InboxItem], *, now: datetime, metrics: Metrics) -> BatchResult:
        if not self.topics:
            # A partition no topic hashes to has nothing to decide (an engine without topics would put
            # every article in one implicit topic): it only moves its mark.
            async with self.store.write() as conn:
                await fence(
                    conn,
                    self.partition,
                    self.generation,
                    now=now,
                    inbox_mark=group[-1].mark,
                    lease_s=self.lease_s,
                )
            self.mark = group[-1].mark
            return BatchResult(self.partition, 0, 0, 0, FanoutReport())
        found = await get_articles(self.store, [item.article_id for item in group])
        # An order that does not depend on which worker stored which article first.
        articles = sorted(found, key=lambda a: (a.published, a.url, a.id or 0))
        announce = {item.article_id for item in group if item.announce}
        self.usable = False
        with metrics.engine_batch(len(articles)):
            decisions = await asyncio.to_thread(self.engine.process_batch, articles) if articles else []
        delta = await asyncio.to_thread(self.tracker.delta, self.engine)
        events = [
            event
            for article, decision in zip(articles, decisions, strict=True)
            if article.id in announce
            for event in decision.events
        ]
        mark = group[-1].mark
        async with self.store.write() as conn:
            await fence(conn, self.partition, self.generation, now=now, inbox_mark=mark, lease_s=self.lease_s)
            await record(conn, self.engine, articles, decisions, None, now=now)
            fanout = await enqueue_alerts(conn, events, now=now)
            await append_journal(conn, self.partition, self.seq + 1, delta, now=now)
        self.seq += 1
        self.journal_bytes += len(delta)
        self.mark = mark
        self.usable = True
        created = sum(a.new_development for d in decisions for a in d.assignments)
        metrics.developments_created(created)
        metrics.alerts_queued(fanout.queued)
        return BatchResult(self.partition, len(articles), len(events), created, fanout)

    async def _compact(self, *, now: datetime) -> None:
        """Fold the journal into a new snapshot (off the batch's path: after its transaction)."""
        self.usable = False
        data = await asyncio.to_thread(self.tracker.snapshot, self.engine)
        async with self.store.write() as conn:
            await fence(conn, self.partition, self.generation, now=now)
            await write_snapshot(conn, self.partition, self.seq, data, now=now)
        self.snapshot_bytes, self.journal_bytes = len(data), 0
        self.usable = True


async def open_partition(
    store: Store,
    partition: int,
    count: int,
    generation: int,
    topics: Sequence[Topic],
    *,
    config: EngineConfig | None = None,
    embedder: Embedder | None = None,
    now: datetime,
    lease_s: float = 300.0,
) -> PartitionEngine:
    """The partition's engine as the store has it, for a lease of `generation` (already acquired)."""
    mine = partition_topics(topics, partition, count)
    stored = await load_state(store, partition)
    mark = await inbox_mark(store, partition)
    legacy = None
    if stored.snapshot is None and not stored.journal and count == 1:
        # Earlier versions kept one engine as one blob: it becomes the only partition's first snapshot.
        legacy = await get_engine_state(store, STATE_KEY)
    if legacy is not None:
        engine = adopt_legacy(await asyncio.to_thread(load_engine, legacy, mine, config, embedder))
        tracker = StateTracker()
    else:
        engine, tracker = await asyncio.to_thread(
            restore,
            stored.snapshot,
            stored.journal,
            mine,
            config,
            embedder,
            partition=partition,
            count=count,
        )
        if stored.snapshot is None and not stored.journal:
            # A fresh engine numbers above every stored development and story (an engine started over).
            above = await highest_ids(store)
            engine.next_development_id = _next_in_stride(above[0], partition, count)
            engine.next_story_id = _next_in_stride(above[1], partition, count)
    opened = PartitionEngine(
        store,
        partition,
        count,
        generation,
        mine,
        engine,
        tracker,
        seq=stored.last_seq,
        mark=mark,
        snapshot_bytes=len(stored.snapshot or b""),
        journal_bytes=stored.journal_bytes,
        lease_s=lease_s,
    )
    if stored.snapshot is None:
        # A first snapshot at once: later journal entries then always have a base to apply to.
        await opened._compact(now=now)
    log.info(
        "engine partition=%d generation=%d loaded topics=%d developments=%d journal=%d",
        partition,
        generation,
        len(mine),
        len(engine.developments),
        len(stored.journal),
    )
    return opened


def _next_in_stride(above: int, partition: int, count: int) -> int:
    """The smallest id above `above` that partition `partition` of `count` may use (p + 1 + k * count)."""
    start = partition + 1
    return start if above < start else start + ((above - start) // count + 1) * count
