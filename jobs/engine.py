"""The engine job: hold this worker's share of the engine partitions and decide what their inbox holds.

Each run renews the partitions this worker holds and takes free or expired ones up to its share (the
partitions split evenly among the live engine workers), gives back any above it, and runs each held
partition. An engine in memory is used only under the generation it was built for: a partition
taken over meanwhile (a lost lease, even one regained since) is rebuilt from the store.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence

from bot.clock import Clock
from bot.config import Settings
from bot.metrics import NO_METRICS, Metrics
from bot.models import Topic
from bot.pipeline.partition_engine import BatchResult, PartitionEngine, open_partition, partition_topics
from bot.store.db import Store
from bot.store.engine_inbox import trim_inbox
from bot.store.partitions import (
    FencedOut,
    PartitionLease,
    acquire_partitions,
    ensure_partitions,
    fair_share,
    live_workers,
    release_partitions,
)
from bot.store.topics import list_topics
from bot.stories.embedding import Embedder, load_embedder

log = logging.getLogger("storywatch.jobs.engine")
# The inbox is trimmed behind the slowest partition every this many runs.
TRIM_EVERY = 30


class EngineJob:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        settings: Settings,
        *,
        owner: str,
        on_alerts: Callable[[], None] = lambda: None,
        metrics: Metrics = NO_METRICS,
        embedder: Embedder | None = None,
    ) -> None:
        self.store, self.clock, self.owner = store, clock, owner
        self.count = settings.engine.partitions
        self.lease_s = settings.workers.lease_s
        self._model = settings.engine.model
        self.on_alerts = on_alerts
        self.metrics = metrics
        self._embedder = embedder
        self._embedder_loaded = embedder is not None
        self._ready = False
        self._runs = 0
        self.engines: dict[int, PartitionEngine] = {}

    async def _load_embedder(self) -> Embedder | None:
        # The model is loaded once per process and shared by every partition it holds.
        if not self._embedder_loaded:
            self._embedder = await asyncio.to_thread(load_embedder, self._model)
            self._embedder_loaded = True
        return self._embedder

    async def leases(self) -> list[PartitionLease]:
        """Renew and take partitions up to this worker's share; give back what is above it."""
        now = self.clock.now()
        if not self._ready:
            await ensure_partitions(self.store, self.count, now=now)
            self._ready = True
        live = await live_workers(self.store, now=now, within_s=self.lease_s, role="engine")
        want = fair_share(self.count, [w.owner for w in live], self.owner)
        held = await acquire_partitions(
            self.store, owner=self.owner, now=now, lease_s=self.lease_s, want=want
        )
        if len(held) > want:
            surplus = [lease.partition for lease in held[want:]]
            await release_partitions(self.store, owner=self.owner, partitions=surplus)
            log.info("engine partitions=%s released (share %d of %d)", surplus, want, self.count)
            held = held[:want]
        return held

    async def run(self) -> list[BatchResult]:
        held = await self.leases()
        current = {lease.partition: lease.generation for lease in held}
        for partition, engine in list(self.engines.items()):
            # Built under another generation (taken over meanwhile), or left half-written: never reused.
            if current.get(partition) != engine.generation or not engine.usable:
                del self.engines[partition]
        topics = await list_topics(self.store)
        results: list[BatchResult] = []
        for lease in held:
            results += await self._run_partition(lease, topics)
        self._runs += 1
        if self._runs % TRIM_EVERY == 0:
            await trim_inbox(self.store)
        if any(r.fanout.queued for r in results):
            self.on_alerts()
        return results

    async def _run_partition(self, lease: PartitionLease, topics: Sequence[Topic]) -> list[BatchResult]:
        partition = lease.partition
        engine = self.engines.get(partition)
        now = self.clock.now()
        try:
            # Topics change at run time (subscribe creates them): the engine follows its partition's set.
            if engine is None or engine.topics != partition_topics(topics, partition, self.count):
                if engine is not None:
                    # Saved first: the batches decided so far are then not decided again with other topics.
                    await engine.save(now=now)
                engine = self.engines[partition] = await open_partition(
                    self.store,
                    partition,
                    self.count,
                    lease.generation,
                    topics,
                    embedder=await self._load_embedder(),
                    now=now,
                    lease_s=self.lease_s,
                )
            results = await engine.run(now=now, metrics=self.metrics)
        except FencedOut as exc:
            self.engines.pop(partition, None)
            log.warning(
                "engine partition=%d generation=%d status=fenced: another worker took the partition over; "
                "nothing was written",
                exc.partition,
                exc.generation,
            )
            return []
        except Exception:
            # One partition's failure (the database, a bug) does not stop the others; it is rebuilt next run.
            self.engines.pop(partition, None)
            log.exception("engine partition=%d generation=%d status=error", partition, lease.generation)
            return []
        for result in results:
            log.info(
                "engine partition=%d generation=%d articles=%d developments=%d events=%d alerts=%d",
                partition,
                lease.generation,
                result.articles,
                result.developments,
                result.events,
                result.fanout.queued,
            )
        return results

    async def stop(self) -> None:
        """Save the partitions' state and give them back, so other workers take them over at once."""
        for partition, engine in self.engines.items():
            try:
                await engine.save(now=self.clock.now())
            except Exception as exc:
                # The next holder decides the unsaved batches again: nothing is lost.
                log.warning("engine partition=%d status=unsaved on stop: %s", partition, exc)
        self.engines.clear()
        released = await release_partitions(self.store, owner=self.owner)
        if released:
            log.info("engine partitions released=%d", released)
