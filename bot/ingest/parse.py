"""Feed bytes -> ParsedFeed: RSS 0.9x/1.0/2.0, Atom and JSON Feed, or a FeedError with a readable reason.

The document is sniffed first (JSON, HTML, unsafe entity declarations are decided here), then read by
the lxml fast path when it is well-formed and ordinary, else by feedparser, the reference. Parsing is
CPU work: async callers use `parse_feed_async`, which runs it in a worker thread.
"""

from __future__ import annotations

import asyncio
import codecs
import re
from collections.abc import Mapping
from dataclasses import replace
from urllib.parse import urljoin

from bot.ingest.clean import clean_parsed_feed
from bot.ingest.fallback import parse_with_feedparser
from bot.ingest.feed import MAX_ENTRIES, FeedError, ParsedEntry, ParsedFeed
from bot.ingest.jsonfeed import parse_json_feed
from bot.ingest.repair import repair_xml
from bot.ingest.xmlfeed import parse_xml_fast

__all__ = ["FeedError", "ParsedEntry", "ParsedFeed", "parse_feed", "parse_feed_async"]

_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_DECLARED = re.compile(r"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._:-]+)["']""")
_PROLOGUE = re.compile(r"^\s*(<\?[^>]*\?>\s*|<!--.*?-->\s*)*", re.DOTALL)
# How much of a document sniffing reads, unless its prolog runs on past it.
_HEAD_BYTES = 8192
_HTML_ROOTS = frozenset({"html", "head", "body"})
_ROOT = re.compile(r"<([A-Za-z_][\w.:-]*)")
_MARKUP_DECL = re.compile(r"<!(--.*?--|\[CDATA\[.*?\]\]|[^\[>]*(\[.*?\]\s*)?)>|<\?.*?\?>", re.DOTALL)
_DOCTYPE = re.compile(r"<!DOCTYPE[^\[>]*([\[>])")
_SUBSET_END = re.compile(r"\]\s*>")
# One part of an internal subset: a declaration (its quoted values whole), a comment, a PI, a %reference;.
_SUBSET_PART = re.compile(
    r"""\s+|<!--.*?-->|<\?.*?\?>|%[\w.:-]+;|<!(?:"[^"]*"|'[^']*'|[^"'>])*>""", re.DOTALL
)
_ENTITY_DECL = re.compile(r"<!ENTITY\s+(%\s*)?([\w.:-]+)\s+(.*)>", re.DOTALL)
# feedparser keeps only entities whose value is one character reference or text without '&'.
_SAFE_ENTITY_VALUE = re.compile(r"""^("(&#\w+;|[^&"%]*)"|'(&#\w+;|[^&'%]*)')\s*$""")


def parse_feed(
    data: bytes,
    *,
    url: str = "",
    headers: Mapping[str, str] | None = None,
    max_entries: int = MAX_ENTRIES,
) -> ParsedFeed:
    """Parse feed bytes as the fetcher got them; `headers` are the HTTP response headers, if any.

    Only the first `max_entries` entries are read (`capped` says when there were more). Every string
    comes out cleaned (clean.py). Any document fails with FeedError, never another exception.
    """
    headers = {key.lower(): value for key, value in (headers or {}).items()}
    return clean_parsed_feed(_parse(data, url, headers, max_entries))


def _parse(data: bytes, url: str, headers: dict[str, str], max_entries: int) -> ParsedFeed:
    base_url = _base_url(url, headers)
    if not data.strip():
        raise FeedError("empty document")
    head = _head_text(data)
    content_type = headers.get("content-type", "").lower()
    stripped = head.lstrip("\ufeff \t\r\n")
    if stripped.startswith(("{", "[")) or ("json" in content_type and not stripped.startswith("<")):
        return parse_json_feed(data, base_url, max_entries)
    start = _PROLOGUE.sub("", head, count=1)
    if not start.startswith("<") and not stripped.startswith("<"):
        raise FeedError("not a supported feed (neither XML nor JSON)", unsupported=True)
    root = _root_name(start)
    if (root or "").lower() in _HTML_ROOTS or (
        root is None and re.match(r"<!doctype\s+html", start, re.IGNORECASE)
    ):
        raise FeedError("HTML page, not a feed", unsupported=True)
    if root is None and len(data) > _HEAD_BYTES:
        # A prolog longer than the head (padding, comments) can hide a DOCTYPE: read all of it.
        start = _PROLOGUE.sub("", _head_text(data, len(data)), count=1)
        root = _root_name(start)
    _refuse_unsafe_entities(start)
    if _DOCTYPE.match(start) is None and _fast_path_allowed(data, content_type):
        parsed = parse_xml_fast(data, base_url, max_entries)
        if parsed is not None:
            return parsed
        repaired = repair_xml(data)
        if (
            repaired is not None
            and (parsed := parse_xml_fast(repaired[0], base_url, max_entries)) is not None
        ):
            return replace(parsed, warning="repaired: " + "; ".join(repaired[1]))
    try:
        parsed = parse_with_feedparser(data, headers, base_url, max_entries)
    except FeedError as exc:
        # CDF (<CHANNEL>) is a feed format feedparser reads but gives no version when it has no items.
        if exc.unsupported and (root or "").lower() == "channel":
            return ParsedFeed(title="", link="", version="cdf", base_url=base_url)
        if exc.unsupported:
            name = f" (root element <{root}>)" if root else ""
            raise FeedError(f"XML, but not a supported feed{name}", unsupported=True) from None
        detail = _encoding_problem(data)
        raise FeedError(f"{exc.reason}; {detail}" if detail else exc.reason, kind=exc.kind) from None
    if parsed.warning.startswith("character encoding problem") and (detail := _encoding_problem(data)):
        return replace(parsed, warning=f"{detail} ({parsed.warning.split(': ', 1)[-1]})")
    return parsed


async def parse_feed_async(
    data: bytes, *, url: str = "", headers: Mapping[str, str] | None = None, max_entries: int = MAX_ENTRIES
) -> ParsedFeed:
    """`parse_feed` in a worker thread, so a 2 MB feed does not stall the event loop."""
    return await asyncio.to_thread(parse_feed, data, url=url, headers=headers, max_entries=max_entries)


def declared_encoding(data: bytes) -> str | None:
    """The encoding a BOM or the XML declaration claims, or None when neither says."""
    for bom, name in _BOMS:
        if data.startswith(bom):
            return name
    match = _DECLARED.match(data[:256].decode("latin-1"))
    return match.group(1).lower() if match else None


def _base_url(url: str, headers: Mapping[str, str]) -> str:
    location = headers.get("content-location", "").strip()
    if not location:
        return url
    try:
        return urljoin(url, location) if url else location
    except ValueError:
        return url


def _head_text(data: bytes, size: int = _HEAD_BYTES) -> str:
    """The first `size` bytes as text, good enough for sniffing whatever the encoding."""
    chunk = data[:size]
    for bom, name in _BOMS:
        if chunk.startswith(bom):
            return chunk[len(bom) :].decode(name, errors="replace")
    if chunk[:4] in (b"<\x00?\x00", b"<\x00\x00\x00"):
        return chunk.decode("utf-16-le" if chunk[1:4] != b"\x00\x00\x00" else "utf-32-le", errors="replace")
    if chunk[:4] in (b"\x00<\x00?", b"\x00\x00\x00<"):
        return chunk.decode("utf-16-be" if chunk[:3] != b"\x00\x00\x00" else "utf-32-be", errors="replace")
    return chunk.decode("utf-8", errors="replace")


def _root_name(start: str) -> str | None:
    """The document's first element name, after declarations, comments and the DOCTYPE."""
    position = 0
    while (declaration := _MARKUP_DECL.match(start, position)) is not None:
        position = declaration.end()
        while position < len(start) and start[position].isspace():
            position += 1
    root = _ROOT.match(start, position)
    return root.group(1) if root else None


def _refuse_unsafe_entities(start: str) -> None:
    """General entities that expand other entities (billion laughs) or load files (XXE) are refused.

    feedparser would strip them and the fast path never sees a DOCTYPE; refusing says why clearly.
    """
    doctype = _DOCTYPE.match(start)
    if doctype is None or doctype.group(1) != "[":
        return
    position, limit = doctype.end(), doctype.end() + _HEAD_BYTES
    declarations = []
    # Part by part, so a "]>" inside a comment or a value does not end the subset early.
    while (part := _SUBSET_PART.match(start, position, limit)) is not None:
        declarations.append(part.group())
        position = part.end()
    if not _SUBSET_END.match(start, position, limit):
        raise FeedError(
            "refused: a DOCTYPE internal subset that is malformed or larger than 8 KB", kind="refused"
        )
    for match in filter(None, map(_ENTITY_DECL.fullmatch, declarations)):
        parameter, name, value = match.groups()
        value = value.strip()
        if parameter:
            # External ones are never loaded; a literal one is read as declarations, so no markup in it.
            unsafe = value[:1] in ("'", '"') and ("<" in value or not _SAFE_ENTITY_VALUE.match(value))
        else:
            unsafe = not _SAFE_ENTITY_VALUE.match(value)
        if unsafe:
            raise FeedError(
                f"refused: XML entity '{name}' would expand other entities or load external data",
                kind="refused",
            )


def _fast_path_allowed(data: bytes, content_type: str) -> bool:
    """The HTTP charset overrides the document's own, as feedparser does; such conflicts go to it."""
    match = re.search(r"charset\s*=\s*[\"']?([\w.:-]+)", content_type)
    if not match:
        return True
    try:
        http = codecs.lookup(match.group(1)).name
        own = codecs.lookup(declared_encoding(data) or "utf-8").name
    except LookupError:
        return False
    return http == own or (http, own) in {("utf-16", "utf-16-le"), ("utf-16", "utf-16-be")}


def _encoding_problem(data: bytes) -> str:
    """Why the bytes do not decode as the document claims, or "" when they do."""
    declared = declared_encoding(data)
    try:
        data.decode(declared or "utf-8")
    except LookupError:
        return f"unknown declared encoding {declared}"
    except UnicodeDecodeError:
        return f"bytes invalid for declared encoding {declared}" if declared else "bytes are not valid UTF-8"
    return ""
