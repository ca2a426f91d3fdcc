"""A neutral Message as Block Kit: header, sections in mrkdwn, context lines, link buttons, action buttons.

The core has already split the message by SLACK_CAPABILITIES; the trims here are the last guard for
what Capabilities cannot say (a button label of 75, a URL of 3,000) and for replies built elsewhere.
Feed text is cleaned first (controls, bidi, invisible characters: the step every renderer shares), so
a trim never cuts an escape sequence in half; it enters mrkdwn escaped and with `verbatim`, and plain_text
(header, button labels) is never parsed for mentions; links are buttons with a `url`, so no
`<url|label>` is produced at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from adapters.slack.limits import (
    MAX_ACTION_ID,
    MAX_ACTIONS_ELEMENTS,
    MAX_BLOCKS,
    MAX_BUTTON_LABEL,
    MAX_BUTTON_URL,
    MAX_BUTTON_VALUE,
    MAX_FALLBACK_TEXT,
    MAX_HEADER,
    MAX_TEXT_OBJECT,
)
from adapters.slack.mrkdwn import escape, escaped_len, plain, web_url
from bot.messages import truncate, utf16_len
from bot.models import Button, Link, Message, Section

Block = dict[str, Any]

# action_id of our buttons: the prefix, the core's action, the button's position (ids must be unique).
ACTION_PREFIX = "storywatch:"
# Link buttons open a URL; Slack still sends the click, which we only acknowledge.
LINK_PREFIX = "storywatch-link:"


@dataclass(frozen=True, slots=True)
class Rendered:
    """What chat.postMessage and response_url take: the notification text and the blocks (None: text only)."""

    text: str
    blocks: list[Block] | None


def render(message: Message) -> Rendered:
    blocks: list[Block] = []
    if message.title:
        blocks.append(_header(message.title))
    for index, section in enumerate(message.sections):
        blocks.extend(_section_blocks(section, index))
    if message.buttons:
        blocks.append(_actions([_action_button(b, n) for n, b in enumerate(message.buttons)]))
    text = truncate(plain(message.text or message.title or ""), MAX_FALLBACK_TEXT, escaped_len)
    return Rendered(escape(text) or " ", blocks[:MAX_BLOCKS] or None)


def _header(title: str) -> Block:
    return {"type": "header", "text": _plain(truncate(plain(title), MAX_HEADER, utf16_len))}


def _section_blocks(section: Section, index: int) -> list[Block]:
    blocks: list[Block] = []
    body = _section_text(section)
    if body:
        blocks.append({"type": "section", "text": _mrkdwn(body)})
    context = escape(truncate(plain(section.context or ""), MAX_TEXT_OBJECT, escaped_len))
    if context.strip():
        # A context of only invisible characters is empty once cleaned, and Slack refuses an empty one.
        blocks.append({"type": "context", "elements": [_mrkdwn(context)]})
    buttons = [
        button
        for n, link in enumerate(section.links[:MAX_ACTIONS_ELEMENTS])
        if (button := _link_button(link, f"{LINK_PREFIX}{index}:{n}")) is not None
    ]
    if buttons:
        blocks.append(_actions(buttons))
    return blocks


def _section_text(section: Section) -> str:
    """`*heading*` and the text below it, escaped, the text cut to what the block has room for."""
    heading = escape(truncate(plain(section.heading), MAX_HEADER, escaped_len)) if section.heading else ""
    head = f"*{heading}*" if heading else ""
    if not section.text:
        return head
    room = MAX_TEXT_OBJECT - (utf16_len(head) + 1 if head else 0)
    text = escape(truncate(plain(section.text), room, escaped_len))
    return f"{head}\n{text}" if head else text


def _link_button(link: Link, action_id: str) -> Block | None:
    url = web_url(link.url)
    if url is None or len(url) > MAX_BUTTON_URL:
        return None
    label = plain(link.label).strip() or url
    return {
        "type": "button",
        "text": _plain(truncate(label, MAX_BUTTON_LABEL, utf16_len)),
        "url": url,
        "action_id": action_id,
    }


def _action_button(button: Button, position: int) -> Block:
    return {
        "type": "button",
        "text": _plain(truncate(plain(button.label), MAX_BUTTON_LABEL, utf16_len)),
        "action_id": f"{ACTION_PREFIX}{button.action}:{position}"[:MAX_ACTION_ID],
        "value": button.value[:MAX_BUTTON_VALUE],
    }


def _actions(elements: list[Block]) -> Block:
    return {"type": "actions", "elements": elements}


def _plain(text: str) -> dict[str, Any]:
    # Slack refuses an empty text object; a feed title of only spaces still gets one.
    return {"type": "plain_text", "text": text or " ", "emoji": True}


def _mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text, "verbatim": True}
