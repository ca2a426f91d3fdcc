"""Hostile feed text through every platform renderer: the console, Slack's Block Kit and Discord's embeds.

The text reaches the renderers as the core builds it: an alert whose story title, headline, summary
and outlet names are the hostile string, and the real `sources` and `topics` command replies read
from a real SQLite store holding it as source titles, fetch errors and topic names. Every renderer
must drop controls and bidi characters (the shared cleaning step), then escape for its platform.
"""

from __future__ import annotations

import asyncio
import html
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from adapters.console import ConsoleAdapter
from adapters.discord.autocomplete import topic_choices
from adapters.discord.markup import DISCORD_CAPABILITIES
from adapters.discord.render import render as render_discord
from adapters.slack.limits import SLACK_CAPABILITIES
from adapters.slack.render import render as render_slack
from bot.commands import CommandRequest, handle
from bot.config import Settings
from bot.messages import build_alert, split_message
from bot.models import Destination, Link, Message, Platform, Section
from bot.services import StoreCommandServices
from bot.store import open_store
from bot.store.ports import StoreLookups
from bot.views import DevelopmentView
from tests.security.hostile_text import FORBIDDEN, HOSTILE, T0, Hostile, assert_inert, store_hostile

CHANNEL = Destination(Platform.CONSOLE, "local", "console")


def alert_for(case: Hostile) -> Message:
    development = DevelopmentView(
        development_id=7,
        story_id=3,
        story_title=case.raw,
        story_is_new=False,
        headline=case.raw,
        what_is_new=f"{case.raw}\nsecond line {case.raw}",
        first_seen=T0,
        sources=(Link(case.raw, "https://outlet.example/7"), Link("Wire", "https://wire.example/7")),
        source_count=2,
    )
    return build_alert(development, topic_name=case.raw)


class FixedClock:
    def now(self) -> Any:
        return T0


async def command_replies(tmp_path: Path, case: Hostile, platform: Platform) -> list[Message]:
    """The real `sources` and `topics` replies, read from a store holding `case` where feeds put text."""
    database = tmp_path / "storywatch.sqlite"
    await store_hostile(database, (case,))
    store = await open_store(f"sqlite+aiosqlite:///{database}")
    try:
        services = StoreCommandServices(store, FixedClock(), Settings(data_dir=tmp_path))
        replies = []
        for text in ("sources", "topics"):
            request = CommandRequest(platform, "W1", "C1", "U1", text)
            replies.append(await handle(request, services))
        return replies
    finally:
        await store.close()


def visible_prefix(case: Hostile) -> str:
    """What of the case must be readable in a trimmed field: its cleaned start."""
    return case.shown[:40]


# --- Slack ---


def slack_texts(message: Message) -> Iterator[tuple[str, str]]:
    """Every text Slack would show for `message`, as (kind, text): mrkdwn, plain_text or url."""
    for part in split_message(message, SLACK_CAPABILITIES):
        rendered = render_slack(part)
        yield "mrkdwn", rendered.text
        for block in rendered.blocks or []:
            yield from _slack_objects(block)


def _slack_objects(node: Any) -> Iterator[tuple[str, str]]:
    if isinstance(node, dict):
        if node.get("type") in ("mrkdwn", "plain_text"):
            yield node["type"], node["text"]
        if "url" in node:
            yield "url", node["url"]
        for key, value in node.items():
            if key != "text" or not isinstance(value, str):
                yield from _slack_objects(value)
    elif isinstance(node, list):
        for item in node:
            yield from _slack_objects(item)


def assert_slack_safe(message: Message, case: Hostile) -> None:
    texts = list(slack_texts(message))
    for kind, text in texts:
        assert_inert(text, f"slack {kind}")
        if kind == "mrkdwn":
            # Mentions, channel pings and <url|label> links live only between angle brackets.
            assert "<" not in text and ">" not in text, text[:300]
            assert "&" not in re.sub(r"&(?:amp|lt|gt);", "", text), text[:300]
    shown = " ".join(html.unescape(text) if kind == "mrkdwn" else text for kind, text in texts)
    assert visible_prefix(case) in shown


@pytest.mark.parametrize("case", HOSTILE, ids=str)
def test_slack_alert(case: Hostile) -> None:
    assert_slack_safe(alert_for(case), case)


@pytest.mark.parametrize("case", HOSTILE, ids=str)
def test_slack_command_replies(tmp_path: Path, case: Hostile) -> None:
    for reply in asyncio.run(command_replies(tmp_path, case, Platform.SLACK)):
        assert_slack_safe(reply, case)


def test_slack_link_buttons_refuse_urls_with_hidden_characters() -> None:
    hidden = [case.raw[:60] for case in HOSTILE if FORBIDDEN.search(case.raw[:60])]
    sections = tuple(Section(text="t", links=(Link("label", f"https://a.example/{raw}"),)) for raw in hidden)
    texts = list(slack_texts(Message(text="x", sections=sections)))
    assert len(hidden) >= 7 and not [text for kind, text in texts if kind == "url"]
    for kind, text in texts:
        assert_inert(text, f"slack {kind}")


# --- Discord ---

# Discord parses markdown, mentions and masked links in these; author names and footers it shows as is.
_PARSED = ("content", "title", "description", "field name", "field value")
_UNESCAPED_MENTION = re.compile(r"(?<!\\)<[@#]|@(?:everyone|here)")
_UNESCAPED_MASKED_LINK = re.compile(r"(?<!\\)\[[^\]]*(?<!\\)\]\(")


def discord_texts(message: Message, *, reply: bool) -> Iterator[tuple[str, str]]:
    for part in split_message(message, DISCORD_CAPABILITIES):
        rendered = render_discord(part, reply=reply)
        if rendered.content is not None:
            yield "content", rendered.content
        for embed in rendered.embeds:
            data = embed.to_dict()
            for key in ("title", "description", "url"):
                if key in data:
                    yield key, str(data[key])
            if "author" in data:
                yield "author", str(data["author"]["name"])
            if "footer" in data:
                yield "footer", str(data["footer"]["text"])
            for field in data.get("fields", []):
                yield "field name", str(field["name"])
                yield "field value", str(field["value"])
        for item in rendered.view.children if rendered.view is not None else []:
            yield "button", str(getattr(item, "label", ""))


def assert_discord_safe(message: Message, case: Hostile, *, reply: bool) -> None:
    texts = list(discord_texts(message, reply=reply))
    for kind, text in texts:
        assert_inert(text, f"discord {kind}")
        if kind in _PARSED:
            assert not _UNESCAPED_MENTION.search(text), (kind, text[:300])
            assert not _UNESCAPED_MASKED_LINK.search(text), (kind, text[:300])
    unescaped = " ".join(re.sub(r"\\(.)", r"\1", text).replace("\u200b", "") for _, text in texts)
    assert visible_prefix(case) in unescaped


@pytest.mark.parametrize("case", HOSTILE, ids=str)
def test_discord_alert(case: Hostile) -> None:
    assert_discord_safe(alert_for(case), case, reply=False)


@pytest.mark.parametrize("case", HOSTILE, ids=str)
def test_discord_command_replies(tmp_path: Path, case: Hostile) -> None:
    for reply in asyncio.run(command_replies(tmp_path, case, Platform.DISCORD)):
        assert_discord_safe(reply, case, reply=True)


# --- the console adapter ---


def console_output(case: Hostile, tmp_path: Path) -> str:
    async def run() -> str:
        database = tmp_path / "storywatch.sqlite"
        await store_hostile(database, (case,))
        store = await open_store(f"sqlite+aiosqlite:///{database}")
        out = io.StringIO()
        try:
            services = StoreCommandServices(store, FixedClock(), Settings(data_dir=tmp_path))
            adapter = ConsoleAdapter(output=out, lines=["sources", "topics"], width=2000)
            for part in split_message(alert_for(case), adapter.capabilities):
                await adapter.send(CHANNEL, part)
            await adapter.start(lambda request: handle(request, services))
            await asyncio.wait_for(adapter.wait_closed(), 30)
            await adapter.stop()
            assert len(adapter.replies) == 2
        finally:
            await store.close()
        return out.getvalue()

    return asyncio.run(run())


@pytest.mark.parametrize("case", HOSTILE, ids=str)
def test_console_adapter_alerts_and_replies(tmp_path: Path, case: Hostile) -> None:
    printed = console_output(case, tmp_path)
    assert_inert(printed, "console")
    # Markup and mentions are text here: the headline, the outlet and the source line show them whole.
    assert printed.count(visible_prefix(case)) >= 3


def test_discord_topic_suggestions_show_hostile_names_inertly(tmp_path: Path) -> None:
    async def suggestions() -> list[str]:
        database = tmp_path / "storywatch.sqlite"
        await store_hostile(database, HOSTILE)
        store = await open_store(f"sqlite+aiosqlite:///{database}")
        try:
            return [choice.name for choice in await topic_choices(StoreLookups(store), "topic")]
        finally:
            await store.close()

    names = asyncio.run(suggestions())
    assert len(names) == min(len(HOSTILE), 25)
    for name in names:
        assert_inert(name, "discord suggestion")
        assert "\n" not in name and len(name) <= 100
    assert any("[link=file:///etc/passwd]" in name for name in names)
