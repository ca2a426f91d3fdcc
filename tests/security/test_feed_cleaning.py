"""Hostile strings and oversized documents, through each parser path: cleaned at the edge, capped, and
never an exception other than FeedError.

Paths: the lxml fast path (RSS, Atom), feedparser (a DOCTYPE sends a document there) and JSON Feed.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

import pytest

from bot.clock import ManualClock
from bot.config import IngestSettings
from bot.ingest.feed import FeedError
from bot.ingest.fetch import Fetcher
from bot.ingest.identity import to_articles
from bot.ingest.normalise import clean_title
from bot.ingest.parse import parse_feed
from bot.models import web_link
from bot.pipeline.polling import poll_due
from bot.store import Store
from bot.store.articles import get_articles
from bot.store.sources import add_source, get_source
from tests.fakes.feed_server import FeedServer
from tests.security import hostile_feeds as hostile

FETCHED = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
DOCTYPE = b'<?xml version="1.0"?><!DOCTYPE rss>'


def articles_of(data: bytes, content_type: str = "") -> tuple[str, list[tuple[str, str, str]]]:
    """The source name and (title, text, url) of each article, as a poll would store them."""
    parsed = parse_feed(data, url="https://feed.example/", headers={"content-type": content_type})
    name = clean_title(parsed.title)
    return name, [(a.title, a.text, a.url) for a in to_articles(parsed, 1, name, FETCHED)]


def test_a_huge_integer_in_a_json_feed_is_read_as_text() -> None:
    parsed = parse_feed(hostile.huge_integer_json_feed(5000))
    (entry,) = parsed.entries
    assert entry.guid == "9" * 5000 and entry.title == "A very long id"


@pytest.mark.parametrize(
    "document",
    [
        hostile.lone_surrogate_json_feed(),
        # XML cannot carry a surrogate, but a character reference can name one: feedparser used to crash.
        DOCTYPE + b'<rss version="2.0"><channel><title>Half &#xd800; pairs</title><item>'
        b"<title>Talks &#xDC00;resume&#55296;</title><link>https://surrogate.example/1</link>"
        b"<description>Text &#xd83d; with a broken pair</description></item></channel></rss>",
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>Half &#xd800; pairs</title><item>'
        b"<title>Talks &#xDC00;resume&#55296;</title><link>https://surrogate.example/1</link>"
        b"<description>Text &#xd83d; with a broken pair</description></item></channel></rss>",
    ],
    ids=["json", "feedparser", "fast-path-fallback"],
)
def test_lone_surrogates_never_leave_the_parser(document: bytes) -> None:
    name, articles = articles_of(document)
    ((title, text, url),) = articles
    assert not hostile.forbidden_in(name + title + text + url)
    assert (title, url) == ("Talks resume", "https://surrogate.example/1")
    assert "Half" in name and "pairs" in name
    (name + title + text).encode("utf-8")


CONTROL_RSS_ITEM = (
    "<item><title>Vote&#x7; count\u2067ed\u0090 today\u202e</title><link>https://c.example/1</link>"
    "<description><![CDATA[<p>Clear &#x1b;[2J&#x9b; now &#x202e;flip&#x2069; and &#x200f;mark</p>]]>"
    "</description></item>"
)


@pytest.mark.parametrize(
    ("document", "content_type"),
    [
        (hostile.control_and_bidi_rss(), ""),
        (hostile.control_and_bidi_json_feed(), "application/feed+json"),
        (
            f'<?xml version="1.0"?><rss version="2.0"><channel><title>A\u202eB</title>{CONTROL_RSS_ITEM}'
            "</channel></rss>".encode(),
            "",
        ),
        (
            f'<!DOCTYPE rss><rss version="2.0"><channel><title>A\u202eB</title>{CONTROL_RSS_ITEM}'
            "</channel></rss>".encode(),
            "",
        ),
        (
            '<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>A\u2066B\u0085</title>'
            '<entry><title type="html">Vote\u009b count\u200e &amp;#x202e;ed</title><id>x</id>'
            '<link href="https://c.example/2"/><content type="html">&lt;p&gt;Clear &amp;#x1b;[2J'
            "\u202d&lt;/p&gt;</content></entry></feed>".encode(),
            "",
        ),
    ],
    ids=["rss", "json", "rss-charrefs", "feedparser", "atom"],
)
def test_controls_and_bidi_are_removed_from_every_field(document: bytes, content_type: str) -> None:
    name, articles = articles_of(document, content_type)
    assert articles and name
    for title, text, url in articles:
        assert title and url.startswith("https://")
        assert not hostile.forbidden_in(name + title + text + url), (name, title, text)


@pytest.mark.parametrize(
    ("html", "title"),
    [
        ("U.S. News &amp; World Report", "U.S. News & World Report"),
        ("U.S. News &amp;amp; World Report", "U.S. News & World Report"),
        ("Q&amp;amp;amp;A &amp;#8217;25", "Q&A ’25"),
        ("Smith &amp;amp;#8211; Sons", "Smith – Sons"),
        ("AT&amp;T &lt;b&gt;bold&lt;/b&gt;", "AT&T <b>bold</b>"),
        ("AT&T stays, &c.", "AT&T stays, &c."),
        ("Escape &amp;#x1b;[2J &amp;amp;#x202e;gone", "Escape [2J gone"),
    ],
)
def test_entities_in_titles_are_decoded_even_when_escaped_twice(html: str, title: str) -> None:
    assert clean_title(html) == title


def test_oversized_fields_are_capped_and_overlong_links_dropped() -> None:
    long_link = "https://long.example/" + "a" * 5000
    items = [{"id": "1", "url": long_link, "title": "T" * 100_000, "content_text": "word " * 400_000}]
    parsed = parse_feed(hostile.json_feed("N" * 50_000, items))
    (entry,) = parsed.entries
    assert entry.link == "" and len(entry.title) <= 8_000 and len(entry.content) <= 1_000_000
    ((title, text, url),) = [(a.title, a.text, a.url) for a in to_articles(parsed, 1, "n", FETCHED)]
    assert len(title) <= 500 and len(text) <= 4000 and web_link(url) == ""


def many_atom(count: int) -> bytes:
    entries = "".join(
        f'<entry><title>Entry {i}</title><id>urn:e:{i}</id><link href="https://a.example/{i}"/></entry>'
        for i in range(count)
    )
    return f'<feed xmlns="http://www.w3.org/2005/Atom"><title>A</title>{entries}</feed>'.encode()


def many_json(count: int) -> bytes:
    items = [{"id": str(i), "url": f"https://j.example/{i}", "title": f"Entry {i}"} for i in range(count)]
    return hostile.json_feed("J", items)


def many_feedparser(count: int) -> bytes:
    return DOCTYPE + hostile.many_entries_rss(count).split(b"?>", 1)[1]


MANY = {
    "rss": hostile.many_entries_rss,
    "atom": many_atom,
    "json": many_json,
    "feedparser": many_feedparser,
}


@pytest.mark.parametrize("kind", sorted(MANY))
def test_a_document_is_read_up_to_the_entry_cap_in_its_own_order(kind: str) -> None:
    parsed = parse_feed(MANY[kind](1_005))
    assert parsed.capped and len(parsed.entries) == 1000
    assert [e.link.rsplit("/", 1)[-1] for e in parsed.entries] == [str(i) for i in range(1000)]
    assert not parsed.warning
    small = parse_feed(MANY[kind](12), max_entries=12)
    assert not small.capped and len(small.entries) == 12
    few = parse_feed(MANY[kind](12), max_entries=3)
    assert few.capped and [e.link.rsplit("/", 1)[-1] for e in few.entries] == ["0", "1", "2"]


def test_a_hundred_thousand_entries_stop_at_the_cap() -> None:
    document = hostile.many_entries_rss(100_000)
    assert len(document) > 12_000_000
    parsed = parse_feed(document)
    assert parsed.capped and len(parsed.entries) == 1000


async def test_the_poll_uses_the_configured_cap_and_says_so(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.pipeline.polling")
    clock = ManualClock(FETCHED)
    config = IngestSettings(
        allowed_private_hosts=("127.0.0.1",), politeness_delay_s=0, max_entries_per_document=3
    )
    async with FeedServer() as server:
        server.add("/many", hostile.many_entries_rss(50))
        source = await add_source(store, server.url("/many"), now=clock.now())
        async with Fetcher(config, clock) as fetcher:
            report = await poll_due(store, fetcher, clock=clock, settings=config, owner="t")
    ((poll),) = report.polls
    assert poll.status == "stored" and poll.new == 3
    stored = await get_articles(store, [a.id for a in poll.saved if a.id is not None])
    assert sorted(a.url for a in stored) == [f"https://many.example/{i}" for i in range(3)]
    assert any(f"source={source.id} stopped at 3 entries" in r.getMessage() for r in caplog.records)


async def test_a_source_title_is_stored_decoded(store: Store) -> None:
    clock = ManualClock(FETCHED)
    config = IngestSettings(allowed_private_hosts=("127.0.0.1",), politeness_delay_s=0)
    async with FeedServer() as server:
        server.add("/entities", hostile.entity_titles_rss())
        source = await add_source(store, server.url("/entities"), now=clock.now())
        async with Fetcher(config, clock) as fetcher:
            report = await poll_due(store, fetcher, clock=clock, settings=config, owner="t")
    updated = await get_source(store, source.id)
    assert updated is not None and updated.title == "U.S. News & World Report"
    assert [a.source_name for a in report.saved] == ["U.S. News & World Report"]


@pytest.mark.parametrize(
    "document",
    [
        b'{"version": "https://jsonfeed.org/version/1.1", "items": ['
        + b"[" * 100_000
        + b"]" * 100_000
        + b"]}",
        b'{"version": "https://jsonfeed.org/version/1.1", "items": [{"id": 1e999999}]}',
        json.dumps(
            {"version": "https://jsonfeed.org/version/1.1", "items": [{"date_published": "9" * 5000}]}
        ).encode(),
        DOCTYPE + b'<rss version="2.0"><channel><item><title>&#x110000;&#99999999999999999999;</title>'
        b"</item></channel></rss>",
    ],
    ids=["deep-json", "huge-float", "huge-date", "charrefs-out-of-range"],
)
def test_odd_documents_end_as_a_feed_or_a_feed_error(document: bytes) -> None:
    try:
        parsed = parse_feed(document)
    except FeedError as exc:
        assert exc.reason and len(exc.reason) < 300
    else:
        to_articles(parsed, 1, "x", FETCHED)
