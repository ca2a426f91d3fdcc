"""Slack's mrkdwn, made harmless: feed text escaped so it can never mention, link or format its way out.

Slack reads `<!channel>`, `<!here>`, `<@U123>`, `<#C123>` and `<https://x|label>` only between angle
brackets, and wants exactly `&`, `<` and `>` escaped as HTML entities; with those escaped (and
`verbatim` set on the text objects, so Slack does not auto-link names), feed text is shown as written.
Before escaping, text gets the cleaning every renderer shares (bot.text_safety).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from bot.messages import utf16_len
from bot.text_safety import clean_untrusted

_ENTITIES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})


def escape(text: str) -> str:
    """`text` as mrkdwn that shows exactly `text`, cleaned of controls, bidi and invisible characters."""
    return clean_untrusted(text).translate(_ENTITIES)


def plain(text: str) -> str:
    """Text for plain_text objects (header, button labels): Slack parses no markup there, only cleaned."""
    return clean_untrusted(text)


def escaped_len(text: str) -> int:
    """How long `text` is once escaped, in UTF-16 units: what Slack's limits count for our mrkdwn.

    The core's splitter measures with this, so a title full of `&` still fits after escaping."""
    return utf16_len(text) + 4 * text.count("&") + 3 * (text.count("<") + text.count(">"))


def web_url(url: str) -> str | None:
    """`url` if it is an absolute http(s) URL a link button may open, else None."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    if any(ch.isspace() or ord(ch) < 0x20 for ch in url) or clean_untrusted(url) != url:
        return None
    return url
