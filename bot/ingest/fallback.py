"""The reference path: feedparser for every document the fast path declines (broken, odd or old formats).

Sanitising and relative-URI rewriting inside HTML are off (we strip HTML ourselves, ~2x faster); links
themselves are still resolved by feedparser against xml:base and the Content-Location we pass.
"""

from __future__ import annotations

import xml.sax
from collections.abc import Mapping
from typing import Any

import feedparser
from feedparser.exceptions import (
    CharacterEncodingOverride,
    CharacterEncodingUnknown,
    NonXMLContentType,
    UndeclaredNamespace,
)

from bot.ingest.feed import FeedError, ParsedEntry, ParsedFeed, escape_text, struct_to_datetime

_PLAIN_TYPES = frozenset({"text/plain", "text"})


def parse_with_feedparser(data: bytes, headers: Mapping[str, str], base_url: str = "") -> ParsedFeed:
    """Parse with feedparser; FeedError when it recovers nothing, a `warning` when it recovered entries."""
    response_headers = {key.lower(): value for key, value in headers.items()}
    if base_url:
        response_headers["content-location"] = base_url
    result: Any = feedparser.parse(
        data, response_headers=response_headers, sanitize_html=False, resolve_relative_uris=False
    )
    # feedparser adds an XML declaration line to documents without one; line numbers shift by it.
    shift = 0 if data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<?xml") else 1
    return feed_from_result(result, base_url, line_shift=shift)


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
