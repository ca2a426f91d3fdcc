"""`/healthz` and `/metrics` on aiohttp's web server, inside the bot's process (`[metrics] enabled`).

`/healthz` answers 200 when the scheduler's jobs are alive and the store answers a cheap query within
`store_timeout_s`, else 503 with the reasons (JSON either way). `/metrics` is the Prometheus
exposition; it reads the store's gauges first, with the same timeout, and answers even when the store
does not (with `storywatch_store_up 0`). A client whose address is outside `allow` gets 403 for any
path; the server listens on `host` (127.0.0.1 unless configured).
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from bot.clock import Clock
from bot.config import ConfigError, MetricsSettings
from bot.store.db import Store, StoreError
from bot.store.health import StoreFigures, ping, store_figures
from jobs.liveness import Liveness
from jobs.metrics import PrometheusMetrics

log = logging.getLogger("storywatch.ops")
# A connection gets this long for a request head (aiohttp's default is an hour): slow clients hold no sockets.
IDLE_TIMEOUT_S = 30.0

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class OpsServer:
    def __init__(
        self,
        settings: MetricsSettings,
        store: Store,
        clock: Clock,
        metrics: PrometheusMetrics,
        liveness: Liveness,
    ) -> None:
        self.settings = settings
        self.store = store
        self.clock = clock
        self.metrics = metrics
        self.liveness = liveness
        self._allow: tuple[Network, ...] = tuple(
            ipaddress.ip_network(entry, strict=False) for entry in settings.allow
        )
        self._runner: web.AppRunner | None = None
        self._scrape_lock = asyncio.Lock()
        self._store_was_up = True
        self.port = 0

    async def start(self) -> None:
        app = web.Application(middlewares=[self._only_allowed])
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/metrics", self._metrics)
        runner = web.AppRunner(app, access_log=None, handle_signals=False, keepalive_timeout=IDLE_TIMEOUT_S)
        await runner.setup()
        host, port = self.settings.host, self.settings.port
        try:
            await web.TCPSite(runner, host, port).start()
        except OSError as exc:
            await runner.cleanup()
            raise ConfigError(f"metrics: cannot listen on {host}:{port} ({exc.strerror or exc})") from None
        self._runner = runner
        self.port = int(runner.addresses[0][1])
        log.info("ops server listening on %s:%d (/healthz, /metrics)", host, self.port)

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    def allowed(self, remote: str | None) -> bool:
        if not remote:
            return False
        try:
            address = ipaddress.ip_address(remote.split("%", 1)[0])
        except ValueError:
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return any(address in network for network in self._allow)

    @web.middleware
    async def _only_allowed(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        if not self.allowed(request.remote):
            return web.Response(status=403, text="forbidden\n")
        return await handler(request)

    async def _healthz(self, request: web.Request) -> web.Response:
        problems = self.liveness.problems()
        store_problem = await self._within_timeout(lambda: ping(self.store))
        if store_problem is not None:
            problems.append(f"store: {store_problem}")
        status = "ok" if not problems else "unhealthy"
        return web.json_response(
            {"status": status, "problems": problems}, status=200 if not problems else 503
        )

    async def _metrics(self, request: web.Request) -> web.Response:
        async with self._scrape_lock:
            figures = await self._read_figures()
            self.metrics.scraped(figures, scheduler_up=not self.liveness.problems())
            body, content_type = self.metrics.render(request.headers.get("Accept", ""))
        return web.Response(body=body, headers={"Content-Type": content_type})

    async def _read_figures(self) -> StoreFigures | None:
        read: list[StoreFigures] = []

        async def figures() -> None:
            await ping(self.store)
            read.append(await store_figures(self.store, self.clock.now()))

        problem = await self._within_timeout(figures)
        if (problem is None) != self._store_was_up:
            self._store_was_up = problem is None
            if problem is None:
                log.info("ops: the store answers again")
            else:
                log.warning("ops: the store does not answer: %s", problem)
        return read[0] if read else None

    async def _within_timeout(self, work: Callable[[], Awaitable[None]]) -> str | None:
        """None when `work` finished in time, else why not (one short line)."""
        timeout = self.settings.store_timeout_s
        try:
            async with asyncio.timeout(timeout):
                await work()
        except TimeoutError:
            return f"no answer within {timeout:g} s"
        except Exception as exc:
            return _short(exc)
        return None


def _short(exc: Exception) -> str:
    if isinstance(exc, StoreError):
        return str(exc)[:200]
    # SQLAlchemy wraps the driver's error and appends the SQL and a link: the driver's first line says it.
    cause = getattr(exc, "orig", None) or exc
    text = str(cause).strip().splitlines()[0] if str(cause).strip() else ""
    return f"{type(cause).__name__}: {text}"[:200] if text else type(cause).__name__
