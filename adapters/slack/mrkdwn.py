"""Slack's mrkdwn, made harmless: feed text escaped so it can never mention, link or format its way out.

Slack reads `<!channel>`, `<!here>`, `<@U123>`, `<#C123>` and `<https://x|label>` only between angle
brackets, and wants exactly `&`, `<` and `>` escaped as HTML entities; with those escaped (and
`verbatim` set on the text objects, so Slack does not auto-link names), feed text is shown as written.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from bot.messages import utf16_len

_ENTITIES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})


def escape(text: str) -> str:
    """`text` as mrkdwn that shows exactly `text`."""
    return text.translate(_ENTITIES)


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
    if any(ch.isspace() or ord(ch) < 0x20 for ch in url):
        return None
    return url
