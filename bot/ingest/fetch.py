"""HTTP fetching of feeds: conditional GET, redirects re-checked by the SSRF guard, and hard limits.

One aiohttp session per Fetcher. Limits: a global and a per-host concurrency cap, a politeness delay
between requests to one host, connect/read/total timeouts (a server trickling bytes still hits the
total), a body cap checked on the wire and again after gzip/deflate decompression (a gzip bomb stops
at the cap), and at most `max_redirects` redirects, each hop vetted before it is connected to.
"""

from __future__ import annotations

import asyncio
import zlib
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from types import TracebackType
from typing import Literal, Self
from urllib.parse import urljoin

import aiohttp
from yarl import URL

from bot import __version__
from bot.clock import Clock
from bot.config import IngestSettings
from bot.ingest.errors import PollErrorKind, http_error_kind
from bot.ingest.ssrf import DnsFailure, Lookup, PinnedResolver, Refused, SsrfGuard

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_PERMANENT = frozenset({301, 308})
_TRANSIENT_STATUSES = frozenset({408, 425, 429})
_CHUNK = 64 * 1024
# (status, Location) of a redirect the fetcher follows itself, after vetting the new URL.
Redirect = tuple[int, str]
_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, application/rdf+xml, "
    "application/xml;q=0.9, text/xml;q=0.9, application/json;q=0.8, */*;q=0.5"
)


class FetchError(Exception):
    """A fetch that failed: a short human reason, its kind; `transient` failures are worth retrying."""

    def __init__(
        self,
        reason: str,
        transient: bool,
        status: int | None = None,
        *,
        kind: PollErrorKind,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.kind: PollErrorKind = kind
        self.transient = transient
        self.status = status
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class FetchResult:
    status: Literal["ok", "not_modified"]
    url: str
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    etag: str | None = None
    last_modified: str | None = None
    # The final URL when every hop was a 301/308, so the caller can update the source.
    permanent_redirect: str | None = None


class Fetcher:
    """`async with Fetcher(settings, clock) as fetcher: result = await fetcher.fetch(url)`."""

    def __init__(
        self,
        settings: IngestSettings,
        clock: Clock,
        *,
        lookup: Lookup | None = None,
        read_timeout_s: float | None = None,
    ) -> None:
        self._settings = settings
        self._clock = clock
        self._guard = SsrfGuard(settings, lookup)
        self._read_timeout = read_timeout_s or min(settings.connect_timeout_s, settings.timeout_s)
        self._global = asyncio.Semaphore(settings.total_concurrency)
        self._hosts: dict[str, asyncio.Semaphore] = {}
        self._next_start: dict[str, datetime] = {}
        self._session: aiohttp.ClientSession | None = None
        contact = settings.contact.strip()
        self.user_agent = f"storywatch/{__version__}" + (f" (+{contact})" if contact else "")

    async def __aenter__(self) -> Self:
        connector = aiohttp.TCPConnector(
            resolver=PinnedResolver(self._guard),
            socket_factory=self._guard.socket_factory,
            use_dns_cache=False,
            limit=self._settings.total_concurrency,
            limit_per_host=self._settings.per_host_concurrency,
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            auto_decompress=False,
            trust_env=False,
            cookie_jar=aiohttp.DummyCookieJar(),
            timeout=aiohttp.ClientTimeout(
                total=None,
                connect=self._settings.connect_timeout_s,
                sock_connect=self._settings.connect_timeout_s,
                sock_read=self._read_timeout,
            ),
            headers={"User-Agent": self.user_agent, "Accept": _ACCEPT, "Accept-Encoding": "gzip, deflate"},
        )
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def fetch(self, url: str, etag: str | None = None, last_modified: str | None = None) -> FetchResult:
        """GET `url` (conditionally when etag/last_modified are given); FetchError on any failure."""
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        seen = {url}
        current, permanent = url, True
        # The total timeout covers time on the network across all hops, not time queued for a host.
        budget = [self._settings.timeout_s]
        for hop in range(self._settings.max_redirects + 1):
            outcome = await self._hop(current, headers, budget)
            if isinstance(outcome, FetchResult):
                moved = outcome.url if hop and permanent else None
                if outcome.status == "not_modified":
                    etag, last_modified = outcome.etag or etag, outcome.last_modified or last_modified
                    return replace(outcome, etag=etag, last_modified=last_modified, permanent_redirect=moved)
                return replace(outcome, permanent_redirect=moved)
            status, location = outcome
            permanent = permanent and status in _PERMANENT
            try:
                current = urljoin(current, location)
            except ValueError:
                raise FetchError(
                    f"bad redirect location: {location[:200]}", False, status, kind="redirect"
                ) from None
            if current in seen:
                raise FetchError("redirect loop", False, status, kind="redirect")
            seen.add(current)
        raise FetchError(f"too many redirects (max {self._settings.max_redirects})", False, kind="redirect")

    async def _hop(self, url: str, headers: dict[str, str], budget: list[float]) -> FetchResult | Redirect:
        """One request: a result, or (status, Location) for a redirect to follow."""
        try:
            # aiohttp gets this very URL object: what was judged is what it connects to.
            target = self._guard.vet_url(url)
        except Refused as exc:
            raise FetchError(exc.reason, False, kind="refused") from None
        async with self._host_slot(target.raw_host or ""), self._global:
            loop = asyncio.get_running_loop()
            started = loop.time()
            try:
                if budget[0] <= 0:
                    raise TimeoutError
                async with asyncio.timeout(budget[0]):
                    return await self._request(url, target, headers)
            except aiohttp.ClientError as exc:
                # Before TimeoutError: aiohttp's read and connect timeouts are TimeoutErrors too.
                raise _describe_client_error(
                    exc, self._read_timeout, self._settings.connect_timeout_s
                ) from None
            except TimeoutError:
                raise FetchError(
                    f"timed out after {_seconds(self._settings.timeout_s)}", True, kind="timeout"
                ) from None
            except zlib.error:
                raise FetchError("broken compressed body", False, kind="encoding") from None
            finally:
                budget[0] -= loop.time() - started

    async def _request(self, url: str, target: URL, headers: dict[str, str]) -> FetchResult | Redirect:
        if self._session is None:
            raise RuntimeError("use Fetcher as 'async with Fetcher(...) as fetcher'")
        async with self._session.get(target, headers=headers, allow_redirects=False) as response:
            status = response.status
            response_headers = {key.lower(): value for key, value in response.headers.items()}
            if status in _REDIRECTS and "location" in response_headers:
                return status, response_headers["location"]
            etag, modified = response_headers.get("etag"), response_headers.get("last-modified")
            if status == 304:
                return FetchResult("not_modified", url, b"", response_headers, etag, modified)
            if not 200 <= status < 300:
                retry_after = _retry_after(response_headers.get("retry-after"))
                transient = status in _TRANSIENT_STATUSES or status >= 500
                reason = f"HTTP {status} {response.reason or ''}".strip()
                raise FetchError(
                    reason, transient, status, kind=http_error_kind(status), retry_after=retry_after
                )
            body = await self._read_body(response, response_headers.get("content-encoding", ""))
            return FetchResult("ok", url, body, response_headers, etag, modified)

    async def _read_body(self, response: aiohttp.ClientResponse, encoding: str) -> bytes:
        cap = self._settings.max_body_bytes
        too_large = FetchError(f"body larger than {_size(cap)}", False, response.status, kind="too_large")
        if response.content_length is not None and response.content_length > cap:
            raise too_large
        decoder = _Decoder(encoding.strip().lower())
        wire = 0
        body = bytearray()
        async for chunk in response.content.iter_chunked(_CHUNK):
            wire += len(chunk)
            if wire > cap:
                raise too_large
            body += decoder.feed(chunk, cap + 1 - len(body))
            if len(body) > cap:
                raise too_large
        body += decoder.finish(cap + 1 - len(body))
        if len(body) > cap:
            raise too_large
        return bytes(body)

    def _host_slot(self, host: str) -> _HostSlot:
        semaphore = self._hosts.setdefault(host, asyncio.Semaphore(self._settings.per_host_concurrency))
        return _HostSlot(self, host, semaphore)

    async def _wait_politely(self, host: str) -> None:
        """Space request starts to one host by the politeness delay; the slot is reserved before sleeping."""
        now = self._clock.now()
        start = max(now, self._next_start.get(host, now))
        self._next_start[host] = start + timedelta(seconds=self._settings.politeness_delay_s)
        if start > now:
            await self._clock.sleep((start - now).total_seconds())


class _HostSlot:
    def __init__(self, fetcher: Fetcher, host: str, semaphore: asyncio.Semaphore) -> None:
        self._fetcher, self._host, self._semaphore = fetcher, host, semaphore

    async def __aenter__(self) -> None:
        await self._semaphore.acquire()
        try:
            await self._fetcher._wait_politely(self._host)
        except BaseException:
            self._semaphore.release()
            raise

    async def __aexit__(self, *exc_info: object) -> None:
        self._semaphore.release()


class _Decoder:
    """Streaming gzip/deflate decoding that never inflates more than `limit` bytes per call."""

    def __init__(self, encoding: str) -> None:
        if encoding in ("", "identity"):
            self._inflate: zlib._Decompress | None = None
        elif encoding in ("gzip", "x-gzip", "deflate"):
            # 47 = auto-detect gzip or zlib headers; raw deflate is tried if that fails at the start.
            self._inflate = zlib.decompressobj(47)
        else:
            raise FetchError(f"unsupported content encoding {encoding[:40]}", False, kind="encoding")
        self._raw_tried = encoding != "deflate"
        self._pending = b""

    def feed(self, chunk: bytes, limit: int) -> bytes:
        if self._inflate is None:
            return chunk
        self._pending += chunk
        return self._drain(limit)

    def finish(self, limit: int) -> bytes:
        if self._inflate is None:
            return b""
        out = self._drain(limit)
        # What zlib still holds once all input is in is at most one window, so flush() is safe.
        return out + self._inflate.flush() if len(out) < limit else out

    def _drain(self, limit: int) -> bytes:
        assert self._inflate is not None
        out = bytearray()
        while self._pending and len(out) < limit and not self._inflate.eof:
            try:
                out += self._inflate.decompress(self._pending, max(1, limit - len(out)))
            except zlib.error:
                if self._raw_tried:
                    raise
                self._raw_tried, self._inflate = True, zlib.decompressobj(-zlib.MAX_WBITS)
                continue
            self._raw_tried = True
            self._pending = self._inflate.unconsumed_tail
        return bytes(out)


def _describe_client_error(
    exc: aiohttp.ClientError, read_timeout: float, connect_timeout: float
) -> FetchError:
    if isinstance(exc, aiohttp.ClientConnectorDNSError | aiohttp.ClientConnectorError):
        cause = exc.os_error
        if isinstance(cause, Refused):
            return FetchError(cause.reason, False, kind="refused")
        if isinstance(cause, DnsFailure) or isinstance(exc, aiohttp.ClientConnectorDNSError):
            return FetchError("DNS lookup failed", True, kind="dns")
        if isinstance(exc, aiohttp.ClientConnectorCertificateError):
            return FetchError("TLS certificate not valid", False, kind="tls")
        return FetchError(f"connection failed ({cause.strerror or cause})", True, kind="connection")
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return FetchError(f"timed out connecting after {_seconds(connect_timeout)}", True, kind="timeout")
    if isinstance(exc, aiohttp.ServerTimeoutError):
        return FetchError(f"timed out: no data for {_seconds(read_timeout)}", True, kind="timeout")
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return FetchError("server closed the connection", True, kind="connection")
    if isinstance(exc, aiohttp.ClientPayloadError):
        return FetchError("broken response body", True, kind="connection")
    if isinstance(exc, aiohttp.InvalidURL):
        return FetchError(f"invalid URL: {str(exc)[:200]}", False, kind="invalid_url")
    return FetchError(f"request failed ({type(exc).__name__}: {str(exc)[:200]})", True, kind="connection")


def _retry_after(value: str | None) -> float | None:
    """Retry-After in seconds (the date form is not honoured); a number of over 9 digits is no answer."""
    seconds = (value or "").strip()
    return float(seconds) if seconds.isascii() and seconds.isdigit() and len(seconds) <= 9 else None


def _seconds(value: float) -> str:
    return f"{value:g} s"


def _size(limit: int) -> str:
    if limit >= 1_000_000 and limit % 1_000_000 == 0:
        return f"{limit // 1_000_000} MB"
    if limit >= 1000 and limit % 1000 == 0:
        return f"{limit // 1000} KB"
    return f"{limit} bytes"
