"""Entries without a usable link: no link, a non-http one, or one too long to be an article's.

They used to be stored under url "" and the unique index on url made every later one, from any
source, a duplicate of the first. Each is now its own article under a per-source identity that no
renderer shows as a link. Real polls over loopback, real stores on SQLite and PostgreSQL.
"""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from adapters.console import ConsoleAdapter
from adapters.discord.markup import DISCORD_CAPABILITIES
from adapters.discord.render import render as render_discord
from adapters.slack.limits import SLACK_CAPABILITIES
from adapters.slack.render import render as render_slack
from bot.clock import ManualClock
from bot.config import IngestSettings
from bot.ingest.fetch import Fetcher
from bot.messages import build_alert, split_message
from bot.models import Destination, Platform
from bot.pipeline.polling import poll_due
from bot.presentation import search_developments
from bot.store import Store
from bot.store.schema import articles
from bot.store.sources import add_source
from tests.fakes.feed_server import FeedServer
from tests.security import hostile_feeds as hostile

START = datetime(2025, 9, 29, 8, 0, tzinfo=UTC)
LINKS = {
    "none": None,
    "script": "javascript:alert(1)",
    "mail": "mailto:desk@outlet.example",
    "long": "https://outlet.example/" + "a" * 3000,
    "relative-nowhere": "",
}


def linkless_rss(outlet: str) -> bytes:
    items = []
    for name, link in LINKS.items():
        link_tag = "" if link is None else f"<link>{link}</link>"
        items.append(
            f"<item><title>{outlet} pelican report {name}</title>{link_tag}"
            f'<guid isPermaLink="false">{outlet}-{name}</guid>'
            f"<description>Pelicans seen by {outlet} ({name}).</description></item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{outlet}</title>{''.join(items)}</channel></rss>"
    ).encode()


def linkless_json(outlet: str) -> bytes:
    entries: list[dict[str, Any]] = [
        {"id": f"{outlet}-j{n}", "title": f"{outlet} pelican report j{n}", "content_text": "Pelicans."}
        for n in range(3)
    ]
    entries[1]["url"] = "ftp://outlet.example/file"
    return json.dumps({"version": hostile.JSON_VERSION, "title": outlet, "items": entries}).encode()


def settings() -> IngestSettings:
    return IngestSettings.model_validate(
        {"allowed_private_hosts": ("127.0.0.1",), "politeness_delay_s": 0.0, "poll_interval_s": 600}
    )


async def stored(store: Store) -> list[Any]:
    async with store.read() as conn:
        return list(await conn.execute(select(articles).order_by(articles.c.id)))


async def test_linkless_entries_are_each_their_own_article(store: Store) -> None:
    clock = ManualClock(START)
    config = settings()
    outlets = ["Alpha", "Beta"]
    async with FeedServer() as server:
        for outlet in outlets:
            server.add(f"/{outlet}.xml", linkless_rss(outlet))
            server.add(f"/{outlet}.json", linkless_json(outlet), content_type="application/feed+json")
            for path in (f"/{outlet}.xml", f"/{outlet}.json"):
                await add_source(store, server.url(path), now=clock.now())
        async with Fetcher(config, clock) as fetcher:
            first = await poll_due(store, fetcher, clock=clock, settings=config, owner="t")
            expected = len(outlets) * (len(LINKS) + 3)
            assert first.new == expected, [(p.source.url, p.new, p.folded, p.error) for p in first.polls]
            rows = await stored(store)
            titles = sorted(row.title for row in rows)
            assert titles == sorted(
                [f"{o} pelican report {n}" for o in outlets for n in LINKS]
                + [f"{o} pelican report j{n}" for o in outlets for n in range(3)]
            )
            assert len({row.url for row in rows}) == len(rows)
            assert [
                row.url for row in rows if row.url.startswith(("http", "javascript", "mailto", "ftp"))
            ] == []

            # The same entries next time are the same articles: the identity is stable.
            clock.advance(3600)
            second = await poll_due(store, fetcher, clock=clock, settings=config, owner="t")
    assert second.new == 0 and len(await stored(store)) == expected


async def test_a_linkless_article_renders_without_a_link(store: Store) -> None:
    clock = ManualClock(START)
    config = settings()
    async with FeedServer() as server:
        server.add("/Gamma.xml", linkless_rss("Gamma"))
        await add_source(store, server.url("/Gamma.xml"), now=clock.now())
        async with Fetcher(config, clock) as fetcher:
            await poll_due(store, fetcher, clock=clock, settings=config, owner="t")
    views = await search_developments(store, "pelican", 10)
    assert len(views) == len(LINKS)
    for view in views:
        assert [link.url for link in view.sources] == [""], view.sources
        assert [link.label for link in view.sources] == ["Gamma"]
        alert = build_alert(view, topic_name="Birds")
        slack = [render_slack(part).blocks for part in split_message(alert, SLACK_CAPABILITIES)]
        discord = [render_discord(part) for part in split_message(alert, DISCORD_CAPABILITIES)]
        shown = json.dumps(slack) + json.dumps([[e.to_dict() for e in r.embeds] for r in discord])
        assert "urn:" not in shown and '"url"' not in json.dumps(slack)
        assert all(e.url is None for r in discord for e in r.embeds)
        assert all(field.value for r in discord for e in r.embeds for field in e.fields)
        out = io.StringIO()
        console = ConsoleAdapter(output=out, width=200)
        for part in split_message(alert, console.capabilities):
            await console.send(Destination(Platform.CONSOLE, "local", "console"), part)
        assert "urn:" not in out.getvalue() and "Gamma" in out.getvalue()
