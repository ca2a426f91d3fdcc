"""Feed text made inert for Discord, how long it is once escaped, and what one Discord message may hold.

Discord parses markdown, masked links (`[bank.com](https://evil)`), mentions (`<@123>`, `<@&456>`,
`<#789>`, `@everyone`, `@here`) and emoji/timestamp tags (`<:x:1>`, `<t:0>`) in message content, embed
titles, descriptions and field names. Every backslash-escaped punctuation character shows as itself,
so escaping is: a backslash before each markdown character and every `<`, a zero-width space inside
`@everyone`/`@here`; URLs are left whole so they stay clickable. Author names and footers are shown
as plain text by Discord and get only the shared cleaning (controls, bidi, invisible characters).
"""

from __future__ import annotations

import re

from bot.messages import Capabilities, utf16_len
from bot.text_safety import clean_untrusted

_URL = r"https?://[^\s<]+[^<.,:;\"'\])\s]"
_ESCAPE = re.compile(
    rf"(?P<url>{_URL})"
    r"|(?P<char>[\\*_~`|\[\]<>])"
    r"|(?P<line>^[ \t]*[#\-])"
    r"|(?P<ping>@(?=everyone|here))",
    re.MULTILINE | re.IGNORECASE,
)
_ZERO_WIDTH_SPACE = "\u200b"


def _escaped(match: re.Match[str]) -> str:
    if match.group("url") is not None:
        return match.group()
    if match.group("ping") is not None:
        return "@" + _ZERO_WIDTH_SPACE
    if match.group("line") is not None:
        text = match.group()
        stripped = text.lstrip(" \t")
        return text[: len(text) - len(stripped)] + "\\" + stripped
    return "\\" + match.group()


def escape(text: str) -> str:
    """`text` as Discord shows it literally: no formatting, no links hidden behind words, no pings."""
    return _ESCAPE.sub(_escaped, plain(text))


def plain(text: str) -> str:
    """Text for places Discord does not parse (author names, footers): only unsafe characters removed."""
    return clean_untrusted(text)


def discord_len(text: str) -> int:
    """How long `text` is once escaped, in UTF-16 units: the measure the core splits Discord messages by."""
    return utf16_len(escape(text))


# Discord's limits (developers/resources/message: Embed Limits), for the neutral Message as render.py
# maps it: the title is the first embed's author line, each section an embed (heading: title, text:
# description, links: fields of label and URL, context: footer).
DISCORD_CAPABILITIES = Capabilities(
    max_text=2_000,
    max_title=256,
    max_sections=10,
    max_heading=256,
    max_section_text=4_096,
    max_context=2_048,
    max_fields=25,
    max_field=1_024,
    max_total=6_000,
    max_buttons=5,
    max_button_label=80,
    threads=True,
    buttons=True,
    # A channel takes 5 messages per 5 s; the bot 50 requests a second in all (a few go to threads).
    per_channel_rate=1.0,
    global_rate=40.0,
    measure=discord_len,
)
