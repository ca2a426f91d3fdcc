"""Article URLs never carry a user name or password: `https://bank.example@evil.example/` shows one host
and opens another, so canonical URLs drop userinfo and name only the host a click really goes to."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.ingest.identity import to_articles
from bot.ingest.parse import parse_feed
from bot.ingest.urls import canonical_url

SPOOFED = [
    ("https://bank.example@evil.example/login", "https://evil.example/login"),
    ("https://bank.example:443@evil.example/login", "https://evil.example/login"),
    ("https://user:secret@news.example/a?utm_source=x&id=7", "https://news.example/a?id=7"),
    ("https://bank.example%40x@evil.example/", "https://evil.example/"),
    ("https://a@bank.example@evil.example/", "https://evil.example/"),
    ("https://:@evil.example/", "https://evil.example/"),
    ("https://bank.example@evil.example:8443/x", "https://evil.example:8443/x"),
    ("https://bank.example@[2001:db8::1]/x", "https://[2001:db8::1]/x"),
    ("https://news-example.cdn.ampproject.org/c/s/bank.example@evil.example/x", "https://evil.example/x"),
]


@pytest.mark.parametrize(("url", "canonical"), SPOOFED)
def test_canonical_urls_drop_userinfo(url: str, canonical: str) -> None:
    assert canonical_url(url) == canonical
    assert canonical_url(canonical) == canonical


def test_article_links_from_a_feed_name_the_real_host() -> None:
    feed = b"""<rss version="2.0"><channel><title>T</title><link>https://bank.example@evil.example/</link>
<item><title>Absolute</title><link>https://www.bank.example@evil.example/story/1</link></item>
<item><title>Relative</title><link>/story/2</link></item>
</channel></rss>"""
    parsed = parse_feed(feed)
    articles = to_articles(parsed, 1, "T", datetime(2026, 3, 1, tzinfo=UTC))
    assert [article.url for article in articles] == [
        "https://evil.example/story/1",
        "https://evil.example/story/2",
    ]
