"""Autodiscovery and OPML, alone and through the real Fetcher against the local feed server."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.clock import ManualClock
from bot.config import IngestSettings
from bot.ingest.discover import discover_feeds
from bot.ingest.feed import FeedError
from bot.ingest.fetch import Fetcher
from bot.ingest.opml import OpmlError, export_opml, parse_opml
from bot.ingest.parse import parse_feed
from bot.models import Source
from tests.fakes.feed_server import FeedServer

PAGE = b"""<!DOCTYPE html><html><head><base href="https://site.example/blog/">
<link rel="stylesheet" href="/style.css">
<link rel="alternate" type="application/rss+xml" title="RSS" href="feed.xml">
<link rel="ALTERNATE" type="application/atom+xml; charset=utf-8" href="https://site.example/atom">
<link rel="alternate" type="application/feed+json" href="feed.json">
<link rel="alternate" type="text/html" hreflang="de" href="/de/">
<link rel="alternate" type="application/rss+xml" href="feed.xml">
<link rel="alternate" type="application/rss+xml" href="javascript:alert(1)">
</head><body></body></html>"""

OPML = b"""<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0"><head><title>Subscriptions</title></head><body>
  <outline text="News">
    <outline text="BBC" title="BBC World" type="rss" xmlUrl="https://feeds.bbci.co.uk/news/world/rss.xml"
             htmlUrl="https://www.bbc.co.uk/news/world"/>
    <outline text="Nested folder">
      <outline text="DW" type="rss" xmlUrl="https://rss.dw.com/rdf/rss-en-all"/>
    </outline>
  </outline>
  <outline text="No URL" type="rss"/>
  <outline text="Gopher" type="rss" xmlUrl="gopher://old.example/feed"/>
  <outline text="Local file" type="rss" xmlUrl="file:///etc/passwd"/>
  <outline text="BBC again" type="rss" xmlUrl="https://feeds.bbci.co.uk/news/world/rss.xml"/>
</body></opml>"""


def test_discover_feeds_in_page_order_without_duplicates() -> None:
    assert discover_feeds(PAGE, "https://site.example/blog/post") == [
        "https://site.example/blog/feed.xml",
        "https://site.example/atom",
        "https://site.example/blog/feed.json",
    ]


def test_page_without_feed_link() -> None:
    with pytest.raises(FeedError) as caught:
        discover_feeds(b"<html><head><title>Shop</title></head></html>", "https://shop.example/")
    assert caught.value.reason == "no feed found at https://shop.example/ (an HTML page without a feed link)"


def test_parse_opml_flattens_and_reports_garbage_per_line() -> None:
    imported = parse_opml(OPML)
    assert [(feed.url, feed.title) for feed in imported.feeds] == [
        ("https://feeds.bbci.co.uk/news/world/rss.xml", "BBC World"),
        ("https://rss.dw.com/rdf/rss-en-all", "DW"),
    ]
    assert imported.feeds[0].html_url == "https://www.bbc.co.uk/news/world"
    assert imported.problems == [
        "line 10: 'No URL' has no xmlUrl",
        "line 11: 'Gopher' has a non-http(s) feed URL: gopher://old.example/feed",
        "line 12: 'Local file' has a non-http(s) feed URL: file:///etc/passwd",
        "line 13: 'BBC again' repeats https://feeds.bbci.co.uk/news/world/rss.xml",
    ]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty OPML document"),
        (b"<opml><body><outline text='x'></body></opml>", "not well-formed XML at line 1"),
        (b"<rss version='2.0'><channel/></rss>", "not an OPML document (root element <rss>)"),
        (
            b'<!DOCTYPE opml [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><opml><body/></opml>',
            "refused: OPML with XML entity declarations",
        ),
    ],
)
def test_broken_opml_is_one_clear_error(data: bytes, reason: str) -> None:
    with pytest.raises(OpmlError) as caught:
        parse_opml(data)
    assert caught.value.reason.startswith(reason)


def test_export_round_trips() -> None:
    sources = [
        Source(id=1, url="https://feeds.example/a.xml", title="A & B <news>"),
        Source(id=2, url="https://feeds.example/b.xml?x=1&y=2"),
        Source(id=3, url="https://feeds.example/c.xml", title="bad\x00control"),
    ]
    data = export_opml(sources, datetime(2026, 3, 1, tzinfo=UTC))
    assert data.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
    assert b'version="2.0"' in data
    imported = parse_opml(data)
    assert [(feed.url, feed.title) for feed in imported.feeds] == [
        ("https://feeds.example/a.xml", "A & B <news>"),
        ("https://feeds.example/b.xml?x=1&y=2", "https://feeds.example/b.xml?x=1&y=2"),
        ("https://feeds.example/c.xml", "badcontrol"),
    ]
    assert imported.problems == []


async def test_html_page_without_feed_link_through_the_fetcher(
    server: FeedServer, settings: IngestSettings, clock: ManualClock
) -> None:
    server.add(
        "/",
        b"<!doctype html><html><head><title>Home</title></head><body>Hi</body></html>",
        content_type="text/html",
    )
    async with Fetcher(settings, clock) as fetcher:
        page = await fetcher.fetch(server.url("/"))
    with pytest.raises(FeedError) as not_a_feed:
        parse_feed(page.body, url=page.url, headers=page.headers)
    assert not_a_feed.value.reason == "HTML page, not a feed"
    with pytest.raises(FeedError) as no_link:
        discover_feeds(page.body, page.url)
    assert no_link.value.reason == f"no feed found at {server.url('/')} (an HTML page without a feed link)"


async def test_html_page_with_feed_link_leads_to_the_feed(
    server: FeedServer, settings: IngestSettings, clock: ManualClock
) -> None:
    page = b'<html><head><link rel="alternate" type="application/rss+xml" href="/rss"></head></html>'
    server.add("/", page, content_type="text/html")
    server.add("/rss", b'<rss version="2.0"><channel><item><title>Found</title></item></channel></rss>')
    async with Fetcher(settings, clock) as fetcher:
        html = await fetcher.fetch(server.url("/"))
        (feed_url,) = discover_feeds(html.body, html.url)
        feed = await fetcher.fetch(feed_url)
    assert parse_feed(feed.body, url=feed.url, headers=feed.headers).entries[0].title == "Found"


async def test_entity_expansion_through_the_fetcher(
    server: FeedServer, settings: IngestSettings, clock: ManualClock
) -> None:
    from tests.bot.ingest.test_parse import LAUGHS

    server.add("/laughs.xml", LAUGHS)
    async with Fetcher(settings, clock) as fetcher:
        result = await fetcher.fetch(server.url("/laughs.xml"))
    with pytest.raises(FeedError) as caught:
        parse_feed(result.body, url=result.url, headers=result.headers)
    assert caught.value.reason.startswith("refused: XML entity 'lol1'")


async def test_garbage_opml_through_the_fetcher(
    server: FeedServer, settings: IngestSettings, clock: ManualClock
) -> None:
    server.add(
        "/subs.opml", b"<opml><body><outline xmlUrl='http://x'>\x00</opml>", content_type="text/x-opml"
    )
    async with Fetcher(settings, clock) as fetcher:
        result = await fetcher.fetch(server.url("/subs.opml"))
    with pytest.raises(OpmlError) as caught:
        parse_opml(result.body)
    assert caught.value.reason.startswith("not well-formed XML at line 1")
