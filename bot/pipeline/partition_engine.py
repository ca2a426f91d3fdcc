"""One engine partition in this process: its engine, valid for one generation of the partition's lease.

The engine stage of the pipeline. The partition reads the engine inbox after its mark, one poll pass
(`batch_at`) at a time, decides each pass as one batch, and writes the development and story rows,
the alerts, the journal entry and the new mark in one transaction that first checks the lease's
generation (partitions.fence). Any failure to write leaves the engine unusable: it is dropped and the
next run rebuilds it from the store, so memory never runs ahead of what was recorded.

The engine's state is saved every SAVE_EVERY batches (what changed since the last save); the batches
between journal their article ids and a digest of their decisions, which costs next to nothing. Loading
a partition decides those batches again without writing (replay.py), then saves the state.
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
from bot.pipeline.replay import decision_digest, decision_order, replay_unsaved
from bot.store.articles import get_articles
from bot.store.db import Store
from bot.store.engine_inbox import InboxItem, pending
from bot.store.engine_journal import StoredState, append_journal, highest_ids, load_state, write_snapshot
from bot.store.partitions import fence, inbox_mark, partition_of
from bot.store.state import get_engine_state
from bot.stories.embedding import Embedder
from bot.stories.engine import StoryEngine
from bot.stories.engine_config import EngineConfig
from bot.stories.partition_state import StateTracker, adopt_legacy, batch_entry, restore
from bot.stories.persist import STATE_KEY, record
from bot.stories.state import load_engine

log = logging.getLogger("storywatch.engine")
# Inbox rows read at once; a poll pass larger than this is decided in several batches.
READ_LIMIT = 5000
# The state is saved after this many batches; a takeover decides at most this many - 1 again.
SAVE_EVERY = 8


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
        save_every: int = SAVE_EVERY,
    ) -> None:
        self.store, self.partition, self.count, self.generation = store, partition, count, generation
        self.topics = topics
        self.engine, self.tracker = engine, tracker
        self.seq, self.mark = seq, mark
        self.snapshot_bytes, self.journal_bytes = snapshot_bytes, journal_bytes
        self.lease_s = lease_s
        self.save_every = save_every
        # Batches decided (or decided again) since the state was last saved.
        self.unsaved = len(tracker.unsaved)
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
        articles = decision_order(await get_articles(self.store, [item.article_id for item in group]))
        announce = {item.article_id for item in group if item.announce}
        self.usable = False
        with metrics.engine_batch(len(articles)):
            decisions = await asyncio.to_thread(self.engine.process_batch, articles) if articles else []
        self.tracker.note(self.engine)
        save = self.unsaved + 1 >= self.save_every
        if save:
            entry = await asyncio.to_thread(self.tracker.delta, self.engine)
        else:
            entry = batch_entry(
                [a.id for a in articles if a.id is not None], decision_digest(decisions, self.engine)
            )
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
            await append_journal(conn, self.partition, self.seq + 1, entry, now=now)
        self.seq += 1
        self.journal_bytes += len(entry)
        self.unsaved = 0 if save else self.unsaved + 1
        self.mark = mark
        self.usable = True
        created = sum(a.new_development for d in decisions for a in d.assignments)
        metrics.developments_created(created)
        metrics.alerts_queued(fanout.queued)
        return BatchResult(self.partition, len(articles), len(events), created, fanout)

    async def save(self, *, now: datetime) -> None:
        """Save what changed since the last save, if any batch is unsaved (fenced, in its own transaction)."""
        if not self.unsaved or not self.usable:
            return
        self.usable = False
        entry = await asyncio.to_thread(self.tracker.delta, self.engine)
        async with self.store.write() as conn:
            await fence(conn, self.partition, self.generation, now=now)
            await append_journal(conn, self.partition, self.seq + 1, entry, now=now)
        self.seq += 1
        self.journal_bytes += len(entry)
        self.unsaved = 0
        self.usable = True

    async def _compact(self, *, now: datetime) -> None:
        """Fold the journal into a new snapshot (off the batch's path: after its transaction)."""
        self.usable = False
        data = await asyncio.to_thread(self.tracker.snapshot, self.engine)
        async with self.store.write() as conn:
            await fence(conn, self.partition, self.generation, now=now)
            await write_snapshot(conn, self.partition, self.seq, data, now=now)
        self.snapshot_bytes, self.journal_bytes = len(data), 0
        self.unsaved = 0
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
    """The partition's engine as the store has it, for a lease of `generation` (already acquired).

    Batches decided after the last state saved are decided again (with the topics of then), and the
    state saved; an engine whose topics changed since is then loaded again with the current ones.
    """
    mine = partition_topics(topics, partition, count)
    stored = await load_state(store, partition)
    mark = await inbox_mark(store, partition)
    engine, tracker = await _load(store, stored, mine, config, embedder, partition, count)
    if tracker.unsaved and not await replay_unsaved(store, engine, tracker, partition):
        # Decided differently: decide again numbering above every stored row, so that no id the first
        # decisions wrote is given to another development or story.
        engine, tracker = await _restore(store, stored, mine, config, embedder, partition, count)
        await _number_above_stored(store, engine, partition, count)
        await replay_unsaved(store, engine, tracker, partition, check=False)
    opened = PartitionEngine(
        store,
        partition,
        count,
        generation,
        tuple(tracker.decided_with),
        engine,
        tracker,
        seq=stored.last_seq,
        mark=mark,
        snapshot_bytes=len(stored.snapshot or b""),
        journal_bytes=stored.journal_bytes,
        lease_s=lease_s,
    )
    # Saved at once, so a batch is decided again at most once per save.
    await opened.save(now=now)
    if stored.snapshot is None:
        # A first snapshot at once: later journal entries then always have a base to apply to.
        await opened._compact(now=now)
    log.info(
        "engine partition=%d generation=%d loaded topics=%d developments=%d journal=%d replayed=%d",
        partition,
        generation,
        len(opened.topics),
        len(engine.developments),
        len(stored.journal),
        len(tracker.unsaved),
    )
    if opened.topics != mine:
        # Topics changed since those batches were decided: the state saved, the current topics take over.
        return await open_partition(
            store,
            partition,
            count,
            generation,
            topics,
            config=config,
            embedder=embedder,
            now=now,
            lease_s=lease_s,
        )
    return opened


async def _load(
    store: Store,
    stored: StoredState,
    mine: tuple[Topic, ...],
    config: EngineConfig | None,
    embedder: Embedder | None,
    partition: int,
    count: int,
) -> tuple[StoryEngine, StateTracker]:
    legacy = None
    if stored.snapshot is None and not stored.journal and count == 1:
        # Earlier versions kept one engine as one blob: it becomes the only partition's first snapshot.
        legacy = await get_engine_state(store, STATE_KEY)
    if legacy is not None:
        engine = adopt_legacy(await asyncio.to_thread(load_engine, legacy, mine, config, embedder))
        tracker = StateTracker()
        tracker.decided_with = mine
        return engine, tracker
    engine, tracker = await _restore(store, stored, mine, config, embedder, partition, count)
    if stored.snapshot is None and not stored.journal:
        # A fresh engine numbers above every stored development and story (an engine started over).
        await _number_above_stored(store, engine, partition, count)
    return engine, tracker


async def _restore(
    store: Store,
    stored: StoredState,
    topics: tuple[Topic, ...],
    config: EngineConfig | None,
    embedder: Embedder | None,
    partition: int,
    count: int,
) -> tuple[StoryEngine, StateTracker]:
    return await asyncio.to_thread(
        restore,
        stored.snapshot,
        stored.journal,
        topics,
        config,
        embedder,
        partition=partition,
        count=count,
    )


async def _number_above_stored(store: Store, engine: StoryEngine, partition: int, count: int) -> None:
    above = await highest_ids(store)
    engine.next_development_id = max(engine.next_development_id, _next_in_stride(above[0], partition, count))
    engine.next_story_id = max(engine.next_story_id, _next_in_stride(above[1], partition, count))


def _next_in_stride(above: int, partition: int, count: int) -> int:
    """The smallest id above `above` that partition `partition` of `count` may use (p + 1 + k * count)."""
    start = partition + 1
    return start if above < start else start + ((above - start) // count + 1) * count
