"""Feed HTML nested hundreds of thousands deep: lexbor's tree builder is quadratic in nesting depth.

A title or summary of `<div>` 400,000 times (2 MB, the body cap) took minutes of CPU in html_to_text
(16,000 deep: 0.3 s; 50,000 deep: 3 s) on every poll. Only the first 5,000 tags are read now: far more
than the 500 characters of a title or 4,000 of an article's text need, and at most a few hundredths of a
second per field.
"""

from __future__ import annotations

import pytest

from bot.ingest.discover import discover_feeds
from bot.ingest.normalise import MAX_TAGS, clean_text, clean_title, html_to_text


@pytest.mark.parametrize("tag", ["<div>", "<b>", "<table><tr><td>", "<span><p>", "<ul><li><blockquote>"])
def test_deep_nesting_is_read_only_to_the_tag_cap(tag: str) -> None:
    shallow = "News " + tag * (MAX_TAGS // tag.count("<") - 2) + "visible"
    deep = shallow + tag * 400_000 + "hidden"
    assert "visible" in html_to_text(shallow)
    assert "hidden" not in html_to_text(deep)
    assert clean_title(deep).startswith("News") and clean_text(deep).startswith("News")


def test_a_long_real_post_keeps_its_text() -> None:
    paragraph = "<p>Officials met again on <a href='/x'>Tuesday</a> to talk.</p>\n"
    post = "<article>" + paragraph * 3_000 + "</article>"
    text = clean_text(post)
    assert len(text) > 3_900 and text.startswith("Officials met again on Tuesday to talk.")


def test_a_site_page_nested_deep_is_read_only_to_the_tag_cap() -> None:
    # `sources add` parses the page a site serves to find its feed link; the link is in <head>.
    head = '<html><head><link rel="alternate" type="application/rss+xml" href="/feed.xml"></head><body>'
    page = head + "<div>" * 400_000 + '<link rel="alternate" type="application/rss+xml" href="/late.xml">'
    assert discover_feeds(page, "https://site.example/") == ["https://site.example/feed.xml"]
