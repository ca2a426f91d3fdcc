"""The APScheduler wiring: an AsyncIOScheduler that only triggers; the jobs ask the tables what is due.

Jobs live in the scheduler's memory store on purpose: nothing about what was done is kept there (a
3.x job store shared between processes is unsupported, and its next_run_time is updated before a run
finishes). Every trigger just looks at the database: due sources, due outbox rows, due digest
periods. `start_jobs` also runs delivery and the digest catch-up at once, for what was missed while down.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.chat import ChatAdapter
from bot.clock import Clock, SystemClock
from bot.config import ROLES, Role, Settings
from bot.ingest.fetch import Fetcher
from bot.metrics import NO_METRICS, Metrics
from bot.models import Platform
from bot.operations.workers import release_dead_leases, worker_id
from bot.store.db import Store
from bot.store.partitions import ensure_partitions, forget_worker, register_worker
from jobs.delivery import Deliverer, DeliverySettings
from jobs.digests import run_due_digests
from jobs.engine import EngineJob
from jobs.liveness import Liveness
from jobs.maintenance import MaintenanceSettings, run_maintenance
from jobs.poll import PollJob

log = logging.getLogger("storywatch.jobs")
# APScheduler's triggers run on the system's clock, whatever clock the jobs are given.
TRIGGER_CLOCK: Clock = SystemClock()
# Less than the runtime's own bound, so jobs stop in order rather than being cut off from outside.
DRAIN_TIMEOUT_S = 25.0


@dataclass(frozen=True, slots=True)
class JobSettings:
    # How often each job wakes up; what it then does is decided by the tables.
    poll_every_s: float = 5.0
    engine_every_s: float = 2.0
    deliver_every_s: float = 1.0
    # How often a worker says it is alive (the live engine workers share the partitions).
    heartbeat_every_s: float = 5.0
    digest_every_s: float = 15.0
    maintenance_every_h: float = 24.0
    maintenance_first_after_s: float = 600.0
    # The longest a maintenance run may take (VACUUM of a large database) before it counts as stuck.
    maintenance_may_run_s: float = 4 * 3600.0
    delivery: DeliverySettings = field(default_factory=DeliverySettings)
    maintenance: MaintenanceSettings = field(default_factory=MaintenanceSettings)


class Jobs:
    """The running jobs of this process. `nudge_delivery()` after queueing; `await stop()` at the end."""

    def __init__(
        self,
        scheduler: AsyncIOScheduler,
        deliverer: Deliverer | None,
        poll: PollJob | None,
        liveness: Liveness | None = None,
        *,
        store: Store | None = None,
        owner: str = "",
    ) -> None:
        self.scheduler = scheduler
        self.deliverer = deliverer
        self.poll = poll
        self.engine: EngineJob | None = None
        self._store = store
        self._owner = owner
        self.liveness = liveness or Liveness()
        self._running: set[asyncio.Task[Any]] = set()
        self._stopped = False

    def guarded(self, name: str, job: Callable[[], Awaitable[object]]) -> Callable[[], Awaitable[None]]:
        """The job as the scheduler runs it: tracked (so stop() can wait for it) and never raising."""

        async def run() -> None:
            if self._stopped:
                return
            task = asyncio.current_task()
            if task is not None:
                self._running.add(task)
            self.liveness.started(name)
            try:
                await job()
            except Exception as exc:
                self.liveness.failed(name, type(exc).__name__)
                log.exception("job=%s status=error", name)
            else:
                self.liveness.succeeded(name)
            finally:
                self.liveness.finished(name)
                if task is not None:
                    self._running.discard(task)

        return run

    def nudge_delivery(self) -> None:
        """Deliver now rather than at the next tick (new rows are in the outbox)."""
        if self._stopped or self.deliverer is None:
            return
        self.deliverer.nudge()
        job = self.scheduler.get_job("deliver")
        if job is not None and not self.deliverer.draining:
            job.modify(next_run_time=_trigger_time())

    async def stop(self, *, drain: bool = True, timeout_s: float = DRAIN_TIMEOUT_S) -> None:
        """Stop triggering; with `drain`, let running jobs finish their pass (at most `timeout_s`).

        APScheduler's shutdown cancels the coroutine jobs it is running, so it comes last: first
        no new runs (pause), then delivery stops claiming and finishes the sends in flight (recording
        them), the other jobs finish their pass, and only then does the scheduler shut down.
        """
        if self._stopped:
            return
        self._stopped = True
        self.liveness.scheduler_stopped()
        if self.scheduler.running:
            self.scheduler.pause()
        # A run triggered just before the pause starts now, sees _stopped and returns.
        await asyncio.sleep(0)
        running = [task for task in self._running if not task.done()]
        deliverer = self.deliverer
        if not drain:
            if deliverer is not None:
                deliverer.abort()
            for task in running:
                task.cancel()
        try:
            async with asyncio.timeout(timeout_s if drain else None):
                if deliverer is not None:
                    await deliverer.stop(drain=drain)
                if running:
                    await asyncio.wait(running)
        except TimeoutError:
            log.warning("jobs status=drain_timeout after_s=%.0f running=%d", timeout_s, len(running))
            if deliverer is not None:
                deliverer.abort()
            for task in running:
                task.cancel()
        if running:
            await asyncio.gather(*running, return_exceptions=True)
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        await self._leave()
        log.info("jobs status=stopped drained=%s", drain)

    async def _leave(self) -> None:
        """Give back the engine partitions and leave the registry, so other workers take over at once."""
        if self._store is None:
            return
        try:
            if self.engine is not None:
                await self.engine.stop()
            await forget_worker(self._store, self._owner)
        except Exception:
            log.exception("jobs status=leave_failed: leases expire on their own")


async def start_jobs(
    store: Store,
    adapters: Mapping[Platform, ChatAdapter],
    settings: Settings,
    clock: Clock,
    *,
    fetcher: Fetcher | None = None,
    job_settings: JobSettings | None = None,
    owner: str | None = None,
    metrics: Metrics = NO_METRICS,
    liveness: Liveness | None = None,
    roles: Sequence[Role] = ROLES,
) -> Jobs:
    """Start the scheduler with the jobs of this worker's roles.

    poll: the poll job (given a fetcher); engine: the engine partitions; deliver: delivery, digests and
    maintenance. Every worker says it is alive (the heartbeat). `metrics` is told what the poll pass, the
    engine and delivery do; `liveness` when each job runs.
    """
    cfg = job_settings or job_settings_from(settings)
    owner = owner or worker_id()
    liveness = liveness or Liveness()
    roles = tuple(r for r in ROLES if r in roles)
    released = await release_dead_leases(store)
    if "engine" in roles:
        # A partition count other than the stored one stops the worker here, naming the stored count.
        await ensure_partitions(store, settings.engine.partitions, now=clock.now())
    deliverer: Deliverer | None = None
    if "deliver" in roles:
        deliverer = Deliverer(
            store,
            adapters,
            clock,
            owner=owner,
            settings=cfg.delivery,
            metrics=metrics,
            heartbeat=lambda: liveness.beat("deliver"),
        )
    scheduler = AsyncIOScheduler(
        timezone=UTC,
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
    )
    jobs = Jobs(scheduler, deliverer, None, liveness, store=store, owner=owner)
    lease_s = settings.workers.lease_s
    if fetcher is not None and "poll" in roles:
        jobs.poll = PollJob(
            store, fetcher, clock, settings.ingest, owner=owner, lease_s=lease_s, metrics=metrics
        )
    if "engine" in roles:
        jobs.engine = EngineJob(
            store, clock, settings, owner=owner, on_alerts=jobs.nudge_delivery, metrics=metrics
        )
    now = await _start_heartbeat(jobs, store, clock, owner, roles, cfg)
    if deliverer is not None:
        _add_delivery_jobs(jobs, deliverer, store, clock, settings, cfg, now)
    _add_stage_jobs(jobs, cfg, lease_s, now)
    scheduler.start()
    liveness.scheduler_started()
    log.info(
        "jobs status=started owner=%s roles=%s platforms=%s poll=%s released_leases=%d",
        owner,
        ",".join(roles),
        ",".join(sorted(p.value for p in adapters)),
        jobs.poll is not None,
        released,
    )
    return jobs


async def _start_heartbeat(
    jobs: Jobs, store: Store, clock: Clock, owner: str, roles: Sequence[Role], cfg: JobSettings
) -> datetime:
    """Every worker's job: say it is alive (registered now, then every few seconds). Returns the trigger
    time the other jobs start from."""

    async def heartbeat() -> None:
        await register_worker(store, owner, roles, now=clock.now())
        # A worker of this host killed mid-work frees its leases here, before they run out.
        await release_dead_leases(store)

    await heartbeat()
    now = _trigger_time()
    jobs.scheduler.add_job(
        jobs.guarded("heartbeat", heartbeat),
        "interval",
        seconds=cfg.heartbeat_every_s,
        id="heartbeat",
        next_run_time=now + timedelta(seconds=cfg.heartbeat_every_s),
    )
    jobs.liveness.expect("heartbeat", every_s=cfg.heartbeat_every_s)
    return now


def _add_stage_jobs(jobs: Jobs, cfg: JobSettings, lease_s: float, now: datetime) -> None:
    """The poll and engine roles' jobs, for those this worker has."""
    add = jobs.scheduler.add_job
    if jobs.poll is not None:
        add(
            jobs.guarded("poll", jobs.poll.run),
            "interval",
            seconds=cfg.poll_every_s,
            id="poll",
            next_run_time=now,
        )
        # A pass may take up to its lease; past that another worker may take over its sources.
        jobs.liveness.expect("poll", every_s=cfg.poll_every_s, may_run_s=lease_s)
    if jobs.engine is not None:
        add(
            jobs.guarded("engine", jobs.engine.run),
            "interval",
            seconds=cfg.engine_every_s,
            id="engine",
            next_run_time=now,
        )
        jobs.liveness.expect("engine", every_s=cfg.engine_every_s, may_run_s=lease_s)


def _trigger_time() -> datetime:
    """Now for APScheduler's triggers, which fire on the wall clock whatever the injected clock says (a
    ManualClock's or a replay's time means nothing to them); the jobs themselves read the injected clock."""
    return TRIGGER_CLOCK.now()


def job_settings_from(settings: Settings) -> JobSettings:
    """The jobs' timings as the settings' [workers] section gives them."""
    workers = settings.workers
    return JobSettings(
        poll_every_s=workers.poll_every_s,
        engine_every_s=workers.engine_every_s,
        deliver_every_s=workers.deliver_every_s,
    )


def _add_delivery_jobs(
    jobs: Jobs,
    deliverer: Deliverer,
    store: Store,
    clock: Clock,
    settings: Settings,
    cfg: JobSettings,
    now: datetime,
) -> None:
    """Delivery, digests and maintenance: the deliver role's jobs."""

    async def digests() -> None:
        if await run_due_digests(store, clock, settings.digest):
            jobs.nudge_delivery()

    async def maintenance() -> None:
        await run_maintenance(store, clock, cfg.maintenance)

    add = jobs.scheduler.add_job
    add(
        jobs.guarded("deliver", deliverer.drain),
        "interval",
        seconds=cfg.deliver_every_s,
        id="deliver",
        next_run_time=now,
    )
    add(
        jobs.guarded("digest", digests),
        "interval",
        seconds=cfg.digest_every_s,
        id="digest",
        next_run_time=now,
    )
    add(
        jobs.guarded("maintenance", maintenance),
        "interval",
        hours=cfg.maintenance_every_h,
        id="maintenance",
        next_run_time=now + timedelta(seconds=cfg.maintenance_first_after_s),
    )
    jobs.liveness.expect("deliver", every_s=cfg.deliver_every_s)
    jobs.liveness.expect("digest", every_s=cfg.digest_every_s)
    jobs.liveness.expect(
        "maintenance",
        every_s=max(cfg.maintenance_every_h * 3600, cfg.maintenance_first_after_s),
        may_run_s=cfg.maintenance_may_run_s,
    )
