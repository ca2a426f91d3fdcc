"""Fuzzing the chain a feed goes through: parse -> normalise -> store -> render.

Random bytes, random Unicode (surrogates, controls, bidi, markup, entities) in RSS, Atom and JSON
Feed templates, and random JSON in a JSON Feed's places. Whatever comes in: a bad document is a
FeedError and nothing else; stored articles read back as they were saved; the alert built from a
stored article renders on the console, Slack and Discord without raising and without a control or
bidi character. One SQLite store per test function; in CI the examples are derandomised.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape as xml_escape

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.console import Console

from adapters.console import render as render_console
from adapters.discord.render import render as render_discord
from adapters.slack.render import render as render_slack
from bot.ingest.feed import FeedError
from bot.ingest.identity import to_articles
from bot.ingest.normalise import clean_title
from bot.ingest.parse import parse_feed
from bot.messages.alerts import build_alert
from bot.messages.text import clip
from bot.models import Article, Link
from bot.store import Store, open_store
from bot.store.articles import get_articles, save_articles
from bot.store.sources import add_source
from bot.views import DevelopmentView
from tests.security.hostile_feeds import forbidden_in

FETCHED = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
# STORYWATCH_FUZZ_SCALE=20 for a longer hunt; CI runs the 2,050 examples below.
SCALE = float(os.environ.get("STORYWATCH_FUZZ_SCALE", "1"))


def fuzz(examples: int) -> Any:
    return settings(
        max_examples=max(1, round(examples * SCALE)),
        deadline=None,
        derandomize=IN_CI,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


class Chain:
    """One store and one event loop for a whole test function; `run` pushes one document through."""

    def __init__(self, path: Path) -> None:
        self.loop = asyncio.new_event_loop()
        self.store: Store = self.loop.run_until_complete(open_store(f"sqlite+aiosqlite:///{path}"))
        source = self.loop.run_until_complete(
            add_source(self.store, "https://fuzz.example/feed", now=FETCHED)
        )
        self.source_id = source.id
        self.stored = 0

    def run(self, data: bytes, content_type: str = "application/xml") -> None:
        self.loop.run_until_complete(self._run(data, content_type))

    async def _run(self, data: bytes, content_type: str) -> None:
        try:
            parsed = parse_feed(data, url="https://fuzz.example/feed", headers={"Content-Type": content_type})
        except FeedError as exc:
            assert isinstance(exc.reason, str) and exc.reason
            return
        name = clean_title(parsed.title)
        articles = to_articles(parsed, self.source_id, name, FETCHED)
        assert not forbidden_in(name)
        for article in articles:
            assert not forbidden_in(article.title + article.url + article.language)
            assert not forbidden_in(article.text), article.text
            # An item key is never shown, only compared: it may keep a guid's inner line breaks.
            article.item_key.encode("utf-8")
        saved = await save_articles(self.store, self.source_id, articles, now=FETCHED)
        back = await get_articles(self.store, [a.id for a in saved.saved if a.id is not None])
        assert len(back) == len(saved.saved)
        for mine, theirs in zip(saved.saved, back, strict=True):
            assert (theirs.url, theirs.title, theirs.text, theirs.item_key, theirs.language) == (
                mine.url,
                mine.title,
                mine.text,
                mine.item_key,
                mine.language,
            )
            assert theirs.published == mine.published
            render_everywhere(theirs, name)
        self.stored += len(back)

    def close(self) -> None:
        self.loop.run_until_complete(self.store.close())
        self.loop.close()


@pytest.fixture
def chain(tmp_path: Path) -> Iterator[Chain]:
    opened = Chain(tmp_path / "fuzz.sqlite")
    try:
        yield opened
    finally:
        opened.close()


def render_everywhere(article: Article, source_name: str) -> None:
    """The alert a new development of this one article makes, on every platform: nothing unsafe shown."""
    view = DevelopmentView(
        development_id=1,
        story_id=1,
        story_title=article.title,
        story_is_new=True,
        headline=article.title or article.url,
        what_is_new=clip(article.text, 300),
        first_seen=article.published,
        sources=(Link(source_name or article.url, article.url),),
        source_count=1,
    )
    message = build_alert(view, topic_name="fuzz")
    console = Console(file=io.StringIO(), width=100, color_system=None, force_terminal=False)
    console.print(render_console(message, "alert"))
    shown = {"console": console.file.getvalue()}  # type: ignore[attr-defined]
    slack = render_slack(message)
    shown["slack"] = "\n".join([slack.text, *strings_in(slack.blocks)])
    discord = render_discord(message)
    shown["discord"] = "\n".join(
        [discord.content or "", *(s for e in discord.embeds for s in strings_in(e.to_dict()))]
    )
    for platform, text in shown.items():
        assert not forbidden_in(text), (platform, text)


def strings_in(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings_in(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from strings_in(item)


# Characters of every kind, surrogates included, and the pieces attackers and broken feeds use most.
SNIPPETS = (
    "\ud800", "\udfff", "\ud83d", "\x00", "\x1b[2J", "\x1b]52;c;aGk=\x07", "\x9b31m", "\x85", "\u202e",
    "\u2066", "\u200f", "\u061c", "&amp;", "&amp;amp;", "&#x1b;", "&#x202e;", "&#xd800;", "&#0;",
    "&lt;b&gt;", "<b>", "</title>", "<![CDATA[", "]]>", "<!--", "&", "<", '"', "\r\n", "\t", "\ufeff",
    "\ufffe", "@everyone", "<!channel>", "[/]", "[bold]", "https://", "\u0301", "\u200d", "Ã©", "â€™",
)  # fmt: skip
# Runs of any characters between hostile snippets: few draws per string, so examples stay cheap.
any_text = st.text(st.characters(exclude_categories=()), max_size=10)
hostile_text = st.lists(any_text | st.sampled_from(SNIPPETS), max_size=6).map("".join)


def rss_document(title: str, items: list[tuple[str, str, str]], raw: bool) -> bytes:
    wrap = (lambda s: s) if raw else xml_escape
    body = "".join(
        f"<item><title>{wrap(t)}</title><link>{wrap(link)}</link><guid>{wrap(t)}</guid>"
        f"<description>{wrap(d)}</description><pubDate>{wrap(t[:30])}</pubDate></item>"
        for t, link, d in items
    )
    text = f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{wrap(title)}</title>'
    return (text + body + "</channel></rss>").encode("utf-8", "surrogatepass")


def atom_document(title: str, items: list[tuple[str, str, str]], raw: bool) -> bytes:
    wrap = (lambda s: s) if raw else xml_escape
    body = "".join(
        f'<entry><title type="html">{wrap(t)}</title><link href="{wrap(link).replace(chr(34), "")}"/>'
        f"<id>{wrap(t)}</id><content>{wrap(d)}</content><updated>{wrap(d[:25])}</updated></entry>"
        for t, link, d in items
    )
    text = f'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>{wrap(title)}</title>'
    return (text + body + "</feed>").encode("utf-8", "surrogatepass")


def json_document(title: str, items: list[tuple[str, str, str]], raw: bool) -> bytes:
    document = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": title,
        "items": [
            {"id": t, "url": link, "title": t, "content_html": d, "summary": d, "date_published": t}
            for t, link, d in items
        ],
    }
    # ensure_ascii spells surrogates as \\u escapes; without it they become bytes that are not UTF-8.
    return json.dumps(document, ensure_ascii=not raw).encode("utf-8", "surrogatepass")


TEMPLATES = {"rss": rss_document, "atom": atom_document, "json": json_document}
link_text = st.one_of(
    hostile_text,
    hostile_text.map(lambda s: "https://news.example/" + s),
    st.integers(min_value=0, max_value=10**6).map(lambda n: f"https://news.example/a/{n}"),
)


@fuzz(500)
@given(st.binary(max_size=3000), st.sampled_from(["application/xml", "application/json", "text/html", ""]))
def test_random_bytes(chain: Chain, data: bytes, content_type: str) -> None:
    chain.run(data, content_type)


@fuzz(400)
@given(
    st.binary(max_size=2000), st.sampled_from([b"<?xml version='1.0'?><rss version='2.0'>", b"{", b"<feed>"])
)
def test_random_bytes_after_a_feed_start(chain: Chain, data: bytes, start: bytes) -> None:
    chain.run(start + data)


@fuzz(650)
@given(
    st.sampled_from(sorted(TEMPLATES)),
    hostile_text,
    st.lists(st.tuples(hostile_text, link_text, hostile_text), max_size=4),
    st.booleans(),
)
def test_random_text_in_feed_templates(
    chain: Chain, kind: str, title: str, items: list[tuple[str, str, str]], raw: bool
) -> None:
    chain.run(TEMPLATES[kind](title, items, raw), "application/feed+json" if kind == "json" else "")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | hostile_text,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(any_text, children, max_size=3),
    max_leaves=8,
)
ITEM_KEYS = ("id", "url", "external_url", "title", "content_html", "content_text", "summary",
             "date_published", "date_modified", "language")  # fmt: skip


@fuzz(500)
@given(
    json_values,
    st.lists(st.dictionaries(st.sampled_from(ITEM_KEYS), json_values, max_size=6) | json_values, max_size=4),
    st.sampled_from(["https://jsonfeed.org/version/1.1", "https://jsonfeed.org/version/1", "1.1"]),
    json_values,
)
def test_random_json_in_a_json_feed(
    chain: Chain, title: object, items: list[object], version: str, anything: object
) -> None:
    feed = {"version": version, "title": title, "items": items, "home_page_url": anything, "language": title}
    chain.run(json.dumps(feed).encode("utf-8", "surrogatepass"), "application/feed+json")
    chain.run(json.dumps(anything).encode("utf-8", "surrogatepass"), "application/json")
