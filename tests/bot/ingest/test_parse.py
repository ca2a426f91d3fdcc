"""parse_feed on hand-made documents: each format, the fast/reference paths, and each kind of refusal."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from bot.ingest.fallback import parse_with_feedparser
from bot.ingest.feed import FeedError
from bot.ingest.parse import parse_feed, parse_feed_async
from bot.ingest.xmlfeed import parse_xml_fast

RSS = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">
<channel><title>World</title><link>https://news.example/</link><language>en-gb</language>
<item>
  <title>Talks resume &amp;amp; continue</title>
  <link>/world/talks?utm_source=rss</link>
  <guid isPermaLink="false">story-1</guid>
  <pubDate>Sun, 01 Mar 2026 09:00:00 +0100</pubDate>
  <description><![CDATA[<p>Short summary</p>]]></description>
  <content:encoded><![CDATA[<p>The full text.</p>]]></content:encoded>
</item>
<item><guid>https://news.example/permalink</guid><title>Guid as link</title></item>
</channel></rss>"""

ATOM = b"""<?xml version="1.0"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:base="https://blog.example/posts/" xml:lang="de">
<title type="text">Blog</title><link href="https://blog.example/"/>
<entry><title type="html">&lt;em&gt;Neu&lt;/em&gt;: Release</title><id>tag:blog.example,2026:1</id>
  <link rel="alternate" href="release.html"/><link rel="enclosure" href="file.mp3"/>
  <updated>2026-02-20T10:00:00Z</updated><summary>A &lt;plain&gt; summary</summary></entry>
</feed>"""

JSON_FEED = rb"""{"version": "https://jsonfeed.org/version/1.1", "title": "J",
 "home_page_url": "https:\/\/j.example\/",
 "language": "en", "items": [{"id": 1, "url": "\/posts\/one", "title": "One", "content_html": "<p>Hi</p>",
 "date_published": "2026-01-05T10:00:00-05:00"}, {"id": "2", "content_text": "No title here"}, "junk"]}"""

ITEM = '<rss version="2.0"><channel><item><title>{}</title></item></channel></rss>'

LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE rss [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<rss version="2.0"><channel><title>&lol9;</title><item><title>&lol9;</title></item></channel></rss>"""


def test_rss2() -> None:
    parsed = parse_feed(RSS, url="https://news.example/rss.xml")
    assert (parsed.title, parsed.link, parsed.language, parsed.version) == (
        "World",
        "https://news.example/",
        "en-gb",
        "rss20",
    )
    first, second = parsed.entries
    assert first.title == "Talks resume &amp; continue"
    assert first.link == "https://news.example/world/talks?utm_source=rss"
    assert first.guid == "story-1"
    assert first.published == datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    assert first.content == "<p>The full text.</p>"
    assert second.link == "https://news.example/permalink"


def test_fast_path_and_feedparser_agree_on_fields() -> None:
    fast = parse_xml_fast(RSS, "https://news.example/rss.xml")
    assert fast is not None
    reference = parse_with_feedparser(RSS, {}, "https://news.example/rss.xml")
    for mine, theirs in zip(fast.entries, reference.entries, strict=True):
        assert (mine.title, mine.link, mine.guid, mine.published) == (
            theirs.title,
            theirs.link,
            theirs.guid,
            theirs.published,
        )


def test_atom_with_xml_base() -> None:
    parsed = parse_feed(ATOM, url="https://blog.example/atom.xml")
    (entry,) = parsed.entries
    assert entry.title == "<em>Neu</em>: Release"
    assert entry.link == "https://blog.example/posts/release.html"
    assert entry.summary == "A &lt;plain&gt; summary"
    assert entry.language == "de"
    assert entry.published == datetime(2026, 2, 20, 10, 0, tzinfo=UTC)


def test_json_feed() -> None:
    parsed = parse_feed(JSON_FEED, url="https://j.example/feed.json")
    assert parsed.version == "json11"
    first, second = parsed.entries
    assert (first.guid, first.title, first.link) == ("1", "One", "/posts/one")
    assert first.published == datetime(2026, 1, 5, 15, 0, tzinfo=UTC)
    assert second.content == "No title here"


@pytest.mark.parametrize(
    ("data", "reason", "unsupported"),
    [
        (b"", "empty document", False),
        (
            b"<!DOCTYPE html><html><head><title>Hi</title></head><body></body></html>",
            "HTML page, not a feed",
            True,
        ),
        (b"<html><body><p>hello</p></body></html>", "HTML page, not a feed", True),
        (
            b'{"rss": {"channel": {"item": []}}}',
            "JSON, but not a JSON Feed (RSS-in-JSON is not a supported feed)",
            True,
        ),
        (b'{"hello": "world"}', "JSON, but not a JSON Feed (not a supported feed)", True),
        (b"[1, 2, 3]", "JSON, but not a JSON Feed (not a supported feed)", True),
        (
            b'{"version": "https://jsonfeed.org/version/1", "items": 5}',
            "JSON Feed without an items list",
            False,
        ),
        (
            b'{"version": \n "x",,}',
            "not valid JSON at line 2 (Expecting property name enclosed in double quotes)",
            False,
        ),
        (b"just some words", "not a supported feed (neither XML nor JSON)", True),
        (
            b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"/>',
            "XML, but not a supported feed (root element <urlset>)",
            True,
        ),
        (
            b'<?xml version="1.0"?>\n<rss version="2.0">\n<channel><title>cut off</ti',
            "not well-formed XML at line 3 (unclosed token)",
            False,
        ),
    ],
)
def test_documents_that_are_not_feeds(data: bytes, reason: str, unsupported: bool) -> None:
    with pytest.raises(FeedError) as caught:
        parse_feed(data)
    assert caught.value.reason == reason
    assert caught.value.unsupported is unsupported


def test_billion_laughs_is_refused_quickly() -> None:
    started = time.monotonic()
    with pytest.raises(FeedError) as caught:
        parse_feed(LAUGHS)
    assert (
        caught.value.reason == "refused: XML entity 'lol1' would expand other entities or load external data"
    )
    assert time.monotonic() - started < 1


def test_billion_laughs_does_not_expand_in_either_parser() -> None:
    assert parse_xml_fast(LAUGHS) is None
    started = time.monotonic()
    try:
        parsed = parse_with_feedparser(LAUGHS, {})
    except FeedError:
        pass
    else:
        assert all(len(entry.title) < 1000 for entry in parsed.entries)
    assert time.monotonic() - started < 2


def test_external_entities_are_refused() -> None:
    xxe = b"""<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<rss version="2.0"><channel><item><title>&xxe;</title></item></channel></rss>"""
    with pytest.raises(FeedError, match="refused: XML entity 'xxe'"):
        parse_feed(xxe)


def test_safe_internal_entities_still_parse() -> None:
    doc = b"""<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY copy "&#169;">]>
<rss version="2.0"><channel><item><title>Photo &copy; Agency</title><link>https://x.example/1</link></item></channel></rss>"""
    (entry,) = parse_feed(doc).entries
    assert entry.title == "Photo © Agency"


def test_http_charset_overrides_the_declaration() -> None:
    doc = '<?xml version="1.0" encoding="utf-8"?>' + ITEM.format("Café")
    parsed = parse_feed(
        doc.encode("iso-8859-1"), headers={"Content-Type": "application/xml; charset=iso-8859-1"}
    )
    assert parsed.entries[0].title == "Café"


def test_windows_1251_without_http_charset() -> None:
    doc = '<?xml version="1.0" encoding="windows-1251"?>' + ITEM.format("Москва")
    assert parse_feed(doc.encode("cp1251")).entries[0].title == "Москва"


@pytest.mark.parametrize(
    ("data", "title", "warning"),
    [
        (
            ('\n<?xml version="1.0"?>\n' + ITEM.format("Still here")).encode(),
            "Still here",
            "repaired: whitespace before the XML declaration",
        ),
        (
            ('<?xml version="1.0" encoding="utf-8"?>' + ITEM.format("It’s é")).encode(),
            "It’s é",
            "",
        ),
        (
            b'<?xml version="1.0" encoding="utf-8"?>' + ITEM.format("It\x92s caf\xe9").encode("latin-1"),
            "It’s café",
            "repaired: bytes invalid for declared encoding utf-8",
        ),
        (
            ('<?xml version="1.0" encoding="utf-16"?>' + ITEM.format("Lying ✓")).encode(),
            "Lying ✓",
            "repaired: declared utf-16 but the bytes are not",
        ),
        (
            ITEM.format("Nul\x00 byte").encode(),
            "Nul byte",
            "repaired: control characters removed",
        ),
    ],
)
def test_common_breakage_is_repaired_with_a_warning(data: bytes, title: str, warning: str) -> None:
    parsed = parse_feed(data)
    assert parsed.entries[0].title == title
    assert parsed.warning == warning


def test_feed_recovered_by_feedparser_carries_its_warning() -> None:
    doc = (
        b'<rss version="2.0"><channel><item><title>Kept</title><description><b>bold</i></description></item>'
    )
    parsed = parse_feed(doc + b"</channel></rss>")
    assert parsed.entries[0].title == "Kept"
    assert parsed.warning.startswith("not well-formed XML at line 1")


async def test_parse_feed_async_runs_off_the_loop() -> None:
    parsed = await parse_feed_async(RSS, url="https://news.example/rss.xml")
    assert len(parsed.entries) == 2
