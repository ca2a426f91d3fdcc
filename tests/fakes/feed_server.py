"""A local feed server on 127.0.0.1 (port 0) with routes a test controls: bytes with headers,
ETag/Last-Modified with 304s, redirects and loops, gzip bombs, slow-loris trickles and failures.

    async with FeedServer() as server:
        server.add("/feed.xml", body, content_type="application/rss+xml", etag='"v1"')
        url = server.url("/feed.xml")

Reusable by ingest tests, pipeline tests and benchmarks; it never listens beyond loopback.
"""

from __future__ import annotations

import asyncio
import zlib
from dataclasses import dataclass, field
from types import TracebackType
from typing import Self

from aiohttp import web


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    etag: str | None = None
    last_modified: str | None = None
    # Trickle the body `chunk` bytes at a time, `interval` seconds apart (a slow-loris server).
    chunk: int = 0
    interval: float = 0.0
    declare_length: bool = True


@dataclass(frozen=True)
class SeenRequest:
    method: str
    path: str
    headers: dict[str, str]


class FeedServer:
    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = 0
        self.routes: dict[str, Route] = {}
        self.requests: list[SeenRequest] = []
        # Requests being served right now, and the most at once: for concurrency-limit tests.
        self.active = 0
        self.peak_active = 0
        self._runner: web.AppRunner | None = None

    async def __aenter__(self) -> Self:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, 0)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def url(self, path: str = "/") -> str:
        return f"http://{self.host}:{self.port}{path}"

    def add(
        self,
        path: str,
        body: bytes | str = b"",
        *,
        status: int = 200,
        content_type: str = "application/rss+xml; charset=utf-8",
        headers: dict[str, str] | None = None,
        etag: str | None = None,
        last_modified: str | None = None,
    ) -> Route:
        data = body.encode("utf-8") if isinstance(body, str) else body
        route = Route(data, status, {"Content-Type": content_type, **(headers or {})}, etag, last_modified)
        self.routes[path] = route
        return route

    def redirect(self, path: str, to: str, status: int = 301) -> Route:
        location = to if "://" in to else self.url(to)
        route = Route(b"", status, {"Location": location})
        self.routes[path] = route
        return route

    def fail(self, path: str, status: int = 500, body: bytes = b"server error") -> Route:
        return self.add(path, body, status=status, content_type="text/plain")

    def gzip_bomb(self, path: str, inflated_bytes: int = 200_000_000) -> Route:
        """A small gzip body that inflates to `inflated_bytes` of zeros, declared Content-Encoding: gzip."""
        compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
        block = bytes(1 << 20)
        parts = [compressor.compress(block) for _ in range(inflated_bytes >> 20)]
        parts.append(compressor.compress(bytes(inflated_bytes & ((1 << 20) - 1))))
        parts.append(compressor.flush())
        return self.add(path, b"".join(parts), headers={"Content-Encoding": "gzip"})

    def slow(
        self, path: str, body: bytes, *, chunk: int = 1, interval: float = 0.1, declare_length: bool = True
    ) -> Route:
        """Send `body` in `chunk`-byte writes `interval` s apart; chunked encoding without a length."""
        route = self.add(path, body)
        route.chunk, route.interval, route.declare_length = chunk, interval, declare_length
        return route

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(SeenRequest(request.method, request.path, dict(request.headers)))
        self.active += 1
        self.peak_active = max(self.peak_active, self.active)
        try:
            return await self._respond(request)
        finally:
            self.active -= 1

    async def _respond(self, request: web.Request) -> web.StreamResponse:
        route = self.routes.get(request.path)
        if route is None:
            return web.Response(status=404, text="not found")
        validators = {}
        if route.etag:
            validators["ETag"] = route.etag
        if route.last_modified:
            validators["Last-Modified"] = route.last_modified
        matched_etag = route.etag is not None and request.headers.get("If-None-Match") == route.etag
        matched_date = route.last_modified is not None and (
            request.headers.get("If-Modified-Since") == route.last_modified
        )
        if matched_etag or (matched_date and "If-None-Match" not in request.headers):
            return web.Response(status=304, headers=validators)
        headers = {**route.headers, **validators}
        if not route.chunk:
            return web.Response(status=route.status, body=route.body, headers=headers)
        response = web.StreamResponse(status=route.status, headers=headers)
        if route.declare_length:
            response.content_length = len(route.body)
        await response.prepare(request)
        try:
            for start in range(0, len(route.body), route.chunk):
                await response.write(route.body[start : start + route.chunk])
                await asyncio.sleep(route.interval)
            await response.write_eof()
        except ConnectionError:
            pass  # the client gave up (timeouts, caps): that is what these routes are for
        return response
