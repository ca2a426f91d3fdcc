"""The reference path: feedparser for every document the fast path declines (broken, odd or old formats).

Sanitising and relative-URI rewriting inside HTML are off (we strip HTML ourselves, ~2x faster); links
themselves are still resolved by feedparser against xml:base and the Content-Location we pass.
"""

from __future__ import annotations

import re
import xml.sax
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import feedparser
from feedparser.exceptions import (
    CharacterEncodingOverride,
    CharacterEncodingUnknown,
    NonXMLContentType,
    UndeclaredNamespace,
)

from bot.ingest.feed import (
    MAX_ENTRIES,
    FeedError,
    ParsedEntry,
    ParsedFeed,
    escape_text,
    struct_to_datetime,
)

# feedparser spends ~50 µs in Python on each tag: 600,000 in 2 MB took 23 s. Real feeds hold under 30,000.
MAX_FALLBACK_TAGS = 100_000
_PLAIN_TYPES = frozenset({"text/plain", "text"})
_ENTRY_END = re.compile(rb"</(?:[\w.-]+:)?(?:item|entry)\s*>", re.IGNORECASE)
_CHARREF = re.compile(rb"&#(?:[xX]([0-9a-fA-F]+)|([0-9]+));")


def parse_with_feedparser(
    data: bytes, headers: Mapping[str, str], base_url: str = "", max_entries: int = MAX_ENTRIES
) -> ParsedFeed:
    """Parse with feedparser; FeedError when it recovers nothing, a `warning` when it recovered entries.

    A document with more than `max_entries` entries is cut after the last one read: feedparser, all
    Python, would otherwise spend a minute on a 100,000-item document.
    """
    data, capped = _cut_after_entries(data, max_entries)
    if data.count(b"<") > MAX_FALLBACK_TAGS:
        raise FeedError(
            f"refused: more than {MAX_FALLBACK_TAGS:,} tags in a feed that needs the lenient parser",
            kind="refused",
        )
    response_headers = {key.lower(): value for key, value in headers.items()}
    if base_url:
        response_headers["content-location"] = base_url
    try:
        result: Any = feedparser.parse(
            _CHARREF.sub(_valid_charref, data),
            response_headers=response_headers,
            sanitize_html=False,
            resolve_relative_uris=False,
        )
    except (ValueError, LookupError, RecursionError) as exc:
        # feedparser's lenient reader has corners hostile bytes still reach; they are the document's fault.
        raise FeedError(f"unreadable document ({type(exc).__name__})") from None
    # feedparser adds an XML declaration line to documents without one; line numbers shift by it.
    shift = 0 if data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<?xml") else 1
    parsed = feed_from_result(result, base_url, line_shift=shift)
    if not capped and len(parsed.entries) <= max_entries:
        return parsed
    # The cut end is ours, not the publisher's: it is no warning about the document.
    warning = "" if capped and parsed.warning.startswith("not well-formed") else parsed.warning
    return replace(parsed, entries=parsed.entries[:max_entries], capped=True, warning=warning)


def _valid_charref(match: re.Match[bytes]) -> bytes:
    """A character reference to a surrogate, NUL or past U+10FFFF (which feedparser crashes on) dropped."""
    hex_digits, digits = match.groups()
    text = hex_digits or digits
    if len(text) > 8:
        return b""
    code = int(text, 16 if hex_digits else 10)
    return b"" if code == 0 or 0xD800 <= code <= 0xDFFF or code > 0x10FFFF else match.group(0)


def _cut_after_entries(data: bytes, max_entries: int) -> tuple[bytes, bool]:
    """The document up to the end of its `max_entries`-th entry, when more entries follow."""
    cut = 0
    for ends, match in enumerate(_ENTRY_END.finditer(data), start=1):
        if ends == max_entries:
            cut = match.end()
        elif ends > max_entries:
            return data[:cut], True
    return data, False


def feed_from_result(result: Any, base_url: str = "", line_shift: int = 0) -> ParsedFeed:
    """A ParsedFeed from a feedparser result dict (also how tests compare against feedparser defaults)."""
    problem = describe_bozo(result.get("bozo_exception"), line_shift) if result.get("bozo") else ""
    entries = [_entry(entry) for entry in result.get("entries", [])]
    version = str(result.get("version") or "")
    if not entries:
        exc = result.get("bozo_exception")
        # Nothing recovered from a broken document is an error; an honest empty feed is not.
        if problem and (not version or isinstance(exc, xml.sax.SAXParseException | CharacterEncodingUnknown)):
            raise FeedError(problem)
        if not version:
            raise FeedError("XML, but not a supported feed", unsupported=True)
    feed = result.get("feed", {})
    return ParsedFeed(
        title=_markup(feed, "title"),
        link=str(feed.get("link") or ""),
        entries=entries,
        language=str(feed.get("language") or ""),
        version=version,
        warning=problem,
        base_url=base_url,
    )


def describe_bozo(exc: object, line_shift: int = 0) -> str:
    """feedparser's bozo exception as a short human reason."""
    if isinstance(exc, xml.sax.SAXParseException):
        line = max(1, (exc.getLineNumber() or 1) - line_shift)
        return f"not well-formed XML at line {line} ({exc.getMessage()})"
    if isinstance(exc, CharacterEncodingOverride):
        return f"character encoding problem: {exc}"
    if isinstance(exc, CharacterEncodingUnknown):
        return "unknown character encoding"
    if isinstance(exc, NonXMLContentType):
        return f"not served as XML ({exc})"
    if isinstance(exc, UndeclaredNamespace):
        return f"undeclared XML namespace prefix ({exc})"
    return str(exc)[:200] or type(exc).__name__


def _entry(entry: Any) -> ParsedEntry:
    content = ""
    for part in entry.get("content") or []:
        value = str(part.get("value") or "")
        if len(value) > len(content):
            content = escape_text(value) if part.get("type") in _PLAIN_TYPES else value
    # dict.get, not FeedParserDict.get: the latter maps updated to published with a DeprecationWarning.
    when = (
        dict.get(entry, "published_parsed")
        or dict.get(entry, "updated_parsed")
        or dict.get(entry, "created_parsed")
    )
    detail = entry.get("title_detail") or entry.get("summary_detail") or {}
    return ParsedEntry(
        title=_markup(entry, "title"),
        link=str(entry.get("link") or ""),
        guid=str(entry.get("id") or ""),
        summary=_markup(entry, "summary"),
        content=content,
        published=struct_to_datetime(when),
        language=str(detail.get("language") or ""),
    )


def _markup(node: Any, key: str) -> str:
    value = str(node.get(key) or "")
    detail = node.get(f"{key}_detail") or {}
    return escape_text(value) if detail.get("type") in _PLAIN_TYPES else value
