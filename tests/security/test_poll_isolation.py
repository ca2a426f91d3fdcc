"""One hostile source never costs the others: a poll pass over 50 good feeds and one of each hostile kind.

Real fetches over loopback from the local feed server, real parsing, a real store on SQLite and
PostgreSQL. Broken documents end as one short recorded error each (with backoff); odd but valid ones
are stored cleaned; the next pass runs as usual.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from bot.clock import ManualClock
from bot.config import IngestSettings
from bot.ingest.fetch import Fetcher
from bot.ingest.pool import ParsedBatch, ParsePool
from bot.pipeline.polling import poll_due
from bot.store import Store
from bot.store.schema import articles
from bot.store.sources import add_source, get_source
from tests.fakes.feed_server import FeedServer
from tests.security import hostile_feeds as hostile

START = datetime(2025, 9, 29, 8, 0, tzinfo=UTC)
GOOD = 50
CAP = 1000


def settings(**overrides: object) -> IngestSettings:
    base: dict[str, object] = {
        "allowed_private_hosts": ("127.0.0.1",),
        "politeness_delay_s": 0.0,
        "per_host_concurrency": 8,
        "poll_interval_s": 600,
        "timeout_s": 1.5,
        "connect_timeout_s": 1.5,
        # The 100k-entry document is 12 MB: let it through the fetcher so the entry cap is what stops it.
        "max_body_bytes": 20_000_000,
    }
    base.update(overrides)
    return IngestSettings.model_validate(base)


def good_feed(index: int, round_: int) -> tuple[bytes, str]:
    """Good source `index`: two items per round, alternating RSS and JSON Feed."""
    items = [
        (f"Good {index} story {round_}-{n}", f"https://good{index}.example/{round_}/{n}") for n in (0, 1)
    ]
    if index % 2:
        entries = [{"id": link, "url": link, "title": title, "content_text": "fine"} for title, link in items]
        return hostile.json_feed(f"Good {index}", entries), "application/feed+json"
    return hostile.rss(f"Good {index}", items), "application/rss+xml"


def serve_good(server: FeedServer, round_: int) -> None:
    for index in range(GOOD):
        body, kind = good_feed(index, round_)
        server.add(f"/good/{index}", body, content_type=kind)


# Broken documents: the reason their one recorded error must name.
BROKEN: Mapping[str, str] = {
    "/malformed": "not well-formed",
    "/garbage": "not a supported feed",
    "/laughs": "refused",
    "/xxe": "refused",
    "/bomb": "larger than",
    "/slow": "timed out",
    "/not-a-list": "items list",
}


def serve_hostile(server: FeedServer) -> None:
    json_kind = "application/feed+json"
    server.add("/huge-int", hostile.huge_integer_json_feed(), content_type=json_kind)
    server.add("/surrogates", hostile.lone_surrogate_json_feed(), content_type=json_kind)
    server.add("/bidi-rss", hostile.control_and_bidi_rss())
    server.add("/bidi-json", hostile.control_and_bidi_json_feed(), content_type=json_kind)
    server.add("/entities", hostile.entity_titles_rss())
    server.add("/entities-json", hostile.entity_title_json_feed(), content_type=json_kind)
    server.add("/many", hostile.many_entries_rss(100_000))
    server.add("/wrong-types", hostile.wrong_types_json_feed(), content_type=json_kind)
    server.add("/malformed", hostile.malformed_xml())
    server.add("/garbage", hostile.garbage_bytes(), content_type="application/octet-stream")
    server.add("/laughs", hostile.billion_laughs())
    server.add("/xxe", hostile.external_entity())
    server.gzip_bomb("/bomb", inflated_bytes=100_000_000)
    server.slow("/slow", hostile.rss("Slow", [("Never", "https://slow.example/1")]), chunk=1, interval=0.5)
    server.add("/not-a-list", hostile.items_not_a_list_json_feed(), content_type=json_kind)


async def stored_for(store: Store, source_id: int) -> list[Any]:
    async with store.read() as conn:
        query = select(articles).where(articles.c.source_id == source_id).order_by(articles.c.id)
        return list(await conn.execute(query))


async def test_hostile_sources_among_fifty_good_ones(store: Store, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="bot.pipeline.polling")
    clock = ManualClock(START)
    config = settings()
    async with FeedServer() as server:
        serve_good(server, 0)
        serve_hostile(server)
        good = [f"/good/{i}" for i in range(GOOD)]
        paths = good + sorted(set(server.routes) - set(good))
        ids = {path: (await add_source(store, server.url(path), now=clock.now())).id for path in paths}
        async with Fetcher(config, clock) as fetcher:
            first = await poll_due(store, fetcher, clock=clock, settings=config, owner="t")
            polls = {p.source.id: p for p in first.polls}
            assert len(polls) == len(paths)

            for index in range(GOOD):
                poll = polls[ids[f"/good/{index}"]]
                assert poll.status == "stored" and poll.new == 2, (index, poll.error)
                titles = [row.title for row in await stored_for(store, poll.source.id)]
                assert titles == [f"Good {index} story 0-0", f"Good {index} story 0-1"]

            for path, reason in BROKEN.items():
                poll = polls[ids[path]]
                assert poll.status == "error" and reason in (poll.error or ""), (path, poll.error)
                source = await get_source(store, ids[path])
                assert source is not None and source.consecutive_failures == 1
                assert source.last_error == poll.error and len(poll.error or "") <= 200
                assert "\n" not in (poll.error or "") and not hostile.forbidden_in(poll.error or "")
                assert source.next_poll_at is not None and source.next_poll_at > clock.now()

            odd = [p for p in paths if not p.startswith("/good/") and p not in BROKEN]
            for path in odd:
                poll = polls[ids[path]]
                assert poll.status == "stored" and poll.new >= 1, (path, poll.error)
                source = await get_source(store, ids[path])
                assert source is not None and not hostile.forbidden_in(source.title), (path, source.title)
                for row in await stored_for(store, ids[path]):
                    assert not hostile.forbidden_in(row.title + row.text + row.url), (path, row.title)

            await check_odd_documents(store, ids)
            notes = [r.getMessage() for r in caplog.records if f"source={ids['/many']} " in r.getMessage()]
            assert any(f"stopped at {CAP} entries" in note for note in notes), notes

            clock.advance(3600)
            serve_good(server, 1)
            second = await poll_due(store, fetcher, clock=clock, settings=config, owner="t")
    again = {p.source.id: p for p in second.polls}
    assert all(again[ids[f"/good/{i}"]].new == 2 for i in range(GOOD))
    assert all(again[ids[path]].status == "error" for path in BROKEN)
    assert second.new == 2 * GOOD


async def check_odd_documents(store: Store, ids: Mapping[str, int]) -> None:
    """What the odd but valid documents stored, cleaned."""
    names = {path: getattr(await get_source(store, ids[path]), "title", None) for path in ids}
    assert names["/entities"] == "U.S. News & World Report"
    assert names["/entities-json"] == "Smith & Sons – Gazette"
    assert names["/bidi-rss"] == "Evil News"
    assert names["/surrogates"] == "Half pairs"
    assert names["/wrong-types"] == ""

    titles = {path: [row.title for row in await stored_for(store, ids[path])] for path in ids}
    assert titles["/huge-int"] == ["A very long id"]
    assert titles["/surrogates"] == ["Talks resume"]
    assert titles["/entities"] == ["Q&A: Trade & tariffs ’25"]
    assert titles["/entities-json"] == ["Rock & roll"]
    # C1 controls are read as the windows-1252 characters they usually stand for (ftfy).
    assert titles["/bidi-rss"] == ["Summit gnirts desrever ends…›"]
    # Escape sequences go whole: the OSC title escape with its payload, the DCS (C1 0x90, which
    # windows-1252 leaves undefined) with the string it opens.
    assert titles["/bidi-json"] == ["Vote counted"]
    assert "The one good item" in titles["/wrong-types"]
    # The cap keeps the first entries in document order: feeds list the newest first.
    assert titles["/many"] == [f"Firehose item {i} about something" for i in range(CAP)]

    (bidi_text,) = [row.text for row in await stored_for(store, ids["/bidi-json"])]
    # C1 0x9D (undefined in windows-1252) opens an OSC string: unterminated, it runs to the end.
    assert bidi_text == "Line one…\nLine two"
    (rss_text,) = [row.text for row in await stored_for(store, ids["/bidi-rss"])]
    # Decoded character references clean the same way; HTML reads &#x9b; as windows-1252's "›".
    assert rss_text == "Clear screen and ›31m flip done"
    assert names["/bidi-json"] == "Json Wire"


@dataclass
class _Sabotage:
    """Which source's parse goes wrong, and how (a parser bug, or an article that cannot be stored)."""

    source_id: int
    kind: str


class SabotagedParser(ParsePool):
    """The real parser, except for one source: stands in for a bug no hostile document triggers yet."""

    def __init__(self, sabotage: _Sabotage) -> None:
        super().__init__(processes=1)
        self.sabotage = sabotage

    async def parse(self, data: bytes, *, source_id: int, **kwargs: Any) -> ParsedBatch:
        batch = await super().parse(data, source_id=source_id, **kwargs)
        if source_id != self.sabotage.source_id:
            return batch
        if self.sabotage.kind == "raise":
            raise RuntimeError("parser bug \x1b[2J with a long tail " + "x" * 500)
        # An article that skipped cleaning: its lone surrogate fails inside the batch's transaction.
        broken = [replace(a, title=a.title + "\ud800") for a in batch.articles]
        return replace(batch, articles=broken)


@pytest.mark.parametrize("kind", ["raise", "unstorable"])
async def test_any_exception_is_the_sources_own_error(store: Store, kind: str) -> None:
    clock = ManualClock(START)
    config = settings()
    async with FeedServer() as server:
        serve_good(server, 0)
        ids = [(await add_source(store, server.url(f"/good/{i}"), now=clock.now())).id for i in range(10)]
        victim = ids[4]
        async with Fetcher(config, clock) as fetcher, SabotagedParser(_Sabotage(victim, kind)) as parser:
            report = await poll_due(store, fetcher, clock=clock, settings=config, owner="t", parser=parser)
            by_id = {p.source.id: p for p in report.polls}
            assert [by_id[i].status for i in ids] == ["stored"] * 4 + ["error"] + ["stored"] * 5
            reason = by_id[victim].error or ""
            expected = "RuntimeError" if kind == "raise" else "could not store"
            assert expected in reason and len(reason) <= 200 and not hostile.forbidden_in(reason), reason
            failed = await get_source(store, victim)
            assert failed is not None and failed.consecutive_failures == 1 and failed.last_error == reason
            assert failed.next_poll_at is not None and failed.next_poll_at > clock.now()
            counts = [len(await stored_for(store, i)) for i in ids]
            assert counts == [2] * 4 + [0] + [2] * 5

            clock.advance(3600)
            serve_good(server, 1)
            again = await poll_due(store, fetcher, clock=clock, settings=config, owner="t", parser=parser)
    assert again.new == 2 * 9 and again.errors == 1
    failed = await get_source(store, victim)
    assert failed is not None and failed.consecutive_failures == 2
