"""The demo's local feed server: the seed feeds served over HTTP as if live, on an injected clock.

A feed holds only the entries published by `clock.now()` (newest first, at most `max_entries`), so a
FastClock makes days of news arrive in seconds. ETag and Last-Modified change only when that entry set
changes, and conditional requests get 304, as from a well-behaved publisher.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from html import escape
from pathlib import Path
from xml.sax.saxutils import quoteattr

from aiohttp import hdrs, web
from aiohttp.typedefs import Handler

from bot.clock import Clock
from bot.demo.seedfeeds import RenderedFeed, SeedError, SeedFeed, load_seed_feeds

log = logging.getLogger(__name__)

DEFAULT_MAX_ENTRIES = 20
FORMAT_NAMES = {"rss": "RSS 2.0", "atom": "Atom 1.0", "json": "JSON Feed 1.1"}


@dataclass(slots=True)
class ReplayStats:
    """What the server has answered, for the demo's summary line."""

    requests: int = 0
    feed_requests: int = 0
    not_modified: int = 0
    bytes_sent: int = 0


@dataclass(slots=True)
class _ReplayState:
    feeds: dict[str, SeedFeed]
    clock: Clock
    max_entries: int
    stats: ReplayStats
    # Known only once the socket is bound; feeds' self links and the OPML use it.
    base_url: str = ""


_STATE = web.AppKey("storywatch_replay", _ReplayState)


def default_seeds_dir() -> Path:
    """The seeds/ folder of this checkout (the demo runs from a clone or an editable install)."""
    return Path(__file__).resolve().parents[2] / "seeds"


class ReplayServer:
    """A running replay server; stop it with `await server.stop()` or use it as an async context manager."""

    def __init__(self, runner: web.AppRunner, state: _ReplayState, base_url: str) -> None:
        self._runner = runner
        self._state = state
        self.base_url = base_url
        self.feeds: tuple[SeedFeed, ...] = tuple(state.feeds.values())
        self.stats = state.stats

    @property
    def feed_urls(self) -> tuple[str, ...]:
        return tuple(self.feed_url(feed) for feed in self.feeds)

    def feed_url(self, feed: SeedFeed) -> str:
        return f"{self.base_url}/feeds/{feed.file}"

    @property
    def index_url(self) -> str:
        """The HTML page that links every feed (autodiscovery)."""
        return f"{self.base_url}/"

    @property
    def opml_url(self) -> str:
        return f"{self.base_url}/opml"

    @property
    def first_published(self) -> datetime:
        return min(feed.entries[0].published for feed in self.feeds if feed.entries)

    @property
    def last_published(self) -> datetime:
        return max(feed.entries[-1].published for feed in self.feeds if feed.entries)

    @property
    def entry_count(self) -> int:
        return sum(len(feed.entries) for feed in self.feeds)

    async def stop(self) -> None:
        await self._runner.cleanup()

    async def __aenter__(self) -> ReplayServer:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()


async def start_replay_server(
    seeds_dir: Path,
    clock: Clock,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    max_entries: int = DEFAULT_MAX_ENTRIES,
) -> ReplayServer:
    """Serve the seed feeds of `seeds_dir` (the seeds/ folder, or its feeds/ folder) on host:port.

    Port 0 picks a free port; the chosen one is in `server.base_url`.
    """
    if max_entries < 1:
        raise ValueError("max_entries must be at least 1")
    feeds_dir = seeds_dir / "feeds" if (seeds_dir / "feeds" / "index.json").is_file() else seeds_dir
    feeds = await asyncio.to_thread(load_seed_feeds, feeds_dir)
    state = _ReplayState(
        feeds={feed.file: feed for feed in feeds},
        clock=clock,
        max_entries=max_entries,
        stats=ReplayStats(),
    )
    runner = web.AppRunner(_make_app(state), access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        bound_host, bound_port = runner.addresses[0][:2]
    except BaseException:
        await runner.cleanup()
        raise
    url_host = f"[{bound_host}]" if ":" in str(bound_host) else str(bound_host)
    base_url = f"http://{url_host}:{bound_port}"
    state.base_url = base_url
    log.info("replaying %d seed feeds at %s", len(feeds), base_url)
    return ReplayServer(runner, state, base_url)


def _make_app(state: _ReplayState) -> web.Application:
    app = web.Application(middlewares=[_count_requests])
    app[_STATE] = state
    app.router.add_get("/", _index_page)
    app.router.add_get("/opml", _opml)
    app.router.add_get("/feeds/{file}", _feed)
    return app


@web.middleware
async def _count_requests(request: web.Request, handler: Handler) -> web.StreamResponse:
    request.app[_STATE].stats.requests += 1
    return await handler(request)


async def _feed(request: web.Request) -> web.Response:
    state = request.app[_STATE]
    feed = state.feeds.get(request.match_info["file"])
    if feed is None:
        raise web.HTTPNotFound(text="no such feed\n")
    self_url = f"{state.base_url}/feeds/{feed.file}"
    rendered = feed.render(state.clock.now(), self_url, state.max_entries)
    state.stats.feed_requests += 1
    headers = {hdrs.ETAG: rendered.etag, hdrs.CACHE_CONTROL: "no-cache"}
    if rendered.last_modified is not None:
        headers[hdrs.LAST_MODIFIED] = _http_date(rendered.last_modified)
    if _not_modified(request, rendered):
        state.stats.not_modified += 1
        return web.Response(status=304, headers=headers)
    headers[hdrs.CONTENT_TYPE] = feed.content_type
    state.stats.bytes_sent += len(rendered.body)
    return web.Response(body=rendered.body, headers=headers)


def _not_modified(request: web.Request, rendered: RenderedFeed) -> bool:
    """RFC 9110 section 13.2.2: If-None-Match wins over If-Modified-Since when both are sent."""
    if hdrs.IF_NONE_MATCH in request.headers:
        tags = [t.strip() for t in request.headers[hdrs.IF_NONE_MATCH].split(",")]
        return any(tag == "*" or tag.removeprefix("W/") == rendered.etag for tag in tags)
    since = request.if_modified_since
    if since is None or rendered.last_modified is None:
        return False
    return rendered.last_modified <= since


async def _index_page(request: web.Request) -> web.Response:
    state = request.app[_STATE]
    base = state.base_url
    links = []
    items = []
    for feed in state.feeds.values():
        href = f"{base}/feeds/{feed.file}"
        links.append(
            f'<link rel="alternate" type="{feed.media_type}" title={quoteattr(feed.outlet)} href="{href}">'
        )
        items.append(
            f'<li><a href="/feeds/{feed.file}">{escape(feed.outlet)}</a> ({FORMAT_NAMES[feed.format]})</li>'
        )
    page = "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en">',
            "<head>",
            '<meta charset="utf-8">',
            "<title>storywatch demo feeds</title>",
            *links,
            f'<link rel="outline" type="text/x-opml" title="All feeds" href="{base}/opml">',
            "</head>",
            "<body>",
            "<h1>storywatch demo feeds</h1>",
            "<p>The seed articles and the dev scenario, replayed as live feeds on the demo's clock. "
            '<a href="/opml">OPML of all feeds</a>.</p>',
            "<ul>",
            *items,
            "</ul>",
            "</body>",
            "</html>",
            "",
        ]
    )
    return web.Response(text=page, content_type="text/html", charset="utf-8")


async def _opml(request: web.Request) -> web.Response:
    state = request.app[_STATE]
    base = state.base_url
    outlines = [
        f'    <outline type="rss" text={quoteattr(feed.outlet)} title={quoteattr(feed.outlet)} '
        f'xmlUrl="{base}/feeds/{feed.file}" htmlUrl={quoteattr(feed.home_page_url)}/>'
        for feed in state.feeds.values()
    ]
    document = "\n".join(
        [
            '<?xml version="1.0" encoding="utf-8"?>',
            '<opml version="2.0">',
            "  <head>",
            "    <title>storywatch demo feeds</title>",
            "  </head>",
            "  <body>",
            *outlines,
            "  </body>",
            "</opml>",
            "",
        ]
    )
    return web.Response(text=document, content_type="text/x-opml", charset="utf-8")


def _http_date(when: datetime) -> str:
    return format_datetime(when.astimezone(UTC), usegmt=True)


__all__ = [
    "DEFAULT_MAX_ENTRIES",
    "ReplayServer",
    "ReplayStats",
    "SeedError",
    "default_seeds_dir",
    "start_replay_server",
]
