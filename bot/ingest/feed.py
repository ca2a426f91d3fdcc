"""What a parsed feed document is, whichever parser read it, and the error a bad document raises.

Text fields hold HTML: plain-text values are HTML-escaped by the parser, so one `html_to_text` call
downstream turns any of them into plain text without guessing again.
"""

from __future__ import annotations

import html
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from bot.ingest.errors import PollErrorKind

# Entries read from one document at most, unless the caller says otherwise (the ingest setting).
MAX_ENTRIES = 1000


class FeedError(Exception):
    """A document that yields no feed, with a short human reason ("HTML page, not a feed") and its kind
    (`refused` for documents that try entity expansion or external entities)."""

    def __init__(self, reason: str, *, unsupported: bool = False, kind: PollErrorKind = "feed") -> None:
        super().__init__(reason)
        self.reason = reason
        self.kind: PollErrorKind = kind
        # True when the bytes are some other kind of document (HTML, other JSON), not a broken feed.
        self.unsupported = unsupported


@dataclass(frozen=True, slots=True)
class ParsedEntry:
    title: str = ""
    link: str = ""
    guid: str = ""
    summary: str = ""
    content: str = ""
    published: datetime | None = None
    language: str = ""


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    title: str
    link: str
    entries: list[ParsedEntry] = field(default_factory=list)
    language: str = ""
    # "rss20", "atom10", "rss10", "json11"...: for logs and tests, not for decisions.
    version: str = ""
    # Set when a lenient parser recovered entries from a broken document ("not well-formed XML...").
    warning: str = ""
    # The URL relative entry links resolve against when the document gives no better base.
    base_url: str = ""
    # True when the document holds more entries than the cap: only the first (the newest) were read.
    capped: bool = False


def escape_text(text: str) -> str:
    """Plain text in the HTML convention of ParsedEntry fields."""
    return html.escape(text, quote=False)


def struct_to_datetime(value: time.struct_time | None) -> datetime | None:
    """feedparser's UTC struct_time as an aware datetime; None when absent or out of range."""
    if value is None:
        return None
    try:
        return datetime(*value[:6], tzinfo=UTC)
    except (ValueError, OverflowError, TypeError):
        return None
