"""Managing sources as a user does: add a feed or a site that links one, import and export OPML.

Shared by the CLI and the chat commands, so both refuse the same bad URLs with the same words.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from bot.clock import Clock
from bot.config import IngestSettings, Settings
from bot.ingest.discover import discover_feeds
from bot.ingest.feed import FeedError
from bot.ingest.fetch import Fetcher
from bot.ingest.normalise import clean_title
from bot.ingest.opml import OpmlError, parse_opml
from bot.ingest.opml import export_opml as render_opml
from bot.ingest.parse import parse_feed_async
from bot.ingest.ssrf import Refused, SsrfGuard
from bot.ingest.urls import is_http_url
from bot.models import Source
from bot.store.db import Store, StoreError
from bot.store.sources import SourceExistsError, add_source, list_sources
from bot.text_safety import clean_untrusted


class SourceError(StoreError):
    """A source the user asked for that cannot be added, with the reason."""


@dataclass(slots=True)
class ImportReport:
    added: int = 0
    existing: int = 0
    problems: list[str] = field(default_factory=list)


async def add_source_checked(
    store: Store, settings: Settings, clock: Clock, url: str, *, title: str = "", check: bool = True
) -> tuple[Source, str]:
    """Add `url` as a source; with `check`, fetch it first and follow a site page to the feed it links.

    Returns the source and a note for the user (such as which feed a site page led to).
    """
    url = url.strip()
    if not is_http_url(url):
        raise SourceError(f"not an http(s) URL: {url[:200]}")
    guard = SsrfGuard(settings.ingest)
    refused = _refusal(guard, url)
    if refused:
        raise SourceError(refused)
    note = ""
    feed_url = url
    if check:
        async with Fetcher(settings.ingest, clock) as fetcher:
            result = await fetcher.fetch(url)
            try:
                parsed = await parse_feed_async(result.body, url=result.url, headers=result.headers)
            except FeedError as exc:
                # A site's HTML page is not a feed, but it may link one (autodiscovery).
                if not _looks_like_html(result.body, result.headers):
                    raise SourceError(f"{url}: {exc}") from None
                feed_url = _first_allowed(guard, discover_feeds(result.body, result.url), url)
                feed = await fetcher.fetch(feed_url)
                parsed = await parse_feed_async(feed.body, url=feed.url, headers=feed.headers)
                feed_url = feed.permanent_redirect or feed_url
                note = f"the feed linked from {url}"
            else:
                feed_url = result.permanent_redirect or url
        title = title or clean_title(parsed.title)
    try:
        source = await add_source(
            store, feed_url, now=clock.now(), title=title, poll_interval_s=settings.ingest.poll_interval_s
        )
    except SourceExistsError as exc:
        raise SourceError(f"{feed_url} is already source #{exc.existing_id}") from None
    return source, note


async def import_opml(
    store: Store,
    clock: Clock,
    data: bytes,
    poll_interval_s: int = 900,
    *,
    ingest: IngestSettings | None = None,
) -> ImportReport:
    """Add every feed of an OPML document; bad outlines and bad documents are reported, not raised.

    Feed URLs are vetted by the SSRF guard under `ingest`'s rules (the strict defaults when not given).
    """
    report = ImportReport()
    guard = SsrfGuard(ingest or IngestSettings())
    try:
        parsed = parse_opml(data, url_problem=lambda url: _refusal(guard, url))
    except OpmlError as exc:
        raise SourceError(f"OPML: {exc.reason}") from None
    report.problems.extend(parsed.problems)
    for feed in parsed.feeds:
        try:
            await add_source(
                store,
                feed.url,
                now=clock.now(),
                title=feed.title,
                site_url=feed.html_url or None,
                poll_interval_s=poll_interval_s,
            )
            report.added += 1
        except SourceExistsError:
            report.existing += 1
    return report


async def export_opml(store: Store, clock: Clock) -> bytes:
    """The sources as OPML; titles and URLs cleaned, since the document is often read on a terminal."""
    sources = [replace(s, title=_one_line(s.title), url=_one_line(s.url)) for s in await list_sources(store)]
    return render_opml(sources, clock.now())


def _one_line(text: str) -> str:
    return clean_untrusted(text, multiline=False)


def _refusal(guard: SsrfGuard, url: str) -> str | None:
    try:
        guard.vet_url(url)
    except Refused as exc:
        return exc.reason
    return None


def _first_allowed(guard: SsrfGuard, candidates: list[str], page_url: str) -> str:
    """The first feed a page links that the guard allows; SourceError naming why when there is none."""
    reasons = [_refusal(guard, candidate) for candidate in candidates]
    allowed = [candidate for candidate, reason in zip(candidates, reasons, strict=True) if reason is None]
    if not allowed:
        raise SourceError(f"{reasons[0]} (the feed linked from {page_url[:200]})")
    return allowed[0]


def _looks_like_html(body: bytes, headers: dict[str, str]) -> bool:
    content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "").lower()
    head = body[:1024].lstrip().lower()
    return "html" in content_type or head.startswith((b"<!doctype html", b"<html"))
