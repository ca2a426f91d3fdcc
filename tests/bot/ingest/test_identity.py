"""Item-key choice per feed document, and the Articles to_articles builds."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.ingest.feed import ParsedEntry, ParsedFeed
from bot.ingest.identity import (
    MAX_KEY_CHARS,
    choose_key_kind,
    linkless_url,
    parse_articles_async,
    to_articles,
)
from bot.models import web_link
from tests.bot.ingest.conftest import FETCHED_AT

WHEN = datetime(2026, 2, 1, 8, 0, tzinfo=UTC)


def feed(*entries: ParsedEntry, link: str = "https://news.example/") -> ParsedFeed:
    return ParsedFeed(title="News", link=link, entries=list(entries), language="en")


def keys(parsed: ParsedFeed) -> list[str]:
    return [article.item_key for article in to_articles(parsed, 7, "News", FETCHED_AT)]


def test_unique_guids_are_the_key() -> None:
    parsed = feed(
        ParsedEntry(title="A", link="https://news.example/a", guid="id-1"),
        ParsedEntry(title="B", link="https://news.example/b", guid="id-2"),
    )
    assert keys(parsed) == ["guid:id-1", "guid:id-2"]


def test_repeated_guids_fall_back_to_links() -> None:
    parsed = feed(
        ParsedEntry(title="A", link="https://news.example/a?utm_source=rss", guid="same"),
        ParsedEntry(title="B", link="https://news.example/b", guid="same"),
    )
    assert keys(parsed) == ["link:https://news.example/a", "link:https://news.example/b"]


def test_missing_guid_on_one_entry_falls_back_to_links() -> None:
    parsed = feed(
        ParsedEntry(title="A", link="/a", guid="id-1"),
        ParsedEntry(title="B", link="/b"),
    )
    assert keys(parsed) == ["link:https://news.example/a", "link:https://news.example/b"]


def test_repeated_links_and_guids_fall_back_to_title_and_date_hash() -> None:
    parsed = feed(
        ParsedEntry(title="Live: day 1", link="https://news.example/live", published=WHEN),
        ParsedEntry(title="Live: day 2", link="https://news.example/live", published=WHEN),
    )
    produced = keys(parsed)
    assert [key.split(":")[0] for key in produced] == ["hash", "hash"]
    assert produced[0] != produced[1]
    assert produced == keys(parsed)


def test_choose_key_kind() -> None:
    entries = [ParsedEntry(guid="x"), ParsedEntry(guid="y")]
    assert choose_key_kind(entries, ["", ""]) == "guid"
    assert choose_key_kind([ParsedEntry(), ParsedEntry()], ["u1", "u2"]) == "link"
    assert choose_key_kind([ParsedEntry(), ParsedEntry()], ["u1", "u1"]) == "hash"


def test_long_guids_are_hashed_to_fit() -> None:
    parsed = feed(ParsedEntry(title="A", guid="g" * 500), ParsedEntry(title="B", guid="h" * 500))
    produced = keys(parsed)
    assert all(len(key) <= MAX_KEY_CHARS for key in produced)
    assert all(key.startswith("guid#") for key in produced)


def test_duplicate_entries_become_one_article() -> None:
    same = ParsedEntry(title="Same", published=WHEN)
    assert len(keys(feed(same, same))) == 1


def test_article_fields() -> None:
    parsed = feed(
        ParsedEntry(
            title="<b>Talks</b> resume &amp; continue",
            link="/world/talks?utm_campaign=x",
            guid="tag:news.example,2026:1",
            summary="<p>Short</p>",
            content="<p>The talks resumed on Monday.</p><script>x()</script>",
            published=WHEN,
        ),
        ParsedEntry(guid="2", summary="<p>An entry with only text, which becomes its title.</p>"),
        ParsedEntry(),
    )
    first, second = to_articles(parsed, 7, "News", FETCHED_AT)
    assert first.title == "Talks resume & continue"
    assert first.url == "https://news.example/world/talks"
    assert first.text == "The talks resumed on Monday."
    assert first.published == WHEN
    assert (first.source_id, first.source_name, first.fetched_at) == (7, "News", FETCHED_AT)
    assert first.language == "en"
    assert first.item_key == "guid:tag:news.example,2026:1"
    assert second.title == "An entry with only text, which becomes its title."
    # No link: an identity of its own (this source, this item), which is no web link.
    assert second.url == linkless_url(7, "guid:2") and web_link(second.url) == ""
    assert second.published == FETCHED_AT


def test_non_http_links_are_not_urls() -> None:
    parsed = feed(ParsedEntry(title="A", link="javascript:alert(1)"), link="")
    (article,) = to_articles(parsed, 1, "x", FETCHED_AT)
    assert article.url.startswith("urn:storywatch:article:1:") and web_link(article.url) == ""


async def test_parse_articles_async() -> None:
    data = b'<rss version="2.0"><channel><title>N</title><item><title>One</title><link>/1</link></item>'
    data += b"</channel></rss>"
    parsed, articles = await parse_articles_async(
        data, source_id=3, source_name="N", fetched_at=FETCHED_AT, url="https://n.example/rss"
    )
    assert parsed.title == "N"
    assert [(a.title, a.url, a.source_id) for a in articles] == [("One", "https://n.example/1", 3)]
