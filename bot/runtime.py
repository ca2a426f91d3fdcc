"""`storywatch run`: settings → store → adapters → jobs, until SIGTERM or SIGINT, then drain and exit 0.

Part of the composition root (with bot/cli.py): the one place besides the CLI that imports adapters/
and jobs/. Adapters get only `on_command`; the jobs get the store, the clock and the adapters to send with.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import signal
import sys
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from adapters.console import ConsoleAdapter
from bot.chat import AdapterContext, ChatAdapter
from bot.clock import Clock, SystemClock
from bot.commands import AccessPolicy, CommandRequest, CommandServices, handle
from bot.config import ROLES, ConfigError, Role, Secrets, Settings
from bot.ingest.fetch import Fetcher
from bot.metrics import NO_METRICS, Metrics
from bot.models import Message, Platform, Subscription, Topic
from bot.operations.workers import release_dead_leases, worker_id
from bot.services import StoreCommandServices, TopicsChanged, digest_request_unwired
from bot.services.config_sync import sync_config
from bot.services.digest_now import queue_digests_now
from bot.store import Store, open_store
from bot.store.ports import adapter_ports
from jobs.liveness import Liveness
from jobs.metrics import PrometheusMetrics
from jobs.ops_server import OpsServer
from jobs.scheduler import Jobs
from jobs.scheduler import start_jobs as start_scheduler

log = logging.getLogger("storywatch.runtime")

DRAIN_TIMEOUT_S = 30.0

AdapterFactory = Callable[[AdapterContext], ChatAdapter]


def _console_adapter(context: AdapterContext) -> ChatAdapter:
    return ConsoleAdapter()


def _installed(module: str, extra: str) -> AdapterFactory:
    """A factory that imports its adapter package only when the platform is enabled: the chat SDKs
    are optional extras, and a console-only install must not need them."""

    def factory(context: AdapterContext) -> ChatAdapter:
        try:
            package = importlib.import_module(module)
        except ImportError as exc:
            raise ConfigError(
                f"{extra}.enabled is set but the {extra} adapter cannot load ({exc}); "
                f"install it with: pip install 'storywatch[{extra}]'"
            ) from exc
        create: AdapterFactory = package.create_adapter
        return create(context)

    return factory


# Platform → factory; each adapter package exposes `create_adapter(context)`.
ADAPTER_FACTORIES: dict[Platform, AdapterFactory] = {
    Platform.CONSOLE: _console_adapter,
    Platform.SLACK: _installed("adapters.slack", "slack"),
    Platform.DISCORD: _installed("adapters.discord", "discord"),
}


def enabled_platforms(settings: Settings) -> list[Platform]:
    """The chat platforms the settings turn on; the console when none is."""
    switches = ((Platform.SLACK, settings.slack.enabled), (Platform.DISCORD, settings.discord.enabled))
    chosen = [platform for platform, enabled in switches if enabled]
    return chosen or [Platform.CONSOLE]


def build_adapters(
    context: AdapterContext, factories: Mapping[Platform, AdapterFactory] = ADAPTER_FACTORIES
) -> list[ChatAdapter]:
    adapters = []
    for platform in enabled_platforms(context.settings):
        factory = factories.get(platform)
        if factory is None:
            raise ConfigError(f"{platform.value}.enabled: this build has no {platform.value} adapter")
        adapters.append(factory(context))
    return adapters


@dataclass(frozen=True, slots=True)
class JobContext:
    """What the scheduled jobs get: the store, the clock, the settings and an adapter per platform; what
    they report to (metrics, and the liveness `/healthz` reads)."""

    store: Store
    clock: Clock
    settings: Settings
    adapters: Mapping[Platform, ChatAdapter]
    owner: str
    metrics: Metrics = NO_METRICS
    liveness: Liveness = field(default_factory=Liveness)
    roles: tuple[Role, ...] = ROLES


class RunningJobs(Protocol):
    async def stop(self, *, drain: bool) -> None:
        """Stop scheduling; with `drain`, let in-flight deliveries finish first."""
        ...


@dataclass
class JobHooks:
    """How the chat side reaches the jobs: filled in by the jobs wiring, defaults log and do nothing."""

    topics_changed: list[TopicsChanged] = field(default_factory=list)
    request_digest: Callable[[Sequence[Subscription]], Awaitable[None]] = digest_request_unwired


StartJobs = Callable[[JobContext, JobHooks], Awaitable[RunningJobs]]


class _SchedulerJobs:
    """The scheduler's jobs and the fetcher they poll with, which outlives no stop."""

    def __init__(self, jobs: Jobs, resources: contextlib.AsyncExitStack) -> None:
        self.jobs = jobs
        self._resources = resources

    async def stop(self, *, drain: bool) -> None:
        try:
            await self.jobs.stop(drain=drain)
        finally:
            await self._resources.aclose()


async def start_jobs(context: JobContext, hooks: JobHooks) -> RunningJobs:
    """Poll, deliver, digest and maintenance on the scheduler; `digest now` queues and nudges delivery."""
    resources = contextlib.AsyncExitStack()
    fetcher = None
    if "poll" in context.roles:
        fetcher = await resources.enter_async_context(Fetcher(context.settings.ingest, context.clock))
    try:
        jobs = await start_scheduler(
            context.store,
            context.adapters,
            context.settings,
            context.clock,
            fetcher=fetcher,
            owner=context.owner,
            metrics=context.metrics,
            liveness=context.liveness,
            roles=context.roles,
        )
    except BaseException:
        await resources.aclose()
        raise

    async def digest_now(subscriptions: Sequence[Subscription]) -> None:
        now = context.clock.now()
        if await queue_digests_now(context.store, subscriptions, now=now, settings=context.settings.digest):
            jobs.nudge_delivery()

    # The poll job reads the topics on each pass, so changed topics need no call of their own.
    hooks.request_digest = digest_now
    return _SchedulerJobs(jobs, resources)


class Runtime:
    """The running bot: start() brings it up, on_command answers, stop() drains and closes."""

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Clock | None = None,
        secrets: Secrets | None = None,
        adapters: Sequence[ChatAdapter] | None = None,
        jobs: StartJobs = start_jobs,
        drain_timeout_s: float = DRAIN_TIMEOUT_S,
        roles: Sequence[Role] = ROLES,
    ) -> None:
        self.settings = settings
        self.roles = tuple(r for r in ROLES if r in roles)
        self.clock = clock or SystemClock()
        self._secrets = secrets
        self._given_adapters = adapters
        self._start_jobs = jobs
        self._drain_timeout_s = drain_timeout_s
        self._access = AccessPolicy.from_settings(settings)
        self.hooks = JobHooks()
        self.adapters: list[ChatAdapter] = []
        self._store: Store | None = None
        self._services: StoreCommandServices | None = None
        self._jobs: RunningJobs | None = None
        self.ops_server: OpsServer | None = None
        # Commands wait for the jobs' hooks: an adapter may pass one on before start() returns.
        self._ready = asyncio.Event()

    @property
    def store(self) -> Store:
        if self._store is None:
            raise RuntimeError("the runtime is not started")
        return self._store

    @property
    def services(self) -> CommandServices:
        if self._services is None:
            raise RuntimeError("the runtime is not started")
        return self._services

    async def start(self) -> None:
        settings = self.settings
        self._store = await open_store(settings.effective_database_url)
        try:
            adapters = list(self._given_adapters) if self._given_adapters is not None else None
            if adapters is None and "deliver" not in self.roles:
                # Only delivering workers send, and they answer the chat's commands too.
                adapters = []
            if adapters is None:
                secrets = self._secrets or Secrets.from_env()
                ports = adapter_ports(self._store)
                adapters = build_adapters(AdapterContext(settings, secrets, ports, self.clock))
            synced = await sync_config(self._store, settings, now=self.clock.now())
            await release_dead_leases(self._store)
            self._services = StoreCommandServices(
                self._store,
                self.clock,
                settings,
                on_topics_changed=self._topics_changed,
                request_digest_now=self._request_digest,
            )
            for adapter in adapters:
                await adapter.start(self.on_command)
                self.adapters.append(adapter)
            metrics = PrometheusMetrics() if settings.metrics.enabled else None
            context = JobContext(
                self._store,
                self.clock,
                settings,
                {a.platform: a for a in self.adapters},
                worker_id(),
                metrics or NO_METRICS,
                Liveness(failing_s=settings.metrics.failing_s),
                self.roles,
            )
            self._jobs = await self._start_jobs(context, self.hooks)
            if metrics is not None:
                self.ops_server = OpsServer(
                    settings.metrics, self._store, self.clock, metrics, context.liveness
                )
                await self.ops_server.start()
            self._ready.set()
        except BaseException:
            await self.stop()
            raise
        log.info(
            "storywatch running: adapters %s; %d topics from config, %d sources added, %d updated",
            ", ".join(a.platform.value for a in self.adapters),
            synced.topics,
            synced.sources_added,
            synced.sources_updated,
        )

    async def on_command(self, request: CommandRequest) -> Message:
        """What every adapter calls with a command (or a button click as command text)."""
        await self._ready.wait()
        return await handle(request, self.services, access=self._access)

    async def _topics_changed(self, topics: Sequence[Topic]) -> None:
        for listener in list(self.hooks.topics_changed):
            await listener(topics)

    async def _request_digest(self, subscriptions: Sequence[Subscription]) -> None:
        await self.hooks.request_digest(subscriptions)

    async def stop(self) -> None:
        """Drain the jobs while adapters can still send, then stop the adapters and close the store."""
        ops, self.ops_server = self.ops_server, None
        if ops is not None:
            await ops.stop()
        jobs, self._jobs = self._jobs, None
        if jobs is not None:
            try:
                await asyncio.wait_for(jobs.stop(drain=True), self._drain_timeout_s)
            except TimeoutError:
                log.warning("deliveries still running after %.0f s; stopping anyway", self._drain_timeout_s)
            except Exception:
                log.exception("stopping the jobs failed")
        while self.adapters:
            adapter = self.adapters.pop()
            try:
                await adapter.stop()
            except Exception:
                log.exception("stopping the %s adapter failed", adapter.platform.value)
        store, self._store = self._store, None
        if store is not None:
            await store.close()


async def run_until_signalled(runtime: Runtime, *, stop_on_console_close: bool | None = None) -> int:
    """Start, wait for SIGTERM or SIGINT (or, at a terminal, the console's `quit`), stop; exit status."""
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    installed = []
    for signum in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stopping.set)
            installed.append(signum)
    if stop_on_console_close is None:
        # Under a service manager stdin is empty or /dev/null: its end must not stop the bot.
        stop_on_console_close = sys.stdin is not None and sys.stdin.isatty()
    try:
        await runtime.start()
        waiters: list[asyncio.Future[object]] = [asyncio.ensure_future(stopping.wait())]
        if stop_on_console_close:
            waiters += [
                asyncio.ensure_future(adapter.wait_closed())
                for adapter in runtime.adapters
                if isinstance(adapter, ConsoleAdapter)
            ]
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
        log.info("stopping: draining deliveries")
    finally:
        await runtime.stop()
        for signum in installed:
            loop.remove_signal_handler(signum)
    return 0


async def run_bot(settings: Settings, roles: Sequence[Role] = ROLES) -> int:
    """`storywatch run`: the bot with the adapters the settings enable (the console when none), doing
    the work of `roles` (all by default)."""
    return await run_until_signalled(Runtime(settings, roles=roles))
