"""Documents of nothing but tags, which only the fallback parser (feedparser, all Python) reads.

A 2 MB feed that is not well-formed and holds 600,000 tiny elements (`<b>` over and over in a title)
went to feedparser's strict and then its lenient parser at ~50 µs a tag: 23 s of CPU per poll (load
6.8), in a worker thread holding the GIL. The densest real feed in the corpus has 28,000 tags in 835 KB;
past 100,000 the fallback path (documents that are not well-formed, have a DOCTYPE or a charset
conflict) now refuses the document before parsing. The fast path (lxml, in C) reads the rest at any density.
"""

from __future__ import annotations

import pytest

from bot.ingest.fallback import MAX_FALLBACK_TAGS
from bot.ingest.feed import FeedError
from bot.ingest.parse import parse_feed

HEAD = b"<rss version='2.0'><channel><title>t</title><item><link>https://a.example/1</link><title>"


@pytest.mark.parametrize("tag", [b"<b>", b"<a ", b"</", b"<x:y "])
def test_a_broken_document_of_tags_is_refused_before_feedparser_reads_it(tag: bytes) -> None:
    with pytest.raises(FeedError) as caught:
        parse_feed(HEAD + tag * (MAX_FALLBACK_TAGS + 1), url="https://feed.example/rss")
    assert caught.value.kind == "refused"
    assert caught.value.reason == "refused: more than 100,000 tags in a feed that needs the lenient parser"


def test_a_well_formed_document_of_many_tags_is_still_read() -> None:
    body = HEAD + b"News <b/>" + b"<b/>" * 300_000 + b"</title></item></channel></rss>"
    parsed = parse_feed(body, url="https://feed.example/rss")
    assert [entry.link for entry in parsed.entries] == ["https://a.example/1"]
    assert parsed.entries[0].title.startswith("News")
