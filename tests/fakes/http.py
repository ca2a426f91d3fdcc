"""Minimal HTTP/1.1 for the fake platform: a keep-alive client pool and a server, both over loopback.

For when the question is what delivery itself costs: aiohttp's client and server each spend about
0.3 ms of CPU a request, more than the deliverer around them, on a machine the benchmark shares.
These do only what talking to the local fake platform needs (Content-Length bodies, keep-alive,
no chunking, redirects or TLS).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

Answer = tuple[int, dict[str, str], bytes]


class HttpError(Exception):
    """The connection failed or the answer was not HTTP/1.1 as expected."""


def _parse_head(head: bytes) -> tuple[int, dict[str, str]]:
    lines = head.decode("latin-1").split("\r\n")
    version, status, *_ = lines[0].split(" ", 2)
    if not version.startswith("HTTP/1."):
        raise HttpError(f"not an HTTP/1.x answer: {lines[0]!r}")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    return int(status), headers


class _ClientProtocol(asyncio.Protocol):
    """One keep-alive connection: one request at a time, the answer read straight from the socket."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._waiter: asyncio.Future[Answer] | None = None
        self._head: tuple[int, dict[str, str], int] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(HttpError(f"connection lost: {exc}"))

    def request(self, data: bytes) -> asyncio.Future[Answer]:
        assert self.transport is not None
        self._waiter = asyncio.get_running_loop().create_future()
        self._buffer.clear()
        self._head = None
        self.transport.write(data)
        return self._waiter

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        waiter = self._waiter
        if waiter is None or waiter.done():
            return
        try:
            if self._head is None:
                end = self._buffer.find(b"\r\n\r\n")
                if end < 0:
                    return
                status, headers = _parse_head(bytes(self._buffer[:end]))
                del self._buffer[: end + 4]
                self._head = (status, headers, int(headers.get("content-length", "0")))
            status, headers, length = self._head
            if len(self._buffer) >= length:
                waiter.set_result((status, headers, bytes(self._buffer[:length])))
        except (HttpError, ValueError) as exc:
            waiter.set_exception(HttpError(str(exc)))


class KeepAliveClient:
    def __init__(self, base_url: str, *, limit: int = 64, timeout_s: float = 10.0) -> None:
        parts = urlsplit(base_url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self.timeout_s = timeout_s
        self._idle: deque[_ClientProtocol] = deque()
        self._slots = asyncio.Semaphore(limit)
        self._host_header = f"Host: {self.host}:{self.port}\r\n".encode()

    async def post(self, path: str, body: bytes) -> Answer:
        """POST a JSON body; the status, the headers (lower-case names) and the body of the answer."""
        data = b"POST %s HTTP/1.1\r\n%sContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (
            path.encode(),
            self._host_header,
            len(body),
            body,
        )
        async with self._slots:
            conn = self._idle.pop() if self._idle else None
            try:
                async with asyncio.timeout(self.timeout_s):
                    if conn is None or conn.transport is None:
                        loop = asyncio.get_running_loop()
                        _, conn = await loop.create_connection(_ClientProtocol, self.host, self.port)
                    answer = await conn.request(data)
            except (OSError, HttpError) as exc:
                if conn is not None and conn.transport is not None:
                    conn.transport.close()
                raise HttpError(f"{type(exc).__name__}: {exc}") from exc
            except BaseException:
                if conn is not None and conn.transport is not None:
                    conn.transport.close()
                raise
            if answer[1].get("connection", "").lower() == "close":
                if conn.transport is not None:
                    conn.transport.close()
            else:
                self._idle.append(conn)
            return answer

    async def close(self) -> None:
        while self._idle:
            conn = self._idle.pop()
            if conn.transport is not None:
                conn.transport.close()


Handler = Callable[[str, str, bytes], Awaitable[tuple[int, dict[str, str], bytes]]]
_REASONS = {200: "OK", 400: "Bad Request", 403: "Forbidden", 404: "Not Found", 429: "Too Many Requests"}


class _ServerProtocol(asyncio.Protocol):
    """HTTP/1.1 with Content-Length bodies, keep-alive, one request at a time per connection."""

    def __init__(self, handler: Handler) -> None:
        self._handler = handler
        self._buffer = bytearray()
        self._transport: asyncio.Transport | None = None
        self._busy = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        if not self._busy:
            self._next()

    def _next(self) -> None:
        end = self._buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        lines = self._buffer[:end].decode("latin-1").split("\r\n")
        length = 0
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        if len(self._buffer) < end + 4 + length:
            return
        body = bytes(self._buffer[end + 4 : end + 4 + length])
        del self._buffer[: end + 4 + length]
        method, target = lines[0].split(" ")[:2]
        self._busy = True
        task = asyncio.ensure_future(self._handler(method, target, body))
        task.add_done_callback(self._answered)

    def _answered(self, task: asyncio.Future[tuple[int, dict[str, str], bytes]]) -> None:
        self._busy = False
        if self._transport is None:
            return
        headers: dict[str, str] = {}
        if task.cancelled() or task.exception() is not None:
            status, data = 500, b'{"ok": false, "error": "internal_error"}'
        else:
            status, headers, data = task.result()
        extra = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        self._transport.write(
            b"HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n%s\r\n%s"
            % (status, _REASONS.get(status, "Error").encode(), len(data), extra.encode("latin-1"), data)
        )
        self._next()


async def serve_http(handler: Handler, port: int = 0) -> asyncio.Server:
    """Serve `handler(method, target, body) -> (status, headers, body)` on 127.0.0.1."""
    loop = asyncio.get_running_loop()
    return await loop.create_server(lambda: _ServerProtocol(handler), "127.0.0.1", port)
