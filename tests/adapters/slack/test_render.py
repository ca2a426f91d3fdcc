"""Rendering alone: what the core's splitting by SLACK_CAPABILITIES plus render() make of awkward messages,
checked by the fake Slack's own Block Kit rules."""

from __future__ import annotations

import pytest

from adapters.slack import SLACK_CAPABILITIES
from adapters.slack.mrkdwn import escape, escaped_len
from adapters.slack.render import render
from bot.messages import split_message
from bot.models import Button, Link, Message, Section
from tests.fakes.slack_blocks import block_problems, specials


def _rendered_parts(message: Message) -> list[tuple[str, list[dict[str, object]] | None]]:
    return [(r.text, r.blocks) for r in map(render, split_message(message, SLACK_CAPABILITIES))]


@pytest.mark.parametrize(
    "message",
    [
        # Escaping makes text longer: 5,000 ampersands are 25,000 characters of mrkdwn.
        Message(
            text="&" * 5_000, title="&" * 5_000, sections=(Section(text="&" * 5_000, heading="<" * 500),)
        ),
        Message(
            text="t", sections=tuple(Section(heading=f"h{n}", text="x", context="c") for n in range(200))
        ),
        Message(
            text="t",
            sections=(Section(links=tuple(Link(f"l{n}", f"https://e.example/{n}") for n in range(60))),),
        ),
        Message(
            text="t",
            sections=(Section(text="🙂" * 4_000),),
            buttons=tuple(Button("b" * 500, "mute_story", "1") for _ in range(9)),
        ),
    ],
    ids=["ampersands", "200-sections", "60-links", "wide-characters"],
)
def test_every_part_is_valid_block_kit(message: Message) -> None:
    for text, blocks in _rendered_parts(message):
        assert block_problems(blocks) == []
        assert len(text) <= 40_000 and specials(text, blocks) == []


def test_links_are_buttons_to_web_urls_only() -> None:
    links = (
        Link("ok", "https://news.example/a?x=1&y=<2>"),
        Link("script", "javascript:alert(1)"),
        Link("relative", "/path"),
        Link("", "http://news.example/b"),
    )
    [(_, blocks)] = _rendered_parts(Message(text="t", sections=(Section(text="body", links=links),)))
    assert blocks is not None
    buttons = [e for b in blocks if b["type"] == "actions" for e in b["elements"]]  # type: ignore[union-attr]
    assert [(b["text"]["text"], b["url"]) for b in buttons] == [
        ("ok", "https://news.example/a?x=1&y=<2>"),
        ("http://news.example/b", "http://news.example/b"),
    ]


def test_a_plain_reply_is_text_only_and_escaped() -> None:
    rendered = render(Message(text="Muted story 3 (<!here> & co)"))
    assert rendered.blocks is None and rendered.text == "Muted story 3 (&lt;!here&gt; &amp; co)"


def test_escaping_and_its_measure_agree() -> None:
    for text in ("", "plain", "a & b < c > d", "<!channel> <@U1> <https://x|y>", "&amp;"):
        assert escaped_len(text) == len(escape(text))
    assert escape("<https://evil.example|bank.com>") == "&lt;https://evil.example|bank.com&gt;"
