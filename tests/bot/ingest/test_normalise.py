"""URL canonicalisation, HTML to text, title cleanup, date fallbacks and language."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from bot.ingest.normalise import (
    canonical_url,
    clean_text,
    clean_title,
    html_to_text,
    normalise_language,
    normalise_published,
)

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("url", "canonical"),
    [
        ("HTTP://Example.COM:80/a?b=2&a=1#section", "http://example.com/a?a=1&b=2"),
        ("https://example.com:443", "https://example.com/"),
        ("https://example.com:8443/x", "https://example.com:8443/x"),
        (
            "https://example.com/story?utm_source=rss&utm_medium=feed&UTM_Campaign=x&id=7",
            "https://example.com/story?id=7",
        ),
        (
            "https://example.com/s?fbclid=1&gclid=2&dclid=3&mc_cid=4&mc_eid=5&igshid=6&ref_src=7&p=1",
            "https://example.com/s?p=1",
        ),
        ("https://example.com/s?_hsenc=a&_hsmi=b&yclid=c&msclkid=d&spm=e", "https://example.com/s"),
        ("https://www.aljazeera.com/news/x?traffic_source=rss", "https://www.aljazeera.com/news/x"),
        ("https://example.com/news/story/amp/", "https://example.com/news/story/"),
        ("https://example.com/news/story/amp", "https://example.com/news/story"),
        ("https://example.com/amp/news/story", "https://example.com/news/story"),
        ("https://example.com/news/story.amp", "https://example.com/news/story"),
        ("https://example.com/news/story.amp.html", "https://example.com/news/story.html"),
        ("https://example.com/news/story?amp=1", "https://example.com/news/story"),
        ("https://example.com/news/story?outputType=amp&page=2", "https://example.com/news/story?page=2"),
        ("https://amp.theguardian.com/world/2026/x", "https://www.theguardian.com/world/2026/x"),
        (
            "https://www-example-com.cdn.ampproject.org/c/s/www.example.com/news/story?amp=1",
            "https://www.example.com/news/story",
        ),
        ("https://example.com/amplifiers/amp-50", "https://example.com/amplifiers/amp-50"),
        ("https://example.com/caf%c3%a9?q=%e2%82%ac", "https://example.com/caf%C3%A9?q=%E2%82%AC"),
        ("https://example.com/café", "https://example.com/caf%C3%A9"),
        ("  https://example.com/a  ", "https://example.com/a"),
        ("tag:github.com,2008:Repository/1", "tag:github.com,2008:Repository/1"),
        ("/relative/path", "/relative/path"),
    ],
)
def test_canonical_url(url: str, canonical: str) -> None:
    assert canonical_url(url) == canonical


def test_canonical_url_is_idempotent() -> None:
    url = "https://amp.example.co.uk/amp/a/b.amp?utm_source=x&z=1&a=2#top"
    assert canonical_url(canonical_url(url)) == canonical_url(url)


def test_html_to_text() -> None:
    html = (
        "<p>Hello &amp; <b>welcome</b></p><script>alert(1)</script><style>p{}</style>"
        "<div>one<br>two</div><ul><li>a</li><li>b</li></ul>&nbsp;caf&eacute; &#8217;"
    )
    assert html_to_text(html) == "Hello & welcome\none\ntwo\na\nb\ncafé ’"
    assert html_to_text("  plain   text\n\n\n with   spaces ") == "plain text\nwith spaces"
    assert html_to_text("") == ""
    assert html_to_text("AT&T < AT&amp;T") == "AT&T < AT&T"


def test_clean_title() -> None:
    assert clean_title("  <b>Breaking:</b>\n  news &amp; views ") == "Breaking: news & views"
    assert clean_title("A Kennedyâ€™s Crusade") == "A Kennedy’s Crusade"
    assert clean_title("Piratage imputÃ© Ã\xa0 la Russie") == "Piratage imputé à la Russie"
    assert clean_title("Москва и Café") == "Москва и Café"
    assert clean_title("x" * 600).endswith("…")
    assert len(clean_title("word " * 200)) <= 500


def test_clean_text_caps_length_on_a_word() -> None:
    text = clean_text("<p>" + "lorem ipsum " * 1000 + "</p>", limit=100)
    assert len(text) <= 100
    assert text.endswith("…")
    assert not text[:-1].endswith(" ")


def test_published_in_range_is_kept() -> None:
    when = datetime(2026, 2, 28, 9, 30, tzinfo=UTC)
    assert normalise_published(when, NOW) == (when, "feed")
    naive = datetime(2026, 2, 28, 9, 30)
    assert normalise_published(naive, NOW) == (when, "feed")
    assert normalise_published(time.struct_time((2026, 2, 28, 9, 30, 0, 5, 59, 0)), NOW) == (when, "feed")


def test_published_fallbacks() -> None:
    assert normalise_published(None, NOW) == (NOW, "missing")
    assert normalise_published(NOW + timedelta(hours=3), NOW) == (NOW, "future")
    assert normalise_published(NOW + timedelta(minutes=5), NOW) == (NOW + timedelta(minutes=5), "feed")
    assert normalise_published(datetime(1970, 1, 1, tzinfo=UTC), NOW) == (NOW, "too_old")
    assert normalise_published(datetime(1994, 12, 31, tzinfo=UTC), NOW) == (NOW, "too_old")


def test_language_from_tags_then_guess() -> None:
    assert normalise_language("en-US", "de") == "en"
    assert normalise_language("", "pt_BR") == "pt"
    assert (
        normalise_language(None, "", text="The minister said that the talks will resume in the spring.")
        == "en"
    )
    assert (
        normalise_language(
            text="Der Minister sagte, dass die Gespräche im Frühjahr wieder aufgenommen werden."
        )
        == "de"
    )
    assert (
        normalise_language(text="Le ministre a déclaré que les négociations reprendront au printemps.")
        == "fr"
    )
    assert (
        normalise_language(text="El ministro dijo que las conversaciones se reanudarán en la primavera.")
        == "es"
    )
    assert normalise_language(text="Президент заявил, что переговоры возобновятся весной.") == "ru"
    assert normalise_language(text="白宫提名艾伦为北约最高司令官") == "zh"
    assert normalise_language(text="東京で新しい展示会が始まりました") == "ja"
    assert normalise_language(text="Xyzzy 42") == ""
