"""OPML import and export: subscription lists in and out of storywatch.

Import is forgiving per outline (a garbage entry becomes one problem line, the rest still import) and
strict per document (broken XML or a non-OPML root is one OpmlError). Entities are never expanded.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import format_datetime
from urllib.parse import urlsplit

from lxml import etree

from bot.ingest.feed import escape_text
from bot.ingest.normalise import clean_title
from bot.ingest.urls import is_http_url
from bot.models import Source

# Characters XML 1.0 cannot carry at all; lxml refuses them, so they are dropped from titles.
_XML_UNSAFE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
# Feeds one document may add: real lists hold a few thousand; 100,000 would be minutes of writes.
MAX_FEEDS = 10_000
_PARSER = etree.XMLParser(
    resolve_entities=False,
    no_network=True,
    load_dtd=False,
    huge_tree=False,
    remove_comments=True,
    remove_pis=True,
)


class OpmlError(Exception):
    """An OPML document that cannot be read at all, with a short human reason."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class OpmlFeed:
    url: str
    title: str = ""
    html_url: str = ""


@dataclass(frozen=True, slots=True)
class OpmlImport:
    feeds: list[OpmlFeed] = field(default_factory=list)
    # One line per outline that was skipped: "line 12: 'Foo' has no xmlUrl".
    problems: list[str] = field(default_factory=list)


def parse_opml(data: bytes, url_problem: Callable[[str], str | None] | None = None) -> OpmlImport:
    """The feeds in an OPML document (nested outlines flattened), plus a problem line per bad outline.

    `url_problem` judges each feed URL (the SSRF guard's reason, or None when it may be fetched).
    """
    if not data.strip():
        raise OpmlError("empty OPML document")
    if b"<!ENTITY" in data[:65536]:
        raise OpmlError("refused: OPML with XML entity declarations")
    try:
        root = etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError as exc:
        line = exc.lineno if exc.lineno else "?"
        raise OpmlError(f"not well-formed XML at line {line} ({exc.msg})") from None
    if not isinstance(root.tag, str) or etree.QName(root).localname.lower() != "opml":
        name = etree.QName(root).localname if isinstance(root.tag, str) else "?"
        raise OpmlError(f"not an OPML document (root element <{name}>)")
    feeds: list[OpmlFeed] = []
    problems: list[str] = []
    seen: set[str] = set()
    for outline in root.iter("{*}outline", "outline"):
        attributes = {str(key).lower(): str(value).strip() for key, value in outline.attrib.items()}
        # Plain text from the file: cleaned and decoded as a feed's title is.
        title = clean_title(escape_text(attributes.get("title") or attributes.get("text") or ""))
        url = attributes.get("xmlurl", "")
        where = f"line {outline.sourceline}" if outline.sourceline else "an outline"
        label = f"'{title[:80]}'" if title else "an outline"
        if not url:
            if len(outline) == 0 and attributes.get("type", "rss").lower() in ("rss", "atom", ""):
                problems.append(f"{where}: {label} has no xmlUrl")
            continue
        if not is_http_url(url):
            problems.append(f"{where}: {label} has a non-http(s) feed URL: {url[:200]}")
            continue
        problem = url_problem(url) if url_problem else None
        if problem:
            problems.append(f"{where}: {label}: {problem}")
            continue
        if url in seen:
            problems.append(f"{where}: {label} repeats {url[:200]}")
            continue
        if len(feeds) == MAX_FEEDS:
            problems.append(
                f"{where}: stopped at {MAX_FEEDS:,} feeds; this outline and those after it were not imported"
            )
            break
        seen.add(url)
        html_url = attributes.get("htmlurl", "")
        # The site link is only shown, never fetched: drop it rather than show a spoofed host.
        shown_ok = is_http_url(html_url) and "@" not in urlsplit(html_url).netloc
        feeds.append(OpmlFeed(url, title, html_url if shown_ok else ""))
    return OpmlImport(feeds, problems)


def export_opml(sources: Iterable[Source], created: datetime, title: str = "storywatch sources") -> bytes:
    """An OPML 2.0 document listing the sources (one flat outline each)."""
    root = etree.Element("opml", version="2.0")
    head = etree.SubElement(root, "head")
    etree.SubElement(head, "title").text = title
    etree.SubElement(head, "dateCreated").text = format_datetime(created)
    body = etree.SubElement(root, "body")
    for source in sources:
        name = _XML_UNSAFE.sub("", source.title or source.url)
        url = _XML_UNSAFE.sub("", source.url)
        etree.SubElement(body, "outline", type="rss", text=name, title=name, xmlUrl=url)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
