"""Messages whose text grows when escaped still go out in parts within every platform limit.

Slack turns `&` into `&amp;` (five characters) and `<`/`>` into four; Discord puts a backslash before
markdown characters and a zero-width space into `@everyone`, and leaves URLs whole. The core splits by
each adapter's own measure; the parts, rendered by the real renderers, are checked against the fake
servers' independent copies of Slack's Block Kit limits and Discord's embed limits.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.discord.markup import DISCORD_CAPABILITIES
from adapters.discord.render import render as render_discord
from adapters.slack.limits import SLACK_CAPABILITIES
from adapters.slack.render import render as render_slack
from bot.messages import split_message
from bot.models import Button, Link, Message, Section
from tests.fakes.discord_limits import message_problems
from tests.fakes.slack_blocks import block_problems

# What escaping grows most, and what changes escaping with its neighbours (URLs, @everyone, line starts).
PIECES = [
    "&", "<", ">", "*", "_", "~", "`", "|", "[", "]", "\\", "#", "-", "@everyone", "@here", "<!channel>",
    "https://a.example/x", "https://a.example/x]]]", "😀", "🇰🇷", " ", "\n", "\n# ", "word", "&amp;",
    "\u202e", "\x1b[2J", "\u200d", "\ufeff",
]  # fmt: skip
TEXT = st.lists(st.sampled_from(PIECES), max_size=1500).map("".join)
SHORT = st.lists(st.sampled_from(PIECES), max_size=120).map("".join)
URL = st.sampled_from(["https://a.example/" + "&" * 600, "https://b.example/x_y*z", "", "https://c.example/"])
LINK = st.builds(Link, label=SHORT, url=URL)
SECTION = st.builds(
    Section,
    text=TEXT,
    heading=st.one_of(st.none(), SHORT),
    links=st.lists(LINK, max_size=30).map(tuple),
    context=st.one_of(st.none(), SHORT),
)
BUTTON = st.builds(Button, label=SHORT, action=st.just("mute_story"), value=st.just("12"))
MESSAGE = st.builds(
    Message,
    text=TEXT,
    title=st.one_of(st.none(), SHORT),
    sections=st.lists(SECTION, max_size=14).map(tuple),
    buttons=st.lists(BUTTON, max_size=6).map(tuple),
)


def discord_payload(message: Message) -> dict[str, Any]:
    rendered = render_discord(message)
    components = rendered.view.to_components() if rendered.view is not None else []
    return {
        "content": rendered.content,
        "embeds": [e.to_dict() for e in rendered.embeds],
        "components": components,
    }


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(MESSAGE)
def test_slack_parts_fit_block_kit(message: Message) -> None:
    for part in split_message(message, SLACK_CAPABILITIES):
        rendered = render_slack(part)
        assert block_problems(rendered.blocks) == []
        assert 0 < len(rendered.text) <= 40_000


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(MESSAGE)
def test_discord_parts_fit_discord(message: Message) -> None:
    for part in split_message(message, DISCORD_CAPABILITIES):
        assert message_problems(discord_payload(part), needs_body=False) == []
