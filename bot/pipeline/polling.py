"""One poll pass: due sources are claimed, fetched, parsed, normalised and stored, each on its own.

Fetching and parsing run concurrently (the fetcher paces hosts); one writer task stores what they bring
in batches, one transaction per batch, because the database has one writer and a transaction per
source would make the pass wait on the disk. A broken or unreachable source records its error and backs
off; the others carry on. Any exception while fetching, parsing or storing one source is that source's
error: a batch whose write fails is stored again source by source, so only the bad one fails. The
first successful poll of a new source stores its entries without announcing them (but the newest
`backfill`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Literal

from bot.clock import Clock
from bot.config import IngestSettings
from bot.ingest.errors import PollErrorKind
from bot.ingest.feed import FeedError, ParsedFeed
from bot.ingest.fetch import Fetcher, FetchError
from bot.ingest.normalise import clean_title
from bot.ingest.pool import ParsedBatch, ParsePool, parse_batch
from bot.models import Article, Source
from bot.store.articles import save_articles
from bot.store.db import Store, StoreConnection
from bot.store.engine_inbox import queue_for_engine
from bot.store.sources import (
    claim_due_sources,
    record_not_modified_many,
    record_poll_failure,
    record_poll_success,
)
from bot.text_safety import clean_untrusted

log = logging.getLogger(__name__)

PollStatus = Literal["stored", "not_modified", "error"]
# Sources whose results one write transaction stores at most.
WRITE_BATCH = 200
# A recorded error is one short line: it is shown in `status`, chat and logs.
MAX_REASON_CHARS = 200


@dataclass(frozen=True, slots=True)
class SourcePoll:
    """What one source's poll did.

    `new` counts stored articles (syndicated copies included), `folded` entries that another source
    already brought (same canonical URL) or that copy another outlet's text, `seen` entries this source
    had delivered before.
    """

    source: Source
    status: PollStatus
    new: int = 0
    folded: int = 0
    seen: int = 0
    error: str | None = None
    # What kind of error (a metrics label): set where it was raised.
    error_kind: PollErrorKind | None = None
    # Newly stored articles, with ids, oldest first; `announce` holds those that may raise alerts.
    saved: tuple[Article, ...] = ()
    announce: tuple[Article, ...] = ()
    disabled: bool = False


@dataclass(slots=True)
class PollReport:
    polls: list[SourcePoll] = field(default_factory=list)

    @property
    def new(self) -> int:
        return sum(p.new for p in self.polls)

    @property
    def folded(self) -> int:
        return sum(p.folded for p in self.polls)

    @property
    def seen(self) -> int:
        return sum(p.seen for p in self.polls)

    @property
    def errors(self) -> int:
        return sum(1 for p in self.polls if p.status == "error")

    @property
    def saved(self) -> list[Article]:
        return [a for p in self.polls for a in p.saved]

    @property
    def announce(self) -> list[Article]:
        return [a for p in self.polls for a in p.announce]


@dataclass(frozen=True, slots=True)
class _Fetched:
    """A source's fetch outcome, waiting for the writer."""

    source: Source
    fetched_at: datetime
    parsed: ParsedFeed | None = None
    articles: tuple[Article, ...] = ()
    fingerprints: dict[str, int | None] | None = None
    etag: str | None = None
    last_modified: str | None = None
    new_url: str | None = None
    error: str | None = None
    error_kind: PollErrorKind = "internal"
    retry_after: float | None = None


async def poll_due(
    store: Store,
    fetcher: Fetcher,
    *,
    clock: Clock,
    settings: IngestSettings,
    owner: str,
    limit: int = 1000,
    lease_s: float = 300.0,
    parser: ParsePool | None = None,
) -> PollReport:
    """Claim the sources due now (a lease, so other workers skip them) and poll them.

    With a `parser`, large documents are parsed in its worker processes; without, in threads.
    """
    report = PollReport()
    # The pass's articles are queued for the engine under one stamp: it decides them as one batch.
    batch_at = clock.now()
    while True:
        claimed = await claim_due_sources(store, clock.now(), owner, lease_s, limit)
        if not claimed:
            return report
        report.polls.extend(
            await poll_sources(
                store, fetcher, claimed, clock=clock, settings=settings, parser=parser, batch_at=batch_at
            )
        )
        if len(claimed) < limit:
            return report


async def poll_sources(
    store: Store,
    fetcher: Fetcher,
    claimed: Sequence[Source],
    *,
    clock: Clock,
    settings: IngestSettings,
    parser: ParsePool | None = None,
    batch_at: datetime | None = None,
) -> list[SourcePoll]:
    """Poll the given (already claimed) sources; results come back in the order given.

    New articles are queued for the engine stamped `batch_at` (default: now) in the transaction that
    stores them.
    """
    stamp = batch_at or clock.now()
    queue: asyncio.Queue[_Fetched | None] = asyncio.Queue(maxsize=WRITE_BATCH)
    results: dict[int, SourcePoll] = {}

    async def fetch_one(source: Source) -> None:
        await queue.put(await _fetch(fetcher, source, clock, settings, parser))

    async def fetch_all() -> None:
        # The fetcher's per-host and global limits pace the requests; every source just starts.
        await asyncio.gather(*(fetch_one(s) for s in claimed))
        await queue.put(None)

    # A TaskGroup: if the writer fails, the fetchers waiting on a full queue are cancelled with it.
    async with asyncio.TaskGroup() as group:
        group.create_task(_write_all(store, queue, results, clock=clock, settings=settings, batch_at=stamp))
        group.create_task(fetch_all())
    return [results[s.id] for s in claimed]


async def _fetch(
    fetcher: Fetcher, source: Source, clock: Clock, settings: IngestSettings, parser: ParsePool | None
) -> _Fetched:
    """The source fetched and parsed; every failure, expected or not, ends as its `error`."""
    try:
        result = await fetcher.fetch(source.url, etag=source.etag, last_modified=source.last_modified)
    except FetchError as exc:
        return _Fetched(
            source, clock.now(), error=exc.reason, error_kind=exc.kind, retry_after=exc.retry_after
        )
    except Exception as exc:  # a bug or a surprise in one fetch must not end the pass
        return _Fetched(source, clock.now(), error=_unexpected(source, "could not fetch", exc))
    now = clock.now()
    if result.status == "not_modified":
        return _Fetched(source, now, new_url=result.permanent_redirect)
    try:
        batch = await _parse(parser, result.body, source, now, result.url, result.headers, settings)
    except FeedError as exc:
        return _Fetched(source, now, error=exc.reason, error_kind=exc.kind)
    except Exception as exc:  # the parsers' contract is FeedError; anything else is one feed's problem too
        return _Fetched(source, now, error=_unexpected(source, "could not read the feed", exc))
    parsed, articles = batch.feed, batch.articles
    if parsed.capped:
        log.info(
            "poll source=%s stopped at %d entries (ingest.max_entries_per_document)",
            source.id,
            settings.max_entries_per_document,
        )
    name = clean_title(parsed.title)
    if not source.title and name:
        articles = [_named(a, name) for a in articles]
    return _Fetched(
        source,
        now,
        parsed=replace(parsed, title=name),
        articles=tuple(articles),
        fingerprints=batch.fingerprints,
        etag=result.etag,
        last_modified=result.last_modified,
        new_url=result.permanent_redirect,
    )


async def _parse(
    parser: ParsePool | None,
    data: bytes,
    source: Source,
    now: datetime,
    url: str,
    headers: dict[str, str],
    settings: IngestSettings,
) -> ParsedBatch:
    cap = settings.max_entries_per_document
    if parser is None:
        return await _parse_in_thread(data, source, now, url, headers, cap)
    return await parser.parse(
        data,
        source_id=source.id,
        source_name=source.title,
        fetched_at=now,
        url=url,
        headers=headers,
        max_entries=cap,
    )


def _unexpected(source: Source, what: str, exc: Exception) -> str:
    log.debug("poll source=%s unexpected %s", source.id, type(exc).__name__, exc_info=exc)
    return f"{what} ({type(exc).__name__}: {exc})"


def _reason(text: str) -> str:
    """An error as one short clean line: server and feed text can hold anything."""
    line = " ".join(clean_untrusted(text, multiline=False).split()) or "unknown error"
    return line if len(line) <= MAX_REASON_CHARS else line[: MAX_REASON_CHARS - 1].rstrip() + "…"


async def _parse_in_thread(
    data: bytes, source: Source, now: datetime, url: str, headers: dict[str, str], max_entries: int
) -> ParsedBatch:
    return await asyncio.to_thread(parse_batch, data, source.id, source.title, now, url, headers, max_entries)


def _named(article: Article, name: str) -> Article:
    return replace(article, source_name=name)


async def _write_all(
    store: Store,
    queue: asyncio.Queue[_Fetched | None],
    results: dict[int, SourcePoll],
    *,
    clock: Clock,
    settings: IngestSettings,
    batch_at: datetime,
) -> None:
    done = False
    while not done:
        batch: list[_Fetched] = []
        item = await queue.get()
        while item is not None:
            batch.append(item)
            if len(batch) >= WRITE_BATCH or queue.empty():
                break
            item = queue.get_nowait()
        done = item is None
        if batch:
            for poll in await _write_isolated(
                store, batch, clock=clock, settings=settings, batch_at=batch_at
            ):
                results[poll.source.id] = poll


async def _write_isolated(
    store: Store, batch: Sequence[_Fetched], *, clock: Clock, settings: IngestSettings, batch_at: datetime
) -> list[SourcePoll]:
    """The batch in one transaction; if that fails, each source in its own, so only a bad one fails."""
    try:
        async with store.write() as conn:
            return await _write_batch(conn, batch, clock=clock, settings=settings, batch_at=batch_at)
    except Exception as exc:  # one source's unstorable data (or a bug) must not cost the others
        if len(batch) > 1:
            log.warning("poll write of %d sources failed (%s); storing them one by one", len(batch), exc)
        failed = exc
    polls: list[SourcePoll] = []
    for fetched in batch:
        try:
            async with store.write() as conn:
                polls.extend(
                    await _write_batch(conn, [fetched], clock=clock, settings=settings, batch_at=batch_at)
                )
            continue
        except Exception as exc:  # recorded below as this source's error
            failed = exc
        reason = f"could not store its articles ({type(failed).__name__}: {failed})"
        log.debug("poll source=%s store failed", fetched.source.id, exc_info=failed)
        # If even recording the error fails, the database itself is the problem: let it end the pass.
        async with store.write() as conn:
            unstored = replace(fetched, error=reason, error_kind="internal", retry_after=None)
            polls.append(await _failed(conn, unstored, settings))
    return polls


async def _write_batch(
    conn: StoreConnection,
    batch: Sequence[_Fetched],
    *,
    clock: Clock,
    settings: IngestSettings,
    batch_at: datetime,
) -> list[SourcePoll]:
    unchanged = [f for f in batch if f.parsed is None and f.error is None]
    polls = [
        SourcePoll(source, "not_modified")
        for source in await record_not_modified_many(
            conn, [(f.source, f.new_url) for f in unchanged], now=clock.now()
        )
    ]
    for fetched in batch:
        if fetched.error is not None:
            polls.append(await _failed(conn, fetched, settings))
        elif fetched.parsed is not None:
            polls.append(await _stored(conn, fetched, settings))
    announced = {a.id for p in polls for a in p.announce}
    queued = [(a.id, a.id in announced) for p in polls for a in p.saved if a.id is not None]
    await queue_for_engine(conn, queued, batch_at=batch_at)
    return polls


async def _stored(conn: StoreConnection, fetched: _Fetched, settings: IngestSettings) -> SourcePoll:
    source, parsed = fetched.source, fetched.parsed
    assert parsed is not None
    saved = await save_articles(
        conn, source.id, fetched.articles, now=fetched.fetched_at, fingerprints=fetched.fingerprints
    )
    updated = await record_poll_success(
        conn,
        source.id,
        now=fetched.fetched_at,
        etag=fetched.etag,
        last_modified=fetched.last_modified,
        new_url=fetched.new_url,
        title=None if source.title else (parsed.title or None),
        site_url=parsed.link or None,
    )
    fresh = tuple(sorted(saved.saved, key=lambda a: (a.published, a.id or 0)))
    # A new source's first poll is history, not news: announce only the newest `backfill` entries.
    announce = fresh if source.primed else fresh[max(0, len(fresh) - settings.backfill) :]
    if not source.primed and settings.backfill == 0:
        announce = ()
    folded = len(saved.linked_article_ids) + saved.syndicated
    seen = max(0, saved.duplicate - len(saved.linked_article_ids))
    log.info("poll source=%s status=stored new=%d folded=%d seen=%d", source.id, len(fresh), folded, seen)
    return SourcePoll(
        updated, "stored", new=len(fresh), folded=folded, seen=seen, saved=fresh, announce=announce
    )


async def _failed(conn: StoreConnection, fetched: _Fetched, settings: IngestSettings) -> SourcePoll:
    source, reason = fetched.source, _reason(fetched.error or "")
    updated = await record_poll_failure(
        conn,
        source.id,
        now=fetched.fetched_at,
        error=reason,
        backoff_max_s=settings.backoff_max_s,
        disable_after=settings.disable_after_failures,
        retry_after_s=fetched.retry_after,
    )
    disabled = updated.disabled and not source.disabled
    log.warning("poll source=%s status=error reason=%r disabled=%s", source.id, reason, disabled)
    return SourcePoll(updated, "error", error=reason, error_kind=fetched.error_kind, disabled=disabled)
