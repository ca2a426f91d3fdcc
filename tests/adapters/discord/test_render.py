"""Messages as Discord embeds: the layout, escaping of feed text, every split part within Discord's limits."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import discord
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.discord.markup import DISCORD_CAPABILITIES, discord_len, escape
from adapters.discord.render import button_of, nonce_for, render, thread_name
from bot.messages import build_alert, split_message
from bot.models import Button, Link, Message, Section
from bot.views import DevelopmentView
from tests.fakes.discord_limits import message_problems

T0 = datetime(2026, 5, 1, 9, 30, tzinfo=UTC)
INJECTIONS = "@everyone @here <@123> <@&456> [bank.com](https://evil.example/login)"


def development(
    headline: str, what: str = "what is new", labels: tuple[str, ...] = ("Reuters", "AP")
) -> DevelopmentView:
    links = tuple(Link(label, f"https://{label.lower().replace(' ', '')}.example/1") for label in labels)
    return DevelopmentView(12, 7, "Korea talks", False, headline, what, T0, links, len(labels), "korea")


def payload(message: Message, *, reply: bool = False) -> dict[str, Any]:
    """The JSON discord.py would send for `message`."""
    rendered = render(message, reply=reply)
    data: dict[str, Any] = {"embeds": [embed.to_dict() for embed in rendered.embeds]}
    if rendered.content is not None:
        data["content"] = rendered.content
    if rendered.view is not None:
        data["components"] = rendered.view.to_components()
    return data


async def test_an_alert_is_one_embed_with_its_story_headline_sources_and_buttons() -> None:
    alert = build_alert(
        development("Summit set for Hanoi"), topic_name="Korea diplomacy", timezone="Asia/Seoul"
    )
    [part] = split_message(alert, DISCORD_CAPABILITIES)
    rendered = render(part)
    assert rendered.content is None, "a delivered alert is its embed; the text only repeats it"
    [embed] = rendered.embeds
    assert embed.author.name == "Story: Korea talks"
    assert embed.title == "Summit set for Hanoi" and embed.url == "https://reuters.example/1"
    assert embed.description == "what is new"
    assert [(field.name, field.value, field.inline) for field in embed.fields] == [
        ("Reuters", "https://reuters.example/1", True),
        ("AP", "https://ap.example/1", True),
    ]
    assert embed.footer.text == "1 May 2026 18:30 KST · 2 sources · Korea diplomacy · story 7"
    assert rendered.view is not None and rendered.view.is_finished(), "clicks are routed by custom id"
    buttons = [item for item in rendered.view.children if isinstance(item, discord.ui.Button)]
    assert [(b.label, b.custom_id) for b in buttons] == [
        ("Mute this story", "storywatch:mute_story:7"),
        ("Open timeline", "storywatch:open_timeline:7"),
    ]
    assert button_of("storywatch:mute_story:7") == Button("", "mute_story", "7")
    assert button_of("someone-else:mute_story:7") is None


async def test_a_reply_shows_its_text_above_its_embeds() -> None:
    reply = Message(text="This channel follows 2 topics.", title="Subscriptions", sections=(Section("a\nb"),))
    rendered = render(reply, reply=True)
    assert rendered.content == "This channel follows 2 topics."
    assert rendered.embeds[0].author.name == "Subscriptions" and rendered.embeds[0].description == "a\nb"
    plain = render(Message(text="Digest on its way (1 topic)."), reply=True)
    assert (plain.content, plain.embeds, plain.view) == ("Digest on its way (1 topic).", [], None)


def test_mentions_and_markdown_in_feed_text_are_inert() -> None:
    escaped = escape(INJECTIONS + "\n# heading\n-# small\n> quote **bold** __u__ ~~s~~ ||spoiler|| `code`")
    assert "@everyone" not in escaped and "@\u200beveryone" in escaped and "@\u200bhere" in escaped
    assert "\\<@123\\>" in escaped and "\\<@&456\\>" in escaped
    # The masked link shows as text with its real address, not as 'bank.com'.
    assert "\\[bank.com\\](https://evil.example/login)" in escaped
    for line in escaped.splitlines()[1:]:
        assert line.startswith("\\"), line
    assert "\\*\\*bold\\*\\*" in escaped and "\\|\\|spoiler\\|\\|" in escaped
    # A bare address stays whole and clickable; its underscores are not escaped.
    assert escape("see https://example.com/a_b_c.") == "see https://example.com/a_b_c."


async def test_an_alert_with_injections_everywhere_renders_inert() -> None:
    alert = build_alert(development(INJECTIONS, INJECTIONS, (INJECTIONS,)), topic_name=INJECTIONS)
    data = payload(split_message(alert, DISCORD_CAPABILITIES)[0])
    [embed] = data["embeds"]
    for text in (embed["title"], embed["description"], embed["fields"][0]["name"]):
        assert "@everyone" not in text and "<@" not in text.replace("\\<@", "") and "\\[bank.com\\]" in text
    # Author names and footers are not parsed by Discord: plain text there, no backslashes to show.
    assert embed["footer"]["text"].count("\\") == 0
    assert message_problems(data) == []


def test_thread_names_and_nonces_fit_discord() -> None:
    long = Message(text="x", title="A story " * 40, metadata={"thread_name": "Korea talks\nresume " * 20})
    assert len(thread_name(long)) <= 100 and "\n" not in thread_name(long)
    assert thread_name(Message(text="", title=None)) == "storywatch"
    key = "alert:discord:123456789012345678:234567890123456789:99999#3"
    assert len(nonce_for(key)) == 25 and nonce_for(key) == nonce_for(key) != nonce_for(key + "x")


# Text heavy in what escaping lengthens, so the escaped measure is what keeps parts within limits.
_NASTY = st.text(alphabet=st.sampled_from("ab *_~`|<>[]#-@\n\\é😀"), max_size=3_000)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    title=_NASTY,
    sections=st.lists(
        st.tuples(_NASTY, _NASTY, st.lists(st.tuples(_NASTY, st.just("https://e.x/a_b")), max_size=30)),
        min_size=1,
        max_size=14,
    ),
)
def test_every_split_part_renders_within_discord_limits(
    title: str, sections: list[tuple[str, str, list[tuple[str, str]]]]
) -> None:
    message = Message(
        text="digest " + title,
        title=title or None,
        sections=tuple(
            Section(text=text, heading=heading or None, links=tuple(Link(label, url) for label, url in links))
            for heading, text, links in sections
        ),
    )
    for part in split_message(message, DISCORD_CAPABILITIES):
        data = _plain_payload(part)
        assert message_problems(data) == [], data


def _plain_payload(message: Message) -> dict[str, Any]:
    # Without buttons, so no running event loop is needed for the view.
    rendered = render(Message(message.text, message.title, message.sections), reply=True)
    data: dict[str, Any] = {"embeds": [embed.to_dict() for embed in rendered.embeds]}
    if rendered.content is not None:
        data["content"] = rendered.content
    return data


def test_the_measure_counts_escaping() -> None:
    assert discord_len("**") == 4 and discord_len("😀") == 2 and discord_len("@everyone") == 10
